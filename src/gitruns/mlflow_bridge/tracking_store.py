"""MLflow's tracking store for ``gitruns:`` URIs: MLflow itself writes gitruns runs.

Registered as the ``gitruns`` scheme of MLflow's ``mlflow.tracking_store`` entry
point, so with ``gitruns[mlflow]`` installed::

    mlflow.set_tracking_uri("gitruns:./runs")      # or MLFLOW_TRACKING_URI=gitruns:runs
    mlflow ui --backend-store-uri gitruns:./runs   # browse gitruns runs in MLflow's UI

Every call goes through gitruns' own client and writer, so a run MLflow writes is
the run gitruns would have written (commit, diff, environment captured; records
checked; histories folded when it ends). A logged model (MLflow 3) lives where
gitruns keeps a run's models, ``artifacts/<name>/`` of its run, and its id says so:
``m-<run id>-<name in base32>``, the id gitruns' own ``log_model`` gives. What the
format cannot hold (traces, evaluation datasets, scorers, prompts…) raises MLflow's
``NOT_IMPLEMENTED`` error saying so, before anything is written.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from mlflow.entities import (
    Experiment,
    LoggedModel,
    LoggedModelStatus,
    Metric,
    Param,
    Run,
    RunData,
    RunInfo,
    RunInputs,
    RunOutputs,
    RunStatus,
    RunTag,
    ViewType,
)
from mlflow.entities.logged_model_output import LoggedModelOutput
from mlflow.exceptions import MlflowException
from mlflow.protos.databricks_pb2 import (
    INVALID_PARAMETER_VALUE,
    NOT_IMPLEMENTED,
    RESOURCE_ALREADY_EXISTS,
    RESOURCE_DOES_NOT_EXIST,
)
from mlflow.store.entities.paged_list import PagedList
from mlflow.store.tracking.abstract_store import AbstractStore

from gitruns import entities as ours
from gitruns import system_tags
from gitruns.client import MlflowClient as GitrunsClient
from gitruns.exceptions import (
    GitrunsError,
)
from gitruns.location import resolve
from gitruns.mlflow_bridge.convert import (
    converted,
    from_dataset_input,
    mlflow_page,
    to_dataset_input,
)
from gitruns.store.names import (
    check_relative_path,
    logged_model_id,
    parse_logged_model_id,
    public_experiment_id,
)

logger = logging.getLogger(__name__)

DIFF_TAG = system_tags.GIT_DIFF  # the run-context provider's; a gitruns run keeps code.diff


def runs_dir_of(store_uri: str) -> Path:
    """The ``runs/`` folder a ``gitruns:`` URI names (relative to the working directory)."""
    return resolve(store_uri).runs_dir


def not_supported(what: str) -> MlflowException:
    return MlflowException(
        f"{what} is not supported by gitruns' store: runs/ keeps runs, metrics, params, "
        "tags, artifacts and models as files in git. Use an MLflow database store for it "
        "(e.g. sqlite:///mlflow.db), or leave it out.",
        error_code=NOT_IMPLEMENTED,
    )


def as_mlflow_error(error: GitrunsError) -> MlflowException:
    """gitruns' error as MLflow's, with the code MLflow's server turns into a status."""
    codes = {
        "RESOURCE_DOES_NOT_EXIST": RESOURCE_DOES_NOT_EXIST,
        "RESOURCE_ALREADY_EXISTS": RESOURCE_ALREADY_EXISTS,
    }  # anything else (a bad name, value, path or id prefix) is the caller's to mend
    return MlflowException(
        error.message, error_code=codes.get(error.error_code, INVALID_PARAMETER_VALUE)
    )


def translated(method: Any) -> Any:
    """Run a store method, raising gitruns' errors as MLflow's."""

    @functools.wraps(method)
    def call(*args: Any, **kwargs: Any) -> Any:
        try:
            return method(*args, **kwargs)
        except GitrunsError as error:
            raise as_mlflow_error(error) from error

    return call


def to_experiment(experiment: ours.Experiment) -> Experiment:
    from mlflow.entities import ExperimentTag

    return Experiment(
        experiment_id=experiment.experiment_id,
        name=experiment.name,
        artifact_location=experiment.artifact_location,
        lifecycle_stage=experiment.lifecycle_stage,
        tags=[ExperimentTag(key, value) for key, value in experiment.tags.items()],
        creation_time=experiment.creation_time,
        last_update_time=experiment.last_update_time,
    )


def to_run(run: ours.Run, summaries: dict[str, Any] | None = None) -> Run:
    """MLflow's run; each metric's latest value at its step and time where the record's
    summaries are given (a search's rows carry values only)."""
    info = run.info
    timestamp = info.end_time or info.start_time
    metrics = [
        Metric(k, v, summaries[k].timestamp, summaries[k].step)
        if summaries and k in summaries
        else Metric(k, v, timestamp, 0)
        for k, v in run.data.metrics.items()
    ]
    return Run(
        run_info=RunInfo(
            run_id=info.run_id,
            experiment_id=info.experiment_id,
            user_id=info.user_id or "",
            status=info.status,
            start_time=info.start_time,
            end_time=info.end_time,
            lifecycle_stage=info.lifecycle_stage,
            artifact_uri=info.artifact_uri,  # the file: URI of its artifacts folder
            run_name=info.run_name,
        ),
        run_data=RunData(
            metrics=metrics,
            params=[Param(k, v) for k, v in run.data.params.items()],
            tags=[RunTag(k, v) for k, v in run.data.tags.items()],
        ),
        run_inputs=RunInputs(
            dataset_inputs=[to_dataset_input(item) for item in run.inputs.dataset_inputs],
            model_inputs=[],
        ),
        run_outputs=RunOutputs(model_outputs=[]),
    )


def parse_model_id(model_id: str) -> tuple[str, str]:
    """The run and path a logged model's id stands for; MLflow's error when it is not one."""
    try:
        return parse_logged_model_id(model_id)
    except GitrunsError as error:
        raise MlflowException(error.message, error_code=RESOURCE_DOES_NOT_EXIST) from None


def to_logged_model(model: ours.LoggedModel) -> LoggedModel:
    return LoggedModel(
        experiment_id=model.experiment_id,
        model_id=model.model_id,
        name=model.name,
        artifact_location=model.artifact_location,
        creation_timestamp=model.creation_timestamp,
        last_updated_timestamp=model.last_updated_timestamp,
        source_run_id=model.source_run_id,
        status=LoggedModelStatus.READY if model.status == "READY" else LoggedModelStatus.PENDING,
        tags=model.tags,
        params=model.params,
    )


class GitrunsTrackingStore(AbstractStore):
    """MLflow's tracking store over a gitruns ``runs/`` folder."""

    def __init__(self, store_uri: str | None = None, artifact_uri: str | None = None) -> None:
        super().__init__()
        self.runs_dir = runs_dir_of(store_uri or "gitruns:")
        self.client = GitrunsClient(tracking_uri=str(self.runs_dir))
        self.artifact_root_uri = artifact_uri

    # -- experiments --------------------------------------------------------------------

    @translated
    def search_experiments(
        self,
        view_type: int = ViewType.ACTIVE_ONLY,
        max_results: int | None = None,
        filter_string: str | None = None,
        order_by: Sequence[str] | None = None,
        page_token: str | None = None,
    ) -> PagedList:
        found = self.client.search_experiments(
            view_type, max_results, filter_string, order_by, page_token
        )
        return converted(found, to_experiment)

    @translated
    def create_experiment(
        self, name: str, artifact_location: str | None = None, tags: Sequence[Any] | None = None
    ) -> str:
        return self.client.create_experiment(
            name, artifact_location, {tag.key: tag.value for tag in tags or []}
        )

    @translated
    def get_experiment(self, experiment_id: str) -> Experiment:
        return to_experiment(self.client.get_experiment(experiment_id))

    @translated
    def get_experiment_by_name(self, experiment_name: str) -> Experiment | None:
        found = self.client.get_experiment_by_name(experiment_name)
        return None if found is None else to_experiment(found)

    @translated
    def delete_experiment(self, experiment_id: str) -> None:
        self.client.delete_experiment(experiment_id)

    @translated
    def restore_experiment(self, experiment_id: str) -> None:
        self.client.restore_experiment(experiment_id)

    def rename_experiment(self, experiment_id: str, new_name: str) -> None:
        raise not_supported(
            "Renaming an experiment (its folder under runs/ is named after it, the same on "
            "every branch)"
        )

    @translated
    def set_experiment_tag(self, experiment_id: str, tag: Any) -> None:
        self.client.set_experiment_tag(experiment_id, tag.key, tag.value)

    @translated
    def delete_experiment_tag(self, experiment_id: str, key: str) -> None:
        self.client.delete_experiment_tag(experiment_id, key)

    # -- runs ---------------------------------------------------------------------------

    def _run(self, run_id: str) -> Run:
        record, run_dir = self.client.get_run_record(run_id)
        return to_run(ours.run_from_record(record, run_dir), record.metrics)

    @translated
    def get_run(self, run_id: str) -> Run:
        return self._run(run_id)

    @translated
    def create_run(
        self,
        experiment_id: str,
        user_id: str | None,
        start_time: int | None,
        tags: Sequence[Any],
        run_name: str | None,
    ) -> Run:
        given = {tag.key: tag.value for tag in tags or []}
        given.pop(DIFF_TAG, None)  # gitruns keeps the diff whole in code.diff
        if run_name:
            given.setdefault(system_tags.RUN_NAME, run_name)
        run = self.client.create_run(experiment_id, start_time, given, run_name or None)
        if user_id:
            live = self.client.workspace.open_run(run.info.run_id)
            live.record.user = user_id
            live.save()
        return self._run(run.info.run_id)

    @translated
    def update_run_info(
        self, run_id: str, run_status: Any, end_time: int | None, run_name: str | None
    ) -> RunInfo:
        status = RunStatus.to_string(run_status) if isinstance(run_status, int) else run_status
        if status and status != "RUNNING":
            self.client.set_terminated(run_id, status, end_time)
        elif status:
            self.client.update_run(run_id, status)
        if run_name:
            self.client.update_run(run_id, name=run_name)
        return self._run(run_id).info

    @translated
    def delete_run(self, run_id: str) -> None:
        self.client.delete_run(run_id)

    @translated
    def restore_run(self, run_id: str) -> None:
        self.client.restore_run(run_id)

    @translated
    def log_batch(
        self,
        run_id: str,
        metrics: Sequence[Metric],
        params: Sequence[Param],
        tags: Sequence[RunTag],
    ) -> None:
        self.client.log_batch(
            run_id,
            # A metric carrying a model id is MLflow 3 copying a run's value to link it to a
            # model the run logged; in gitruns the model lives in the run, so it is linked.
            metrics=[
                ours.Metric(m.key, m.value, m.timestamp, m.step)
                for m in metrics
                if not getattr(m, "model_id", None)
            ],
            params=[ours.Param(p.key, p.value) for p in params],
            tags=[ours.RunTag(t.key, t.value) for t in tags if t.key != DIFF_TAG],
        )

    @translated
    def delete_tag(self, run_id: str, key: str) -> None:
        self.client.delete_tag(run_id, key)

    @translated
    def get_metric_history(
        self,
        run_id: str,
        metric_key: str,
        max_results: int | None = None,
        page_token: str | None = None,
    ) -> PagedList:
        history = [
            Metric(m.key, m.value, m.timestamp, m.step)
            for m in self.client.get_metric_history(run_id, metric_key)
        ]
        if max_results is None:
            return PagedList(history, None)
        return mlflow_page(history, max_results, 2**31 - 1, page_token)

    @translated
    def _search_runs(
        self,
        experiment_ids: Sequence[str],
        filter_string: str,
        run_view_type: int,
        max_results: int,
        order_by: Sequence[str] | None,
        page_token: str | None,
    ) -> tuple[list[Run], str | None]:
        found = self.client.search_runs(
            list(experiment_ids),
            filter_string or "",
            run_view_type,
            max_results,
            order_by,
            page_token,
        )
        runs = [to_run(run) for run in found]
        return runs, found.token

    MAX_DATASET_SUMMARIES = 1000  # as MLflow's database store answers

    @translated
    def _search_datasets(self, experiment_ids: Sequence[str]) -> list[Any]:
        """The datasets the runs of these experiments read (the UI's dataset filter)."""
        from mlflow.entities.dataset_summary import _DatasetSummary

        workspace = self.client.workspace
        ids = [workspace.experiment(str(i))[0] for i in experiment_ids]  # folders, "0" too
        summaries = dict.fromkeys(
            (public_experiment_id(entry.experiment), str(name), str(digest), context)
            for entry, _ in self.client.workspace.entries(ids)
            for name, digest, context in entry.datasets
        )
        return [_DatasetSummary(*key) for key in list(summaries)[: self.MAX_DATASET_SUMMARIES]]

    @translated
    def log_inputs(
        self,
        run_id: str,
        datasets: Sequence[Any] | None = None,
        models: Sequence[Any] | None = None,
    ) -> None:
        # A model input (a model the run used) has no place in the run's record yet; the
        # model's own run records it.
        self.client.log_inputs(run_id, [from_dataset_input(item) for item in datasets or []])

    def log_outputs(self, run_id: str, models: Sequence[LoggedModelOutput]) -> None:
        for output in models:  # the model's id names its run: check it is this one
            model_run, _ = parse_model_id(output.model_id)
            if model_run != run_id:
                raise not_supported("Linking a run to a model another run logged")

    def record_logged_model(self, run_id: str, mlflow_model: Any) -> None:
        """MLflow 2's record of a model a run logged: its files under artifacts/ say it."""

    # -- logged models: artifacts/<name>/ of their run -----------------------------------

    @translated
    def create_logged_model(
        self,
        experiment_id: str,
        name: str | None = None,
        source_run_id: str | None = None,
        tags: Sequence[Any] | None = None,
        params: Sequence[Any] | None = None,
        model_type: str | None = None,
    ) -> LoggedModel:
        if not source_run_id:
            raise not_supported("A logged model without a run (gitruns keeps models in runs)")
        model_id = logged_model_id(source_run_id, check_relative_path(name or "model"))
        if tags:
            self.set_logged_model_tags(model_id, tags)
        return self.get_logged_model(model_id)

    @translated
    def get_logged_model(self, model_id: str, allow_deleted: bool = False) -> LoggedModel:
        parse_model_id(model_id)
        return to_logged_model(self.client.get_logged_model(model_id))

    @translated
    def finalize_logged_model(self, model_id: str, status: Any) -> LoggedModel:
        return self.get_logged_model(model_id)  # ready once its MLmodel file is written

    @translated
    def set_logged_model_tags(self, model_id: str, tags: Sequence[Any]) -> None:
        parse_model_id(model_id)
        self.client.set_logged_model_tags(model_id, {tag.key: str(tag.value) for tag in tags})

    @translated
    def delete_logged_model_tag(self, model_id: str, key: str) -> None:
        parse_model_id(model_id)
        self.client.delete_logged_model_tag(model_id, key)

    @translated
    def search_logged_models(
        self,
        experiment_ids: Sequence[str],
        filter_string: str | None = None,
        datasets: Any = None,
        max_results: int | None = None,
        order_by: Any = None,
        page_token: str | None = None,
    ) -> PagedList:
        if filter_string or datasets or order_by:
            raise not_supported("Filtering or ordering logged models")
        found = self.client.search_logged_models(list(experiment_ids), max_results, page_token)
        models = [to_logged_model(model) for model in found]
        return PagedList(models, found.token)


_UNSUPPORTED = {
    name: f"{what} ({name})"
    for what, names in {
        "Tracing": (
            "start_trace",
            "delete_traces",
            "get_trace_info",
            "get_trace",
            "batch_get_traces",
            "search_traces",
            "set_trace_tag",
            "delete_trace_tag",
            "log_spans",
            "link_traces_to_run",
            "unlink_traces_from_run",
        ),
        "Evaluation datasets": (
            "create_dataset",
            "get_dataset",
            "delete_dataset",
            "search_datasets",
            "upsert_dataset_records",
            "delete_dataset_records",
            "set_dataset_tags",
            "delete_dataset_tag",
        ),
        "Assessments and scorers": (
            "get_assessment",
            "create_assessment",
            "update_assessment",
            "delete_assessment",
            "register_scorer",
            "list_scorers",
            "get_scorer",
            "delete_scorer",
        ),
        "Deleting a logged model": ("delete_logged_model",),
    }.items()
    for name in names
}


def _refusing(name: str, what: str) -> Any:
    def method(self: GitrunsTrackingStore, *args: Any, **kwargs: Any) -> Any:
        raise not_supported(what)

    method.__name__ = name
    return method


for _name, _what in _UNSUPPORTED.items():
    setattr(GitrunsTrackingStore, _name, _refusing(_name, _what))
