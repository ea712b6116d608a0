"""The client's experiments, runs, logged models and artifacts: everything but the registry."""

from __future__ import annotations

import logging
import os
import tempfile
import uuid
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from gitruns import location, system_tags
from gitruns.data import input_entry
from gitruns.entities import (
    CONTEXT_TAG,
    DatasetInput,
    Experiment,
    FileInfo,
    LoggedModel,
    Metric,
    Param,
    Run,
    RunInfo,
    RunTag,
    experiment_from_record,
    run_from_entry,
    run_from_live,
    run_from_record,
)
from gitruns.exceptions import GitrunsError, InvalidName, InvalidValue, LoggedModelNotFound
from gitruns.listing import PagedList, ViewType, page_of
from gitruns.query.filters import check_known_keys, parse_experiment_field, parse_filter
from gitruns.query.search import parse_order_by
from gitruns.query.tables import abbreviate
from gitruns.store.history import read_history
from gitruns.store.logged_models import (
    FINALIZED,
    PENDING,
    READY,
    ModelRecord,
    changing_model,
    checked_strings,
    is_standalone_model_id,
    metric_row,
    model_artifacts_dir,
    new_model_id,
    read_model,
)
from gitruns.store.names import (
    check_experiment_name,
    check_key,
    check_relative_path,
    check_text_name,
    logged_model_id,
    parse_logged_model_id,
    public_experiment_id,
)
from gitruns.store.record import (
    ACTIVE,
    ARTIFACTS_DIR,
    DELETED,
    FINISHED,
    RUNNING,
    TERMINAL_STATUSES,
    ExperimentRecord,
    now_ms,
)
from gitruns.store.run_record import RunRecord, read_run_record, run_schema
from gitruns.utils.files import copy_regular_files
from gitruns.workspace import Workspace

MLMODEL_FILE = "MLmodel"  # a folder holding one is a model

logger = logging.getLogger(__name__)

SEARCH_MAX_RESULTS_DEFAULT = 1000


class TrackingClient:
    """Experiments, runs and artifacts by id, in the runs folder of ``tracking_uri``.

    ``tracking_uri`` works as for :func:`gitruns.set_tracking_uri`; by default
    the client follows the fluent API's (``runs/`` at the top of the repository).
    """

    def __init__(self, tracking_uri: str | None = None, registry_uri: str | None = None) -> None:
        self._tracking_uri = None if tracking_uri is None else os.fspath(tracking_uri)
        self._registry_uri = registry_uri

    @property
    def tracking_uri(self) -> str:
        return location.configured_uri(self._tracking_uri) or location.current().uri

    @property
    def runs_dir(self) -> Path:
        return location.current(self._tracking_uri).runs_dir

    @property
    def workspace(self) -> Workspace:
        """The door this client opens runs through (:class:`gitruns.workspace.Workspace`)."""
        return Workspace.current(self._tracking_uri)

    # -- experiments ------------------------------------------------------------

    def _experiment_id(self, experiment_id: object) -> str:
        return self.workspace.experiment_id(experiment_id)

    def create_experiment(
        self,
        name: str,
        artifact_location: str | None = None,
        tags: Mapping[str, Any] | None = None,
    ) -> str:
        """Create an experiment and return its id (its folder name).

        ``tags`` are kept in ``experiment.yaml`` (``mlflow.note.content`` is its
        description); ``artifact_location`` is kept and returned (a local path made
        absolute, as MLflow makes it), though artifacts always live in each run's folder.
        """
        check_experiment_name(name)
        if self.workspace.find_experiment(name) is not None:
            raise GitrunsError(
                f"Experiment(name={name}) already exists. Use get_experiment_by_name({name!r}).",
                error_code="RESOURCE_ALREADY_EXISTS",
            )
        checked = checked_tags(tags or {})
        description = checked.pop(system_tags.NOTE, None)
        record = ExperimentRecord(
            name=name,
            description=description,
            tags=checked,
            artifact_location=_absolute_if_local(artifact_location),
        )
        return self.workspace.create_experiment(record)

    def set_experiment_artifact_location(self, experiment_id: str, location: str) -> None:
        """Where MLflow's code puts the artifacts of this experiment's runs (gitruns' own
        API keeps them in each run's folder)."""
        experiment_id, record = self.workspace.experiment(experiment_id)
        record.artifact_location = _absolute_if_local(location)
        self.workspace.update_experiment(experiment_id, record)

    def set_experiment_tag(self, experiment_id: str, key: str, value: Any) -> None:
        """Set a tag on an experiment (kept in its ``experiment.yaml``)."""
        experiment_id, record = self.workspace.experiment(experiment_id)
        checked = checked_tags({key: value})
        if system_tags.NOTE in checked:
            record.description = checked.pop(system_tags.NOTE)
        record.tags.update(checked)
        self.workspace.update_experiment(experiment_id, record)

    def delete_experiment_tag(self, experiment_id: str, key: str) -> None:
        experiment_id, record = self.workspace.experiment(experiment_id)
        if key == system_tags.NOTE:
            record.description = None
        record.tags.pop(check_key(key, "tag key"), None)
        self.workspace.update_experiment(experiment_id, record)

    def get_experiment(self, experiment_id: str) -> Experiment:
        return _experiment(self.workspace, *self.workspace.experiment(experiment_id))

    def get_experiment_by_name(self, name: str) -> Experiment | None:
        found = self.workspace.find_experiment(name, with_default=True)
        return None if found is None else _experiment(self.workspace, *found)

    def search_experiments(
        self,
        view_type: int = ViewType.ACTIVE_ONLY,
        max_results: int | None = None,
        filter_string: str | None = None,
        order_by: Sequence[str] | None = None,
        page_token: str | None = None,
    ) -> PagedList[Experiment]:
        """Experiments, filtered on ``name`` or ``tags.KEY`` (e.g. ``"name LIKE '%taxi%'"``)."""
        matches = parse_filter(filter_string, parse_experiment_field)
        experiments = [e for e in self.experiments_in_view(view_type) if matches(e)]
        descending = order_by is not None and any(
            str(clause).strip().upper().endswith(" DESC") for clause in order_by[:1]
        )
        experiments.sort(key=lambda experiment: experiment.name, reverse=descending)
        return page_of(experiments, max_results, page_token)

    def experiments_in_view(self, view_type: int = ViewType.ACTIVE_ONLY) -> list[Experiment]:
        """Every experiment in a view (active, deleted or all), MLflow's Default included."""
        workspace = self.workspace
        return [
            _experiment(workspace, experiment_id, record)
            for experiment_id, record in workspace.experiments(with_default=True)
            if ViewType.includes(view_type, record.lifecycle_stage)
        ]

    def list_experiments(
        self,
        view_type: int = ViewType.ACTIVE_ONLY,
        max_results: int | None = None,
        page_token: str | None = None,
    ) -> PagedList[Experiment]:
        """MLflow 1.x's name for :meth:`search_experiments`, which older course code calls."""
        return self.search_experiments(view_type, max_results, page_token=page_token)

    def rename_experiment(self, experiment_id: str, new_name: str) -> None:
        """Rename an experiment; its id (its folder) stays the same."""
        self.workspace.rename_experiment(experiment_id, new_name)

    def delete_experiment(self, experiment_id: str) -> None:
        """Soft-delete: hidden from searches of active experiments; restore undoes it."""
        self._set_experiment_stage(experiment_id, DELETED)

    def restore_experiment(self, experiment_id: str) -> None:
        self._set_experiment_stage(experiment_id, ACTIVE)

    def _set_experiment_stage(self, experiment_id: str, stage: str) -> None:
        experiment_id, record = self.workspace.experiment(experiment_id)
        record.lifecycle_stage = stage
        self.workspace.update_experiment(experiment_id, record)

    # -- runs ---------------------------------------------------------------------

    def create_run(
        self,
        experiment_id: str,
        start_time: int | None = None,
        tags: Mapping[str, Any] | None = None,
        run_name: str | None = None,
    ) -> Run:
        """Create a RUNNING run; end it with :meth:`set_terminated`."""
        live = self.workspace.create_run(experiment_id, run_name)
        if start_time is not None:
            live.record.start_time = int(start_time)
        if tags:
            live.set_tags(tags)
        live.save()
        return run_from_live(live)

    def get_run(self, run_id: str) -> Run:
        """A run by id or unique id prefix."""
        record, run_dir = self.workspace.load_run(run_id)
        return run_from_record(record, run_dir)

    def get_run_record(self, run_id: str) -> tuple[RunRecord, Path]:
        """gitruns' own record of a run (everything in ``run.yaml``) and its folder."""
        return self.workspace.load_run(run_id)

    def primary_metric(self, experiment_id: str) -> str | None:
        """The metric that ranks an experiment's runs, by the one rule (query.ranking):
        the declared one, else the one its runs share."""
        return self.workspace.ranking(experiment_id).metric

    def search_runs(
        self,
        experiment_ids: str | Sequence[str],
        filter_string: str = "",
        run_view_type: int = ViewType.ACTIVE_ONLY,
        max_results: int = SEARCH_MAX_RESULTS_DEFAULT,
        order_by: Sequence[str] | None = None,
        page_token: str | None = None,
    ) -> PagedList[Run]:
        """Runs of the experiments that match ``filter_string``, in ``order_by`` order.

        The result is a list with ``.token`` for the next page (None on the last).
        """
        stages = ViewType.stages(run_view_type)
        hits = self.workspace.search(experiment_ids, filter_string, order_by, stages)
        page = page_of(hits, max_results, page_token)
        return PagedList(
            [run_from_entry(entry, Path(path)) for entry, path in self.workspace.entries_of(page)],
            page.token,
        )

    def id_width(self) -> int:
        """How many characters of a run id tell every run in the store apart (at least
        8): printed ids that long can be typed back as prefixes."""
        return abbreviate(entry.id for entry, _ in self.workspace.entries())

    def check_search(
        self,
        experiment_ids: Sequence[str],
        filter_string: str | None = None,
        order_by: Sequence[str] | None = None,
    ) -> None:
        """Raise when a filter or order-by names a metric, param or tag that no run of
        the experiments has, naming the closest key (what a person at a terminal wants;
        :meth:`search_runs`, like MLflow's, just finds nothing).

        Example::

            client.check_search(["nyc-taxi"], "metrics.rmsee < 5")  # did you mean metrics.rmse?
        """
        if not filter_string and not order_by:
            return  # nothing to check: no need to read the runs
        ids = [self._experiment_id(experiment_id) for experiment_id in experiment_ids]
        entries = [entry for entry, _ in self.workspace.entries(ids)]
        check_known_keys(filter_string, entries)
        for clause in order_by or []:
            parse_order_by([clause])
            check_known_keys(
                clause.rsplit(" ", 1)[0]
                if clause.strip().upper().endswith((" ASC", " DESC"))
                else clause,
                entries,
                "order-by",
            )

    def list_run_infos(
        self,
        experiment_id: str,
        run_view_type: int = ViewType.ACTIVE_ONLY,
        max_results: int = SEARCH_MAX_RESULTS_DEFAULT,
        order_by: Sequence[str] | None = None,
        page_token: str | None = None,
    ) -> PagedList[RunInfo]:
        """MLflow 1.x: the ``info`` of each run of one experiment."""
        runs = self.search_runs(experiment_id, "", run_view_type, max_results, order_by, page_token)
        return PagedList([run.info for run in runs], runs.token)

    def set_tag(self, run_id: str, key: str, value: Any, synchronous: bool | None = None) -> None:
        self.workspace.open_active_run(run_id).set_tags({key: value})

    def delete_tag(self, run_id: str, key: str) -> None:
        self.workspace.open_active_run(run_id).delete_tag(key)

    def log_param(self, run_id: str, key: str, value: Any, synchronous: bool | None = None) -> Any:
        self.workspace.open_active_run(run_id).log_params({key: value})
        return value

    def log_metric(
        self,
        run_id: str,
        key: str,
        value: float,
        timestamp: int | None = None,
        step: int | None = None,
        synchronous: bool | None = None,
        dataset_name: str | None = None,
        dataset_digest: str | None = None,
        model_id: str | None = None,
        **_: Any,
    ) -> None:
        """Log a metric's value; with ``model_id`` (MLflow 3), the value is also the
        model's, measured on the dataset named."""
        live = self.workspace.open_active_run(run_id)
        live.log_metric(key, value, step, timestamp)
        live.flush()
        if model_id is not None:
            moment = int(timestamp) if timestamp is not None else now_ms()
            metric = Metric(
                key, float(value), moment, int(step or 0), model_id, dataset_name, dataset_digest
            )
            self.link_metrics(run_id, [metric])

    def log_batch(
        self,
        run_id: str,
        metrics: Sequence[Metric] = (),
        params: Sequence[Param] = (),
        tags: Sequence[RunTag] = (),
        synchronous: bool | None = None,
    ) -> None:
        """Log metrics, params and tags in one call (params all or none). One param key
        given twice is refused, as MLflow refuses it: which value was meant is unknown."""
        keys = [param.key for param in params]
        repeated = sorted({key for key in keys if keys.count(key) > 1})
        if repeated:
            raise InvalidValue(
                f"Duplicate parameter keys have been submitted: {repeated}. Give each param "
                "one value in a batch."
            )
        live = self.workspace.open_active_run(run_id)
        if params:
            live.log_params({param.key: param.value for param in params})
        if tags:
            live.set_tags({tag.key: tag.value for tag in tags})
        for metric in metrics:
            live.log_metric(metric.key, metric.value, metric.step, metric.timestamp, defer=True)
        live.flush()
        self.link_metrics(run_id, metrics)

    def log_inputs(
        self, run_id: str, datasets: Sequence[DatasetInput] | None = None, models: Any = None
    ) -> None:
        """Record the datasets a run read (MLflow's ``DatasetInput``: a dataset and tags,
        ``mlflow.data.context`` among them)."""
        entries = []
        for item in datasets or []:
            tags = {tag.key: tag.value for tag in item.tags}
            context = tags.pop(CONTEXT_TAG, None)
            entries.append(input_entry(item.dataset, context, tags or None))
        if entries:
            self.workspace.open_active_run(run_id).log_inputs(entries)

    def get_metric_history(self, run_id: str, key: str) -> list[Metric]:
        """Every value logged for ``key``, in the order logged."""
        run_dir = self.workspace.run_dir(run_id)
        return [
            Metric(key=key, value=value, timestamp=timestamp, step=step)
            for timestamp, step, value in read_history(run_dir, run_schema(run_dir), key)
        ]

    def set_terminated(
        self, run_id: str, status: str | None = None, end_time: int | None = None
    ) -> None:
        """End a run: FINISHED by default, or FAILED or KILLED."""
        status = status or FINISHED
        if status not in TERMINAL_STATUSES:
            raise InvalidValue(
                f"status {status!r} does not end a run. Pass one of {', '.join(TERMINAL_STATUSES)}."
            )
        live = self.workspace.open_run(run_id)
        live.finish(status)
        if end_time is not None:
            live.record.end_time = int(end_time)
            live.save()

    def update_run(self, run_id: str, status: str | None = None, name: str | None = None) -> None:
        """Rename a run, or set its status: RUNNING takes an ended run up again (as
        MLflow's ``start_run(run_id=...)`` does); an ending status ends it."""
        live = self.workspace.open_run(run_id)
        if name is not None:
            live.set_tags({system_tags.RUN_NAME: check_text_name(name, "run name")})
        if status is None:
            return
        if status == RUNNING:
            if live.record.status != RUNNING:
                live.reopen()
        elif status in TERMINAL_STATUSES:
            live.finish(status)
        else:
            raise InvalidValue(
                f"status {status!r} is not a run status. Pass RUNNING, or one of "
                f"{', '.join(TERMINAL_STATUSES)}."
            )

    def delete_run(self, run_id: str) -> None:
        """Soft-delete a run: hidden from active searches, kept on disk; restore_run undoes it."""
        self._set_run_stage(run_id, DELETED)

    def restore_run(self, run_id: str) -> None:
        self._set_run_stage(run_id, ACTIVE)

    def _set_run_stage(self, run_id: str, stage: str) -> None:
        live = self.workspace.open_run(run_id)
        live.record.lifecycle_stage = stage
        live.save()

    # -- logged models (MLflow 3) ----------------------------------------------------
    # A model a run of this store logged is artifacts/<name>/ of that run (its id,
    # m-<run id>-<path>, says where); one made without such a run has a folder of its
    # own under its experiment's models/ (gitruns.store.logged_models).

    def create_logged_model(
        self,
        experiment_id: str,
        name: str | None = None,
        source_run_id: str | None = None,
        tags: Mapping[str, Any] | None = None,
        params: Mapping[str, Any] | None = None,
        model_type: str | None = None,
    ) -> LoggedModel:
        """A new logged model: in its run's artifacts when ``source_run_id`` is a run
        of this store, else in a folder of its own (status PENDING until finalized)."""
        if source_run_id and self._holds_run(source_run_id):
            path = check_relative_path(name or "model")
            model_id = logged_model_id(source_run_id, path)
            mark = logged_model_tag_prefix(path) + system_tags.LOGGED_MODEL_DELETED
            live = self.workspace.open_run(source_run_id)
            if mark in live.record.tags:  # logged again where a deleted one was: live again
                live.delete_tag(mark)
            if params:
                self.log_model_params(model_id, params)
            if tags:
                self.set_logged_model_tags(model_id, tags)
            return self.get_logged_model(model_id)
        created = now_ms()
        record = ModelRecord(
            id=new_model_id(),
            name=check_text_name(name, "model name") if name else random_model_name(),
            created=created,
            updated=created,
            source_run_id=None if source_run_id is None else str(source_run_id),
            model_type=None if model_type is None else str(model_type),
            tags=checked_strings(tags or {}, "tag"),
            params=checked_strings(params or {}, "param"),
        )
        folder = self.workspace.new_logged_model(self._experiment_id(experiment_id), record)
        return _standalone_model(experiment_id_of(folder), folder, record)

    def _holds_run(self, run_id: str) -> bool:
        try:
            self.workspace.run_dir(run_id)
        except GitrunsError:
            return False
        return True

    def get_logged_model(self, model_id: str) -> LoggedModel:
        """A logged model, by the id ``log_model`` or ``create_logged_model`` gave."""
        if is_standalone_model_id(model_id):
            experiment_id, folder = self.workspace.logged_model_dir(model_id)
            kept = read_model(folder)
            model: LoggedModel | None = (
                None if kept.deleted else _standalone_model(experiment_id, folder, kept)
            )
        else:
            model = self._run_model(model_id)
        if model is None:  # one deleted: MLflow's "not found"
            raise LoggedModelNotFound(
                f"Logged model with ID '{model_id}' not found: it was deleted. List the "
                "experiment's models with search_logged_models."
            )
        return model

    def _run_model(self, model_id: str) -> LoggedModel | None:
        """A model a run logged, None once deleted."""
        try:
            run_id, name = parse_logged_model_id(model_id)
        except InvalidName as error:  # no model can have that id
            raise LoggedModelNotFound(
                f"Logged model with ID '{model_id}' not found: {error.message}"
            ) from None
        record, run_dir = self.workspace.load_run(run_id)
        return _logged_model(record, run_dir, name)

    def logged_models(self, experiment_ids: Sequence[str]) -> list[LoggedModel]:
        """Every logged model of the experiments: each folder with an ``MLmodel`` file in
        a run's artifacts, and each model with a folder of its own (not deleted)."""
        ids = [self._experiment_id(experiment_id) for experiment_id in experiment_ids]
        models = []
        for experiment_id, folder in self.workspace.logged_model_dirs(ids):
            kept = read_model(folder)
            if not kept.deleted:
                models.append(_standalone_model(experiment_id, folder, kept))
        for run_dir in self.workspace.run_dirs(ids):
            artifacts = run_dir / ARTIFACTS_DIR
            found = [
                path.parent.relative_to(artifacts).as_posix()
                for path in sorted(artifacts.rglob(MLMODEL_FILE))
                if path.is_file() and not path.is_symlink()
            ]
            if found:
                run = read_run_record(run_dir)
                models += filter(None, (_logged_model(run, run_dir, name) for name in found))
        return models

    def search_logged_models(
        self,
        experiment_ids: Sequence[str],
        max_results: int | None = None,
        page_token: str | None = None,
    ) -> PagedList[LoggedModel]:
        """The experiments' logged models, newest first, a page at a time."""
        models = sorted(
            self.logged_models(experiment_ids),
            key=lambda model: (-model.creation_timestamp, model.model_id),
        )
        return page_of(models, max_results, page_token)

    def _change_model(self, model_id: str) -> Any:
        folder = self.workspace.logged_model_dir(model_id)[1]
        return changing_model(folder)

    def finalize_logged_model(self, model_id: str, status: str) -> LoggedModel:
        """Mark a model READY (its files are all there) or FAILED."""
        status = str(getattr(status, "name", status)).upper()
        if status not in FINALIZED:
            raise InvalidValue(
                f"a logged model is finalized as {' or '.join(FINALIZED)}, not {status!r}. "
                "Pass one of them."
            )
        if is_standalone_model_id(model_id):
            with self._change_model(model_id) as record:
                record.status = status
        return self.get_logged_model(model_id)

    def set_logged_model_tags(self, model_id: str, tags: Mapping[str, Any]) -> None:
        """Tag a logged model (one a run logged keeps them as the run's tags, under
        ``gitruns.model.<id part>.``)."""
        if is_standalone_model_id(model_id):
            with self._change_model(model_id) as record:
                record.tags.update(checked_strings(tags, "tag"))
            return
        run_id, name = parse_logged_model_id(model_id)
        prefix = logged_model_tag_prefix(name)
        self.workspace.open_run(run_id).set_tags({prefix + key: v for key, v in tags.items()})

    def delete_logged_model_tag(self, model_id: str, key: str) -> None:
        if is_standalone_model_id(model_id):
            with self._change_model(model_id) as record:
                if key not in record.tags:
                    raise InvalidValue(
                        f"No tag with key: {key} in logged model {model_id}. Its tags: "
                        f"{', '.join(sorted(record.tags)) or 'none'}.",
                        error_code="RESOURCE_DOES_NOT_EXIST",
                    )
                del record.tags[key]
            return
        run_id, name = parse_logged_model_id(model_id)
        self.workspace.open_run(run_id).delete_tag(logged_model_tag_prefix(name) + key)

    def log_model_params(self, model_id: str, params: Mapping[str, Any]) -> None:
        """Params of a logged model (a run's model shares its run's params)."""
        if is_standalone_model_id(model_id):
            with self._change_model(model_id) as record:
                record.params.update(checked_strings(params, "param"))
            return
        run_id, _ = parse_logged_model_id(model_id)
        self.workspace.open_run(run_id).log_params({str(k): str(v) for k, v in params.items()})

    def delete_logged_model(self, model_id: str) -> None:
        """Delete a logged model, softly as a run is deleted: marked deleted, its files
        kept (a run's model keeps the mark as a run tag)."""
        self.get_logged_model(model_id)  # a deleted one is not found
        if is_standalone_model_id(model_id):
            with self._change_model(model_id) as record:
                record.deleted = True
            return
        run_id, name = parse_logged_model_id(model_id)
        mark = logged_model_tag_prefix(name) + system_tags.LOGGED_MODEL_DELETED
        self.workspace.open_run(run_id).set_tags({mark: "true"})

    def link_metrics(self, run_id: str, metrics: Sequence[Metric]) -> None:
        """Keep each metric value that names a model of its own folder with that model
        (a run's own model shares its run's metrics)."""
        linked: dict[str, list[Metric]] = {}
        for metric in metrics:
            if metric.model_id and is_standalone_model_id(metric.model_id):
                linked.setdefault(metric.model_id, []).append(metric)
        for model_id, values in linked.items():
            with self._change_model(model_id) as record:
                record.metrics += [
                    metric_row(
                        metric.key,
                        metric.value,
                        metric.timestamp,
                        metric.step,
                        run_id,
                        metric.dataset_name,
                        metric.dataset_digest,
                    )
                    for metric in values
                ]

    def log_outputs(self, run_id: str, outputs: Sequence[tuple[str, int]]) -> None:
        """Record that a run output these models (``(model id, step)``)."""
        self.workspace.run_dir(run_id)  # the run exists
        for model_id, step in outputs:
            if is_standalone_model_id(model_id):
                with self._change_model(model_id) as record:
                    entry = {"run_id": run_id, "step": int(step)}
                    if entry not in record.outputs:
                        record.outputs.append(entry)
            elif parse_logged_model_id(model_id)[0] != run_id:
                raise InvalidValue(
                    f"{model_id} is a model another run logged; a run outputs the models "
                    "it logs, or models made with create_logged_model."
                )

    def log_model_inputs(self, run_id: str, model_ids: Sequence[str]) -> None:
        """Record that a run took these models as inputs (kept with each model of its own
        folder; a run's model used by another run is not kept, and says so)."""
        self.workspace.run_dir(run_id)  # the run exists
        for model_id in model_ids:
            if not is_standalone_model_id(model_id):
                logger.warning(
                    "Run %s took %s as an input: a model a run logged does not keep the runs "
                    "that use it, so this link is not kept.",
                    run_id,
                    model_id,
                )
                continue
            with self._change_model(model_id) as record:
                if {"run_id": run_id} not in record.used_by:
                    record.used_by.append({"run_id": run_id})

    def model_links(
        self, run_id: str, experiment_id: str | None = None
    ) -> tuple[list[tuple[str, int]], list[str]]:
        """The models of their own folders a run output (with the step) and took as
        inputs; ``experiment_id`` (the run's, when known) spares reading its record."""
        if experiment_id is None:
            experiment_id = self.workspace.load_run(run_id)[0].experiment
        outputs: list[tuple[str, int]] = []
        inputs: list[str] = []
        for _, folder in self.workspace.logged_model_dirs([experiment_id]):
            model = read_model(folder)
            if model.deleted:
                continue
            outputs += [
                (model.id, int(entry.get("step", 0)))
                for entry in model.outputs
                if entry.get("run_id") == run_id
            ]
            if {"run_id": run_id} in model.used_by:
                inputs.append(model.id)
        return outputs, inputs

    # -- artifacts ----------------------------------------------------------------

    def list_artifacts(self, run_id: str, path: str | None = None) -> list[FileInfo]:
        """The files and folders directly inside ``artifacts/[path]``."""
        folder = self.workspace.artifact_path(run_id, path)
        if not folder.is_dir():
            return []
        root = self.workspace.artifacts_dir(run_id)
        infos = []
        for entry in sorted(os.scandir(folder), key=lambda e: e.name):
            if entry.name.startswith("."):
                continue  # temporary files of a write in progress
            if entry.is_symlink():
                continue  # never followed out of the run
            relative = Path(entry.path).relative_to(root).as_posix()
            is_dir = entry.is_dir(follow_symlinks=False)
            infos.append(FileInfo(relative, is_dir, None if is_dir else entry.stat().st_size))
        return infos

    def download_artifacts(self, run_id: str, path: str, dst_path: str | None = None) -> str:
        """Copy ``artifacts/path`` (a file or folder) to ``dst_path``; returns the local path."""
        source = self.workspace.artifact_path(run_id, path)
        destination = Path(dst_path) if dst_path is not None else Path(tempfile.mkdtemp())
        destination.mkdir(parents=True, exist_ok=True)
        target = destination / source.name
        for left_out in copy_regular_files(source, target):
            logger.warning(
                "Left out %s of run %s: a symbolic link is never followed", left_out, run_id
            )
        return str(target.resolve())

    def log_artifact(self, run_id: str, local_path: str, artifact_path: str | None = None) -> None:
        self.workspace.open_run(run_id).log_artifact(local_path, artifact_path)

    def log_artifacts(self, run_id: str, local_dir: str, artifact_path: str | None = None) -> None:
        self.workspace.open_run(run_id).log_artifacts(local_dir, artifact_path)


def logged_model_tag_prefix(name: str) -> str:
    """A logged model's tags are its run's tags under this prefix."""
    return f"{system_tags.LOGGED_MODEL_PREFIX}{logged_model_id('', name).rsplit('-', 1)[1]}."


def random_model_name() -> str:
    return f"model-{uuid.uuid4().hex[:8]}"


def experiment_id_of(folder: Path) -> str:
    """The experiment a model's folder (runs/<experiment>/models/<id>) belongs to."""
    return folder.parent.parent.name


def _standalone_model(experiment_id: str, folder: Path, record: ModelRecord) -> LoggedModel:
    return LoggedModel(
        model_id=record.id,
        name=record.name,
        experiment_id=public_experiment_id(experiment_id),
        source_run_id=record.source_run_id,
        artifact_location=model_artifacts_dir(folder).absolute().as_uri(),
        creation_timestamp=record.created,
        last_updated_timestamp=record.updated,
        status=record.status,
        tags=dict(record.tags),
        params=dict(record.params),
        model_type=record.model_type,
        metrics=[
            Metric(
                key=row["key"],
                value=float(row["value"]),
                timestamp=int(row["timestamp"]),
                step=int(row["step"]),
                model_id=record.id,
                dataset_name=row.get("dataset_name"),
                dataset_digest=row.get("dataset_digest"),
                run_id=row.get("run_id"),
            )
            for row in record.metrics
        ],
    )


def _logged_model(record: RunRecord, run_dir: Path, name: str) -> LoggedModel | None:
    """A model a run logged (None once deleted): its tags are the run's under a prefix,
    its params and metrics the run's."""
    prefix = logged_model_tag_prefix(name)
    if record.tags.get(prefix + system_tags.LOGGED_MODEL_DELETED) == "true":
        return None
    folder = run_dir / ARTIFACTS_DIR / name
    model_id = logged_model_id(record.id, name)
    return LoggedModel(
        model_id=model_id,
        name=name,
        experiment_id=public_experiment_id(record.experiment),
        source_run_id=record.id,
        artifact_location=folder.absolute().as_uri(),
        creation_timestamp=record.start_time,
        last_updated_timestamp=record.end_time or record.start_time,
        status=READY if (folder / MLMODEL_FILE).is_file() else PENDING,
        tags={
            key[len(prefix) :]: value
            for key, value in record.tags.items()
            if key.startswith(prefix) and key != prefix + system_tags.LOGGED_MODEL_DELETED
        },
        params=dict(record.params),
        metrics=[
            Metric(key, summary.last, summary.timestamp, summary.step, model_id, run_id=record.id)
            for key, summary in record.metrics.items()
        ],
    )


def checked_tags(tags: Mapping[str, Any]) -> dict[str, str]:
    if not isinstance(tags, Mapping):
        raise InvalidValue(
            f"tags must be a mapping of names to values, got {type(tags).__name__}. "
            "Pass a dict, e.g. tags={'team': 'pricing'}."
        )
    return {check_key(str(key), "tag key"): str(value) for key, value in tags.items()}


def _experiment(workspace: Workspace, experiment_id: str, record: ExperimentRecord) -> Experiment:
    return experiment_from_record(experiment_id, record, workspace.experiment_dir(experiment_id))


def _absolute_if_local(location: str | None) -> str | None:
    """An experiment's artifact location as MLflow keeps it: a local path made absolute
    (from the working directory), a URI as given."""
    if location is None or location == "":  # MLflow's REST API sends "" for none
        return None
    text = str(location)
    if "://" in text or text.startswith(("file:", "mlflow-artifacts:")):
        return text
    return os.path.abspath(os.path.expanduser(text))
