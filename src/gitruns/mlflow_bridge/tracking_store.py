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
import numbers
import os
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
from mlflow.entities.logged_model_input import LoggedModelInput
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
    from_dataset_input,
    mlflow_page,
    to_dataset_input,
)
from gitruns.store.logged_models import is_standalone_model_id
from gitruns.store.names import check_key, public_experiment_id
from gitruns.store.record import ARTIFACTS_DIR

logger = logging.getLogger(__name__)

SEARCH_MAX_RESULTS = 50_000  # MLflow's threshold for a page of experiments
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


def to_experiment(experiment: ours.Experiment, artifact_location: str | None = None) -> Experiment:
    from mlflow.entities import ExperimentTag

    return Experiment(
        experiment_id=experiment.experiment_id,
        name=experiment.name,
        artifact_location=artifact_location or experiment.artifact_location,
        lifecycle_stage=experiment.lifecycle_stage,
        tags=[ExperimentTag(key, value) for key, value in experiment.tags.items()],
        # Default, read before anything made its folder, has no file and so no time yet
        creation_time=experiment.creation_time or 0,
        last_update_time=experiment.last_update_time or 0,
    )


def to_run(
    run: ours.Run,
    summaries: dict[str, Any] | None = None,
    outputs: Sequence[tuple[str, int]] = (),
    model_inputs: Sequence[str] = (),
    artifact_uri: str | None = None,
) -> Run:
    """MLflow's run; each metric's latest value at its step and time where the record's
    summaries are given (a search's rows carry values only), and the models it output."""
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
            artifact_uri=artifact_uri or info.artifact_uri,  # default: its folder's file: URI
            run_name=info.run_name,
        ),
        run_data=RunData(
            metrics=metrics,
            params=[Param(k, v) for k, v in run.data.params.items()],
            tags=[RunTag(k, v) for k, v in run.data.tags.items()],
        ),
        run_inputs=RunInputs(
            dataset_inputs=[to_dataset_input(item) for item in run.inputs.dataset_inputs],
            model_inputs=[LoggedModelInput(model_id) for model_id in model_inputs],
        ),
        run_outputs=RunOutputs(
            model_outputs=[LoggedModelOutput(model_id, step) for model_id, step in outputs]
        ),
    )


def to_logged_model(model: ours.LoggedModel) -> LoggedModel:
    return LoggedModel(
        experiment_id=model.experiment_id,
        model_id=model.model_id,
        name=model.name,
        artifact_location=model.artifact_location,
        creation_timestamp=model.creation_timestamp,
        last_updated_timestamp=model.last_updated_timestamp,
        model_type=model.model_type,
        source_run_id=model.source_run_id,
        status=LoggedModelStatus(model.status),
        tags=model.tags,
        params=model.params,
        metrics=[
            Metric(
                m.key,
                m.value,
                m.timestamp,
                m.step,
                model_id=m.model_id,
                dataset_name=m.dataset_name,
                dataset_digest=m.dataset_digest,
                run_id=m.run_id,
            )
            for m in model.metrics or []
        ],
    )


def refused(path: str, value: Any, why: str) -> MlflowException:
    from mlflow.utils.validation import invalid_value

    return MlflowException(invalid_value(path, value, why), INVALID_PARAMETER_VALUE)


def check_metric(metric: Metric, prefix: str = "") -> None:
    """A metric's fields, refused in MLflow's words (``prefix``: its place in a batch)."""
    if metric.key is None:
        raise MlflowException(
            f"Metric name cannot be None. A key name must be provided ({prefix}name).",
            INVALID_PARAMETER_VALUE,
        )
    if isinstance(metric.value, bool) or not isinstance(metric.value, numbers.Real):
        raise refused(
            f"{prefix}value",
            metric.value,
            "Please specify value as a valid double (64-bit floating point).",
        )
    if not isinstance(metric.timestamp, numbers.Real) or float(metric.timestamp) < 0:
        raise refused(
            f"{prefix}timestamp", metric.timestamp, "give milliseconds since 1970, 0 or more."
        )
    if not isinstance(metric.step, numbers.Real):
        raise refused(f"{prefix}step", metric.step, "give a whole number.")


def check_batch(
    metrics: Sequence[Metric],
    params: Sequence[Param],
    tags: Sequence[RunTag],
    batch: bool = True,
) -> None:
    """Each entry of a batch by gitruns' rules, refused in MLflow's words: which entry,
    which field, and why (``batch=False``: the one metric of log_metric, named as MLflow
    names it there)."""

    for index, metric in enumerate(metrics):
        check_metric(metric, f"metrics[{index}]." if batch else "")
    entries = [(f"metrics[{i}].name", m.key) for i, m in enumerate(metrics)]
    entries += [(f"params[{i}].key", p.key) for i, p in enumerate(params)]
    entries += [(f"tags[{i}].key", t.key) for i, t in enumerate(tags)]
    for path, key in entries:
        try:
            check_key(key)
        except GitrunsError as error:
            raise refused(path if batch else "name", key, error.message) from None


class GitrunsTrackingStore(AbstractStore):
    """MLflow's tracking store over a gitruns ``runs/`` folder."""

    def __init__(self, store_uri: str | None = None, artifact_uri: str | None = None) -> None:
        super().__init__()
        self.runs_dir = runs_dir_of(store_uri or "gitruns:")
        self.client = GitrunsClient(tracking_uri=str(self.runs_dir))
        self.artifact_root_uri = artifact_uri
        self._locations: dict[str, str | None] = {}  # experiment folder -> its location
        self._folders: dict[str, str] = {}  # experiment id -> its folder

    # -- where artifacts go ----------------------------------------------------------------
    # A run's artifacts live in its folder (a file: URI) unless MLflow was told otherwise:
    # an experiment made with an artifact location (or by a server given a default
    # artifact root) keeps its runs' artifacts there, as MLflow's stores do. A server that
    # proxies artifacts into this runs folder (--artifacts-destination RUNS) gives each run
    # an mlflow-artifacts: URI of its own folder, which remote clients can log to.

    @functools.cached_property
    def _proxies_into_runs(self) -> bool:
        from mlflow.server import ARTIFACTS_DESTINATION_ENV_VAR

        root = self.artifact_root_uri or ""
        destination = os.environ.get(ARTIFACTS_DESTINATION_ENV_VAR)
        if not root.startswith("mlflow-artifacts:") or not destination:
            return False
        target = Path(destination.removeprefix("file://")).expanduser()
        return target.resolve() == self.runs_dir.resolve()

    def _root_location(self, folder: str) -> str | None:
        """Where a server's default artifact root puts a new experiment's artifacts."""
        root = self.artifact_root_uri
        if not root or root.startswith("mlflow-artifacts:") or self._proxies_into_runs:
            return None
        from mlflow.utils.uri import append_to_uri_path

        return str(append_to_uri_path(root, public_experiment_id(folder)))

    def _folder(self, experiment_id: str) -> str:
        """The folder of an experiment id ("0" is Default's), resolved once per store: a
        search converts hundreds of runs of a few experiments."""
        if experiment_id not in self._folders:
            self._folders[experiment_id] = self.client.workspace.experiment_id(experiment_id)
        return self._folders[experiment_id]

    def _location(self, experiment_id: str) -> str | None:
        """An experiment's artifact location, when MLflow was given one."""
        folder = self._folder(experiment_id)
        if folder not in self._locations:
            try:
                kept = self.client.workspace.experiment(folder)[1].artifact_location
            except GitrunsError:
                kept = None
            self._locations[folder] = kept
        return self._locations[folder]

    def _artifact_uri(self, experiment_id: str, run_id: str) -> str | None:
        """A run's artifact URI where it is not its folder's file: URI."""
        from mlflow.utils.uri import append_to_uri_path

        if self._proxies_into_runs:
            return f"mlflow-artifacts:/{self._folder(experiment_id)}/{run_id}/{ARTIFACTS_DIR}"
        location = self._location(experiment_id)
        if location is None:
            return None
        return str(append_to_uri_path(location, run_id, ARTIFACTS_DIR))

    def _experiment(self, experiment: ours.Experiment) -> Experiment:
        if not self._proxies_into_runs:
            return to_experiment(experiment)
        folder = self._folder(experiment.experiment_id)
        return to_experiment(experiment, f"mlflow-artifacts:/{folder}")

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
        """MLflow's filter grammar and order (newest first by default) over every
        experiment in the view."""
        from mlflow.utils.search_utils import SearchExperimentsUtils

        experiments = [self._experiment(e) for e in self.client.experiments_in_view(view_type)]
        found = SearchExperimentsUtils.filter(experiments, filter_string)
        ordered = SearchExperimentsUtils.sort(
            found, order_by or ["creation_time DESC", "experiment_id ASC"]
        )
        return mlflow_page(
            ordered, max_results or SEARCH_MAX_RESULTS, SEARCH_MAX_RESULTS, page_token
        )

    @translated
    def create_experiment(
        self, name: str, artifact_location: str | None = None, tags: Sequence[Any] | None = None
    ) -> str:
        given = {tag.key: tag.value for tag in tags or []}
        experiment_id = self.client.create_experiment(name, artifact_location, given)
        location = None if artifact_location else self._root_location(experiment_id)
        if location is not None:  # the server's root, kept as MLflow's stores keep it
            self.client.set_experiment_artifact_location(experiment_id, location)
        return experiment_id

    @translated
    def get_experiment(self, experiment_id: str) -> Experiment:
        return self._experiment(self.client.get_experiment(experiment_id))

    @translated
    def get_experiment_by_name(self, experiment_name: str) -> Experiment | None:
        found = self.client.get_experiment_by_name(experiment_name)
        return None if found is None else self._experiment(found)

    @translated
    def delete_experiment(self, experiment_id: str) -> None:
        self.client.delete_experiment(experiment_id)

    @translated
    def restore_experiment(self, experiment_id: str) -> None:
        self.client.restore_experiment(experiment_id)

    @translated
    def rename_experiment(self, experiment_id: str, new_name: str) -> None:
        self.client.rename_experiment(experiment_id, new_name)

    @translated
    def set_experiment_tag(self, experiment_id: str, tag: Any) -> None:
        self.client.set_experiment_tag(experiment_id, tag.key, tag.value)

    @translated
    def delete_experiment_tag(self, experiment_id: str, key: str) -> None:
        self.client.delete_experiment_tag(experiment_id, key)

    # -- runs ---------------------------------------------------------------------------

    def _run(self, run_id: str) -> Run:
        record, run_dir = self.client.get_run_record(run_id)
        outputs, inputs = self.client.model_links(record.id, record.experiment)
        uri = self._artifact_uri(record.experiment, record.id)
        run = ours.run_from_record(record, run_dir)
        return to_run(run, record.metrics, outputs, inputs, uri)

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

    def log_metric(self, run_id: str, metric: Metric) -> None:
        check_batch([metric], [], [], batch=False)
        self._log_batch(run_id, [metric], [], [])

    def log_batch(
        self,
        run_id: str,
        metrics: Sequence[Metric],
        params: Sequence[Param],
        tags: Sequence[RunTag],
    ) -> None:
        check_batch(metrics, params, tags)
        self._log_batch(run_id, metrics, params, tags)

    @translated
    def _log_batch(
        self,
        run_id: str,
        metrics: Sequence[Metric],
        params: Sequence[Param],
        tags: Sequence[RunTag],
    ) -> None:
        self.client.log_batch(
            run_id,
            # A metric naming a model its run logged is MLflow 3 copying the run's value to
            # that model; in gitruns the model's metrics are its run's, so it is not logged
            # twice. One naming a model of its own folder is logged, and linked to it.
            metrics=[
                ours.Metric(
                    m.key,
                    m.value,
                    m.timestamp,
                    m.step,
                    m.model_id,
                    m.dataset_name,
                    m.dataset_digest,
                )
                for m in metrics
                if not m.model_id or is_standalone_model_id(m.model_id)
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
        if max_results is None and page_token is None:
            return PagedList(history, None)
        limit = 2**31 - 1
        return mlflow_page(
            history, limit if max_results is None else max_results, limit, page_token
        )

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
        runs = [
            to_run(run, artifact_uri=self._artifact_uri(run.info.experiment_id, run.info.run_id))
            for run in found
        ]
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
        self.client.log_inputs(run_id, [from_dataset_input(item) for item in datasets or []])
        if models:
            self.client.log_model_inputs(run_id, [model.model_id for model in models])

    @translated
    def log_outputs(self, run_id: str, models: Sequence[LoggedModelOutput]) -> None:
        self.client.log_outputs(run_id, [(model.model_id, model.step) for model in models])

    def record_logged_model(self, run_id: str, mlflow_model: Any) -> None:
        """MLflow 2's record of a model a run logged: its files under artifacts/ say it."""

    # -- logged models: artifacts/<name>/ of their run, or models/<id>/ -------------------

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
        model = self.client.create_logged_model(
            experiment_id,
            name=name,
            source_run_id=source_run_id,
            tags={tag.key: tag.value for tag in tags or []},
            params={param.key: param.value for param in params or []},
            model_type=model_type,
        )
        return to_logged_model(model)

    @translated
    def get_logged_model(self, model_id: str, allow_deleted: bool = False) -> LoggedModel:
        return to_logged_model(self.client.get_logged_model(model_id))

    @translated
    def finalize_logged_model(self, model_id: str, status: Any) -> LoggedModel:
        return to_logged_model(self.client.finalize_logged_model(model_id, str(status)))

    @translated
    def set_logged_model_tags(self, model_id: str, tags: Sequence[Any]) -> None:
        self.client.set_logged_model_tags(model_id, {tag.key: str(tag.value) for tag in tags})

    @translated
    def delete_logged_model_tag(self, model_id: str, key: str) -> None:
        self.client.delete_logged_model_tag(model_id, key)

    @translated
    def log_logged_model_params(self, model_id: str, params: Sequence[Any]) -> None:
        self.client.log_model_params(model_id, {param.key: param.value for param in params})

    @translated
    def delete_logged_model(self, model_id: str) -> None:
        self.client.delete_logged_model(model_id)

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
        """MLflow's grammar over every logged model of the experiments: filter, datasets
        and order by MLflow's own rules, newest first by default."""
        from mlflow.utils.search_utils import SearchLoggedModelsUtils

        if datasets and not all(dataset.get("dataset_name") for dataset in datasets):
            raise MlflowException.invalid_parameter_value(
                "`dataset_name` in the `datasets` clause must be specified."
            )
        models = [
            to_logged_model(model) for model in self.client.logged_models(list(experiment_ids))
        ]
        found = SearchLoggedModelsUtils.filter_logged_models(models, filter_string, datasets)
        ordered = SearchLoggedModelsUtils.sort(found, order_by)
        return mlflow_page(ordered, max_results or self.LOGGED_MODELS_PAGE, 2**31 - 1, page_token)

    LOGGED_MODELS_PAGE = 100  # MLflow's default page of logged models


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
    }.items()
    for name in names
}


def _refusing(name: str, what: str) -> Any:
    def method(self: GitrunsTrackingStore, *args: Any, **kwargs: Any) -> Any:
        raise not_supported(what)

    method.__name__ = name
    return method


# What MLflow's newer features (GenAI and serving) add to its store, by a word of the
# method's name: each answers NOT_IMPLEMENTED naming the feature, not a bare
# NotImplementedError, so a server over gitruns answers 501 with a reason.
_FAMILIES = (
    (("dataset",), "Evaluation datasets"),
    (("trace", "span", "session"), "Tracing"),
    (("gateway", "endpoint", "budget", "secret", "guardrail"), "The AI gateway"),
    (("mcp",), "MCP servers"),
    (("review_queue", "label_schema", "queue"), "Review queues and label schemas"),
    (("scorer", "scoring"), "Scorers"),
)


def _family(name: str) -> str:
    for words, what in _FAMILIES:
        if any(word in name for word in words):
            return what
    return "This MLflow feature"


for _name, _what in _UNSUPPORTED.items():
    setattr(GitrunsTrackingStore, _name, _refusing(_name, _what))
for _klass in AbstractStore.__mro__:
    for _name, _function in list(vars(_klass).items()):
        if _name.startswith("__") or getattr(GitrunsTrackingStore, _name, None) is not _function:
            continue  # a name gitruns answers itself, or one a nearer class defines
        if "NotImplementedError" in getattr(getattr(_function, "__code__", None), "co_names", ()):
            setattr(GitrunsTrackingStore, _name, _refusing(_name, f"{_family(_name)} ({_name})"))
