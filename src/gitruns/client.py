"""``MlflowClient``: MLflow's lower-level client, over a ``runs/`` folder.

Every method takes ids rather than relying on an active run, as MLflow's
does; code and course notebooks written against ``mlflow.tracking.MlflowClient``
work unchanged. Runs are found by id or any unique id prefix.

Example::

    from gitruns import MlflowClient
    from gitruns.entities import ViewType

    client = MlflowClient()
    experiment = client.get_experiment_by_name("nyc-taxi-experiment")
    best = client.search_runs(
        experiment_ids=experiment.experiment_id,
        filter_string="metrics.rmse < 7",
        run_view_type=ViewType.ACTIVE_ONLY,
        max_results=5,
        order_by=["metrics.rmse ASC"],
    )
"""

from __future__ import annotations

import base64
import binascii
import json
import logging
import os
import tempfile
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
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
    ModelVersion,
    PagedList,
    Param,
    RegisteredModel,
    Run,
    RunInfo,
    RunTag,
    ViewType,
    experiment_from_record,
    run_from_entry,
    run_from_live,
    run_from_record,
)
from gitruns.exceptions import GitrunsError, InvalidPath, InvalidValue
from gitruns.query import (
    ColumnRow,
    abbreviate,
    check_known_keys,
    parse_experiment_field,
    parse_filter,
    parse_model_field,
    parse_order_by,
    search_columns,
)
from gitruns.query.ranking import rank
from gitruns.registry import ModelState, Registry, VersionState, resolve_version, split_runs_uri
from gitruns.registry.tags import check_model_name, gto_stage, mlflow_stage
from gitruns.store import DEFAULT_EXPERIMENT_ALIASES, RunStore
from gitruns.store.history import read_histories
from gitruns.store.index import RunEntry
from gitruns.store.names import (
    DEFAULT_EXPERIMENT_NAME,
    RUN_ID_PATTERN,
    check_experiment_name,
    check_key,
    check_relative_path,
    logged_model_id,
    parse_logged_model_id,
)
from gitruns.store.record import (
    ACTIVE,
    ARTIFACTS_DIR,
    DELETED,
    FINISHED,
    TERMINAL_STATUSES,
    ExperimentRecord,
    RunRecord,
    read_run_record,
)
from gitruns.store.writer import create_run, open_run
from gitruns.utils.files import copy_regular_files, has_link_on_path

MLMODEL_FILE = "MLmodel"  # a folder holding one is a model

logger = logging.getLogger(__name__)

SEARCH_MAX_RESULTS_DEFAULT = 1000


def _page_token(offset: int) -> str:
    return base64.urlsafe_b64encode(json.dumps({"offset": offset}).encode()).decode()


def _offset(page_token: str | None) -> int:
    if not page_token:
        return 0
    try:
        offset = json.loads(base64.urlsafe_b64decode(page_token.encode()))["offset"]
    except (ValueError, KeyError, TypeError, binascii.Error) as error:
        raise InvalidValue(
            f"page_token {page_token!r} is not one this client gave. Pass the .token of the "
            "previous page, or None for the first page."
        ) from error
    if not isinstance(offset, int) or offset < 0:
        raise InvalidValue(f"page_token {page_token!r} is damaged. Start again from None.")
    return offset


def _entries_of(rows: Sequence[ColumnRow]) -> list[tuple[RunEntry, str]]:
    """The entries of a page of search rows, read together from each index."""
    wanted: dict[int, tuple[Any, list[int]]] = {}
    for row in rows:
        wanted.setdefault(id(row.index), (row.index, []))[1].append(row.position)
    found: dict[tuple[int, int], tuple[RunEntry, str] | None] = {}
    for key, (index, positions) in wanted.items():
        for position, item in zip(positions, index.entries_at(positions), strict=True):
            found[(key, position)] = item
    return [item for row in rows if (item := found[(id(row.index), row.position)]) is not None]


def _page(items: list[Any], max_results: int | None, page_token: str | None) -> PagedList[Any]:
    start = _offset(page_token)
    if max_results is None:
        return PagedList(items[start:], None)
    if isinstance(max_results, bool) or not isinstance(max_results, int) or max_results < 1:
        raise InvalidValue(f"max_results must be a positive integer, got {max_results!r}.")
    end = start + max_results
    return PagedList(items[start:end], _page_token(end) if end < len(items) else None)


class MlflowClient:
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
    def _store(self) -> RunStore:
        return RunStore(self.runs_dir)

    # -- experiments ------------------------------------------------------------

    def _experiment_id(self, experiment_id: object) -> str:
        return self._store.resolve_experiment_id(experiment_id)

    def create_experiment(
        self,
        name: str,
        artifact_location: str | None = None,
        tags: Mapping[str, Any] | None = None,
    ) -> str:
        """Create an experiment and return its id (its folder name).

        ``tags`` are kept in ``experiment.yaml`` (``mlflow.note.content`` is its
        description); ``artifact_location`` is kept and returned as given, though
        artifacts always live in each run's folder.
        """
        check_experiment_name(name)
        if self._store.find_experiment(name) is not None:
            raise GitrunsError(
                f"experiment {name!r} already exists. Use get_experiment_by_name({name!r}).",
                error_code="RESOURCE_ALREADY_EXISTS",
            )
        checked = _experiment_tags(tags or {})
        description = checked.pop(system_tags.NOTE, None)
        record = ExperimentRecord(
            name=name,
            description=description,
            tags=checked,
            artifact_location=None if artifact_location is None else str(artifact_location),
        )
        return self._store.create_experiment(record)

    def set_experiment_tag(self, experiment_id: str, key: str, value: Any) -> None:
        """Set a tag on an experiment (kept in its ``experiment.yaml``)."""
        experiment_id = self._experiment_id(experiment_id)
        record = self._store.get_experiment(experiment_id)
        checked = _experiment_tags({key: value})
        if system_tags.NOTE in checked:
            record.description = checked.pop(system_tags.NOTE)
        record.tags.update(checked)
        self._store.update_experiment(experiment_id, record)

    def delete_experiment_tag(self, experiment_id: str, key: str) -> None:
        experiment_id = self._experiment_id(experiment_id)
        record = self._store.get_experiment(experiment_id)
        if key == system_tags.NOTE:
            record.description = None
        record.tags.pop(check_key(key, "tag key"), None)
        self._store.update_experiment(experiment_id, record)

    def get_experiment(self, experiment_id: str) -> Experiment:
        experiment_id = self._experiment_id(experiment_id)
        record = self._store.get_experiment(experiment_id)
        return _experiment(self._store, experiment_id, record)

    def get_experiment_by_name(self, name: str) -> Experiment | None:
        found = self._store.find_experiment(name)
        return None if found is None else _experiment(self._store, *found)

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
        store = self._store
        experiments = []
        for experiment_id, record in store.readable_experiments():
            experiment = _experiment(store, experiment_id, record)
            if ViewType.includes(view_type, record.lifecycle_stage) and matches(experiment):
                experiments.append(experiment)
        descending = order_by is not None and any(
            str(clause).strip().upper().endswith(" DESC") for clause in order_by[:1]
        )
        experiments.sort(key=lambda experiment: experiment.name, reverse=descending)
        return _page(experiments, max_results, page_token)

    def list_experiments(
        self,
        view_type: int = ViewType.ACTIVE_ONLY,
        max_results: int | None = None,
        page_token: str | None = None,
    ) -> PagedList[Experiment]:
        """MLflow 1.x's name for :meth:`search_experiments`, which older course code calls."""
        return self.search_experiments(view_type, max_results, page_token=page_token)

    def delete_experiment(self, experiment_id: str) -> None:
        """Soft-delete: hidden from searches of active experiments; restore undoes it."""
        self._set_experiment_stage(experiment_id, DELETED)

    def restore_experiment(self, experiment_id: str) -> None:
        self._set_experiment_stage(experiment_id, ACTIVE)

    def _set_experiment_stage(self, experiment_id: str, stage: str) -> None:
        experiment_id = self._experiment_id(experiment_id)
        record = self._store.get_experiment(experiment_id)
        record.lifecycle_stage = stage
        self._store.update_experiment(experiment_id, record)

    # -- runs ---------------------------------------------------------------------

    def create_run(
        self,
        experiment_id: str,
        start_time: int | None = None,
        tags: Mapping[str, Any] | None = None,
        run_name: str | None = None,
    ) -> Run:
        """Create a RUNNING run; end it with :meth:`set_terminated`."""
        experiment_id = self._experiment_id(experiment_id)
        if (
            experiment_id == DEFAULT_EXPERIMENT_ALIASES["0"]
            and self._store.find_experiment(DEFAULT_EXPERIMENT_NAME) is None
        ):  # MLflow's experiment 0 always exists: gitruns makes it on first use
            self._store.create_experiment(ExperimentRecord(name=DEFAULT_EXPERIMENT_NAME))
        self._store.get_experiment(experiment_id)
        live = create_run(
            self._store, location.current(self._tracking_uri), experiment_id, run_name
        )
        if start_time is not None:
            live.record.start_time = int(start_time)
        if tags:
            live.set_tags(tags)
        live.save()
        return run_from_live(live)

    def get_run(self, run_id: str) -> Run:
        """A run by id or unique id prefix."""
        record, run_dir = self._store.load_run(run_id)
        return run_from_record(record, run_dir)

    def get_run_record(self, run_id: str) -> tuple[RunRecord, Path]:
        """gitruns' own record of a run (everything in ``run.yaml``) and its folder."""
        return self._store.load_run(run_id)

    def primary_metric(self, experiment_id: str) -> str | None:
        """The metric that ranks an experiment's runs, by the one rule (query.ranking):
        the declared one, else the one its runs share."""
        folder = self._experiment_id(experiment_id)
        record = self._store.get_experiment(folder)
        entries = [entry for entry, _ in self._store.entries([folder])]
        return rank(record.primary_metric, record.goal, entries).metric

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
        rows = self._search(experiment_ids, filter_string, run_view_type, order_by)
        page = _page(rows, max_results, page_token)
        return PagedList(
            [run_from_entry(entry, Path(path)) for entry, path in _entries_of(page)], page.token
        )

    def _search(
        self,
        experiment_ids: str | Sequence[str],
        filter_string: str | None,
        run_view_type: int,
        order_by: Sequence[str] | None,
    ) -> list[ColumnRow]:
        """The matching runs, in order, as rows of the index's columns: the filter and the
        order read only the columns they name, and only a page of runs is ever built."""
        if isinstance(experiment_ids, (str, int)):
            experiment_ids = [str(experiment_ids)]
        ids = [self._experiment_id(experiment_id) for experiment_id in experiment_ids]
        for experiment_id in ids:
            self._store.get_experiment(experiment_id)
        stages = {stage for stage in (ACTIVE, DELETED) if ViewType.includes(run_view_type, stage)}
        return search_columns(self._store.indexes(ids), filter_string, order_by, stages)

    def id_width(self) -> int:
        """How many characters of a run id tell every run in the store apart (at least
        8): printed ids that long can be typed back as prefixes."""
        return abbreviate(entry.id for entry, _ in self._store.entries())

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
        entries = [entry for entry, _ in self._store.entries(ids)]
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
        open_run(self._store, run_id).set_tags({key: value})

    def delete_tag(self, run_id: str, key: str) -> None:
        open_run(self._store, run_id).delete_tag(key)

    def log_param(self, run_id: str, key: str, value: Any, synchronous: bool | None = None) -> Any:
        open_run(self._store, run_id).log_params({key: value})
        return value

    def log_metric(
        self,
        run_id: str,
        key: str,
        value: float,
        timestamp: int | None = None,
        step: int | None = None,
        synchronous: bool | None = None,
        **_: Any,
    ) -> None:
        live = open_run(self._store, run_id)
        live.log_metric(key, value, step, timestamp)
        live.flush()

    def log_batch(
        self,
        run_id: str,
        metrics: Sequence[Metric] = (),
        params: Sequence[Param] = (),
        tags: Sequence[RunTag] = (),
        synchronous: bool | None = None,
    ) -> None:
        """Log metrics, params and tags in one call (params all or none)."""
        live = open_run(self._store, run_id)
        if params:
            live.log_params({param.key: param.value for param in params})
        if tags:
            live.set_tags({tag.key: tag.value for tag in tags})
        for metric in metrics:
            live.log_metric(metric.key, metric.value, metric.step, metric.timestamp, defer=True)
        live.flush()

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
            open_run(self._store, run_id).log_inputs(entries)

    def get_metric_history(self, run_id: str, key: str) -> list[Metric]:
        """Every value logged for ``key``, in the order logged."""
        record, run_dir = self._store.load_run(run_id)
        return [
            Metric(key=key, value=value, timestamp=timestamp, step=step)
            for timestamp, step, value in read_histories(run_dir, record.schema).get(key, [])
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
        live = open_run(self._store, run_id)
        live.finish(status)
        if end_time is not None:
            live.record.end_time = int(end_time)
            live.save()

    def delete_run(self, run_id: str) -> None:
        """Soft-delete a run: hidden from active searches, kept on disk; restore_run undoes it."""
        self._set_run_stage(run_id, DELETED)

    def restore_run(self, run_id: str) -> None:
        self._set_run_stage(run_id, ACTIVE)

    def _set_run_stage(self, run_id: str, stage: str) -> None:
        live = open_run(self._store, run_id)
        live.record.lifecycle_stage = stage
        live.save()

    # -- logged models (MLflow 3): artifacts/<name>/ of their run --------------------

    def get_logged_model(self, model_id: str) -> LoggedModel:
        """A model a run logged, by the id ``log_model`` gave (``ModelInfo.model_id``)."""
        run_id, name = parse_logged_model_id(model_id)
        record, run_dir = self._store.load_run(run_id)
        return _logged_model(record, run_dir, name)

    def search_logged_models(
        self,
        experiment_ids: Sequence[str],
        max_results: int | None = None,
        page_token: str | None = None,
    ) -> PagedList[LoggedModel]:
        """Every model the experiments' runs logged (a folder with an ``MLmodel`` file)."""
        ids = [self._experiment_id(experiment_id) for experiment_id in experiment_ids]
        models = []
        for run_dir in self._store.run_dirs(ids):
            artifacts = run_dir / ARTIFACTS_DIR
            found = [
                path.parent.relative_to(artifacts).as_posix()
                for path in sorted(artifacts.rglob(MLMODEL_FILE))
                if path.is_file() and not path.is_symlink()
            ]
            if found:
                record = read_run_record(run_dir)
                models += [_logged_model(record, run_dir, name) for name in found]
        return _page(models, max_results, page_token)

    def set_logged_model_tags(self, model_id: str, tags: Mapping[str, Any]) -> None:
        """Tag a logged model (kept as its run's tags, under ``gitruns.model.<id part>.``)."""
        run_id, name = parse_logged_model_id(model_id)
        prefix = logged_model_tag_prefix(name)
        open_run(self._store, run_id).set_tags({prefix + key: v for key, v in tags.items()})

    def delete_logged_model_tag(self, model_id: str, key: str) -> None:
        run_id, name = parse_logged_model_id(model_id)
        open_run(self._store, run_id).delete_tag(logged_model_tag_prefix(name) + key)

    # -- artifacts ----------------------------------------------------------------

    def _artifacts_dir(self, run_id: str) -> Path:
        return self._store.find_run_dir(run_id) / ARTIFACTS_DIR

    def _artifact_path(self, run_id: str, path: str | None) -> Path:
        root = self._artifacts_dir(run_id)
        if path in (None, "", "."):
            return root
        relative = check_relative_path(path)
        target = root / relative
        if has_link_on_path(root, relative):
            raise InvalidPath(
                f"artifact {path!r} of run {run_id} is, or is inside, a symbolic link; gitruns "
                "never follows links out of a run. Log the file itself instead of a link."
            )
        if not target.exists():
            raise InvalidPath(
                f"run {run_id} has no artifact {path!r}. List them with list_artifacts({run_id!r})."
            )
        return target

    def list_artifacts(self, run_id: str, path: str | None = None) -> list[FileInfo]:
        """The files and folders directly inside ``artifacts/[path]``."""
        folder = self._artifact_path(run_id, path)
        if not folder.is_dir():
            return []
        root = self._artifacts_dir(run_id)
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
        source = self._artifact_path(run_id, path)
        destination = Path(dst_path) if dst_path is not None else Path(tempfile.mkdtemp())
        destination.mkdir(parents=True, exist_ok=True)
        target = destination / source.name
        for left_out in copy_regular_files(source, target):
            logger.warning(
                "Left out %s of run %s: a symbolic link is never followed", left_out, run_id
            )
        return str(target.resolve())

    def log_artifact(self, run_id: str, local_path: str, artifact_path: str | None = None) -> None:
        open_run(self._store, run_id).log_artifact(local_path, artifact_path)

    def log_artifacts(self, run_id: str, local_dir: str, artifact_path: str | None = None) -> None:
        open_run(self._store, run_id).log_artifacts(local_dir, artifact_path)

    # -- the model registry ------------------------------------------------------------

    def _registry(self) -> Registry:
        return Registry(self.runs_dir)

    def create_registered_model(
        self,
        name: str,
        tags: Mapping[str, Any] | None = None,
        description: str | None = None,
    ) -> RegisteredModel:
        """Announce a model. Git holds it once its first version is registered (a tag);
        until then it lives in this process, and its description and tags wait for that
        version."""
        check_model_name(name)
        registry = self._registry()
        if name in _live_models(registry):
            raise GitrunsError(
                f"registered model {name!r} already exists. Add a version with "
                "create_model_version, or pick another name.",
                error_code="RESOURCE_ALREADY_EXISTS",
            )
        pending = _PendingModel(description or "", _experiment_tags(tags or {}))
        _pending_models[(registry.repo_top, name)] = pending
        return pending.entity(name)

    def get_registered_model(self, name: str) -> RegisteredModel:
        registry = self._registry()
        pending = _pending(registry, name)
        if pending is not None:
            return pending.entity(name)
        return _model_entity(registry.model(name))

    def search_registered_models(
        self,
        filter_string: str | None = None,
        max_results: int = 100,
        order_by: Sequence[str] | None = None,
        page_token: str | None = None,
    ) -> PagedList[RegisteredModel]:
        """Registered models, filtered on ``name`` (e.g. ``"name LIKE 'taxi%'"``)."""
        matches = parse_filter(filter_string, parse_model_field)
        models = [_model_entity(m) for m in _live_models(self._registry()).values()]
        found = sorted((m for m in models if matches(m)), key=lambda m: m.name)
        if order_by and str(order_by[0]).strip().upper().endswith(" DESC"):
            found.reverse()
        return _page(found, max_results, page_token)

    def list_registered_models(
        self, max_results: int = 100, page_token: str | None = None
    ) -> PagedList[RegisteredModel]:
        """MLflow 1.x's name for :meth:`search_registered_models`."""
        return self.search_registered_models(max_results=max_results, page_token=page_token)

    def update_registered_model(self, name: str, description: str | None = None) -> RegisteredModel:
        registry = self._registry()
        if description is None:
            return _model_entity(registry.model(name))
        pending = _pending(registry, name)
        if pending is not None:
            pending.description = description
            return pending.entity(name)
        return _model_entity(registry.describe_model(name, description))

    def delete_registered_model(self, name: str) -> None:
        """Deprecate the model (GTO's ``NAME@deprecated``): gone from listings and lookups."""
        registry = self._registry()
        announced = _pending_models.pop((registry.repo_top, name), None) is not None
        if announced and name not in _live_models(registry):
            return  # nothing in git yet
        registry.deprecate(name)

    def create_model_version(
        self,
        name: str,
        source: str,
        run_id: str | None = None,
        tags: Mapping[str, Any] | None = None,
        run_link: str | None = None,
        description: str | None = None,
        await_creation_for: int = 300,
    ) -> ModelVersion:
        """Register the model at ``source`` (``runs:/ID/model``, or a folder inside a run)."""
        registry = self._registry()
        found_run, path = _run_and_path(registry, source, run_id)
        pending = _pending_models.pop((registry.repo_top, name), None)
        state = registry.register(
            name,
            found_run,
            path,
            description,
            model_description=pending.description if pending else None,
            model_tags=pending.tags if pending else None,
            tags={check_key(str(k), "tag key"): str(v) for k, v in (tags or {}).items()},
        )
        return _version_entity(state)

    def get_model_version(self, name: str, version: str | int) -> ModelVersion:
        return _version_entity(self._registry().model(name).version(version))

    def search_model_versions(
        self,
        filter_string: str | None = None,
        max_results: int = 10_000,
        order_by: Sequence[str] | None = None,
        page_token: str | None = None,
    ) -> PagedList[ModelVersion]:
        """Versions, filtered on ``name``, ``run_id``, ``version`` or ``current_stage``
        (e.g. ``"name = 'nyc-taxi-regressor'"``), newest first."""
        matches = parse_filter(filter_string, parse_model_field)
        versions = [
            _version_entity(state)
            for model in _live_models(self._registry()).values()
            for state in model.live_versions()
        ]
        found = [version for version in versions if matches(version)]
        found.sort(
            key=lambda v: (v.name, v.version if isinstance(v.version, int) else 0), reverse=True
        )
        return _page(found, max_results, page_token)

    def update_model_version(
        self, name: str, version: str | int, description: str | None = None
    ) -> ModelVersion:
        registry = self._registry()
        if description is None:
            return _version_entity(registry.model(name).version(version))
        return _version_entity(registry.describe_version(name, version, description))

    def set_registered_model_tag(self, name: str, key: str, value: Any) -> None:
        """Tag a registered model (kept in its newest registration tag's message)."""
        registry = self._registry()
        pending = _pending(registry, name)
        if pending is not None:
            pending.tags[check_key(key, "tag key")] = str(value)
            return
        registry.set_model_tag(name, check_key(key, "tag key"), str(value))

    def delete_registered_model_tag(self, name: str, key: str) -> None:
        registry = self._registry()
        pending = _pending(registry, name)
        if pending is not None:
            pending.tags.pop(key, None)
            return
        registry.set_model_tag(name, check_key(key, "tag key"), None)

    def set_model_version_tag(self, name: str, version: str | int, key: str, value: Any) -> None:
        """Tag a model version (kept in its registration tag's message)."""
        self._registry().set_version_tag(name, version, check_key(key, "tag key"), str(value))

    def delete_model_version_tag(self, name: str, version: str | int, key: str) -> None:
        self._registry().set_version_tag(name, version, check_key(key, "tag key"), None)

    def rename_registered_model(self, name: str, new_name: str) -> RegisteredModel:
        """Rename a model: its tags are made again under the new name (see
        :meth:`gitruns.registry.Registry.rename`)."""
        return _model_entity(self._registry().rename(name, new_name))

    def copy_model_version(self, src_model_uri: str, dst_name: str) -> ModelVersion:
        """A new version of ``dst_name`` from the run and path a version comes from
        (``models:/NAME/VERSION``, ``models:/NAME/STAGE``, ``models:/NAME@ALIAS``)."""
        registry = self._registry()
        source = resolve_version(registry, src_model_uri)
        if source.run_id is None:
            raise InvalidValue(
                f"{src_model_uri} names a version with no run to copy from. Copy a version "
                "registered from a run, or register the model from its run: "
                "register_model('runs:/RUN_ID/model', NAME)."
            )
        return _version_entity(registry.register(dst_name, source.run_id, source.path))

    def delete_model_version(self, name: str, version: str | int) -> None:
        """Deregister a version (GTO's ``NAME@vN.0.0!``); its number is not reused."""
        self._registry().deregister(name, version)

    def get_latest_versions(
        self, name: str, stages: Sequence[str] | None = None
    ) -> list[ModelVersion]:
        """For each stage asked (every stage, 'None' included, by default), its newest version."""
        model = self._registry().model(name)
        wanted = None if not stages else {mlflow_stage(gto_stage(stage)) for stage in stages}
        newest: dict[str, VersionState] = {}
        for state in model.live_versions():
            if wanted is None or state.current_stage in wanted:
                newest[state.current_stage] = state
        return [_version_entity(state) for state in newest.values()]

    def transition_model_version_stage(
        self,
        name: str,
        version: str | int,
        stage: str,
        archive_existing_versions: bool = False,
        *,
        allow_custom: bool = False,
    ) -> ModelVersion:
        """Move a version to Staging, Production, Archived or None (as tags); any other
        stage is refused, as MLflow refuses it, unless ``allow_custom`` (a GTO stage)."""
        state = self._registry().set_stage(
            name, version, stage, archive_existing_versions, allow_custom=allow_custom
        )
        return _version_entity(state)

    def set_registered_model_alias(self, name: str, alias: str, version: str | int) -> None:
        self._registry().set_alias(name, alias, version)

    def get_model_version_by_alias(self, name: str, alias: str) -> ModelVersion:
        return _version_entity(self._registry().alias_holder(name, alias))

    def delete_registered_model_alias(self, name: str, alias: str) -> None:
        self._registry().delete_alias(name, alias)

    def get_model_version_download_uri(self, name: str, version: str | int) -> str:
        registry = self._registry()
        return registry.model_folder(registry.model(name).version(version)).absolute().as_uri()


def logged_model_tag_prefix(name: str) -> str:
    """A logged model's tags are its run's tags under this prefix."""
    return f"{system_tags.LOGGED_MODEL_PREFIX}{logged_model_id('', name).rsplit('-', 1)[1]}."


def _logged_model(record: RunRecord, run_dir: Path, name: str) -> LoggedModel:
    prefix = logged_model_tag_prefix(name)
    folder = run_dir / ARTIFACTS_DIR / name
    return LoggedModel(
        model_id=logged_model_id(record.id, name),
        name=name,
        experiment_id=record.experiment,
        source_run_id=record.id,
        artifact_location=folder.absolute().as_uri(),
        creation_timestamp=record.start_time,
        last_updated_timestamp=record.end_time or record.start_time,
        status="READY" if (folder / MLMODEL_FILE).is_file() else "PENDING",
        tags={k[len(prefix) :]: v for k, v in record.tags.items() if k.startswith(prefix)},
        params=dict(record.params),
    )


def _experiment_tags(tags: Mapping[str, Any]) -> dict[str, str]:
    if not isinstance(tags, Mapping):
        raise InvalidValue(
            f"tags must be a mapping of names to values, got {type(tags).__name__}. "
            "Pass a dict, e.g. tags={'team': 'pricing'}."
        )
    return {check_key(str(key), "tag key"): str(value) for key, value in tags.items()}


def _experiment(store: RunStore, experiment_id: str, record: ExperimentRecord) -> Experiment:
    return experiment_from_record(experiment_id, record, store.experiment_dir(experiment_id))


__all__ = ["MlflowClient"]


@dataclass
class _PendingModel:
    """A model announced with create_registered_model, before its first version."""

    description: str
    tags: dict[str, str]
    created: int = field(default_factory=lambda: int(time.time() * 1000))

    def entity(self, name: str) -> RegisteredModel:
        return RegisteredModel(
            name, self.created, self.created, self.description, tags=dict(self.tags)
        )


# Models announced with create_registered_model before their first version (per repository).
_pending_models: dict[tuple[Path, str], _PendingModel] = {}


def _pending(registry: Registry, name: str) -> _PendingModel | None:
    """The announced model of that name, unless git holds it by now."""
    pending = _pending_models.get((registry.repo_top, name))
    return None if pending is None or name in _live_models(registry) else pending


def _live_models(registry: Registry) -> dict[str, ModelState]:
    return {name: model for name, model in registry.models().items() if not model.deprecated}


def _version_entity(state: VersionState) -> ModelVersion:
    return ModelVersion(
        name=state.model,
        version=int(state.label) if state.label.isdigit() else state.label,
        creation_timestamp=state.registered_at * 1000,
        last_updated_timestamp=state.updated_at * 1000,
        current_stage=state.current_stage,
        description=state.description,
        user_id=state.registered_by,
        source=f"runs:/{state.run_id}/{state.path}" if state.run_id else None,
        run_id=state.run_id,
        aliases=state.aliases,
        tags=state.tags,
    )


def _model_entity(model: ModelState) -> RegisteredModel:
    versions = [_version_entity(state) for state in model.live_versions()]
    newest: dict[str, ModelVersion] = {}
    for version in versions:
        newest[version.current_stage] = version
    return RegisteredModel(
        name=model.name,
        creation_timestamp=model.created_at * 1000,
        last_updated_timestamp=model.updated_at * 1000,
        description=model.description,
        latest_versions=list(newest.values()),
        aliases={alias: v.version for v in versions for alias in v.aliases},
        tags=dict(model.tags),
    )


def _run_and_path(registry: Registry, source: str, run_id: str | None) -> tuple[str, str]:
    """The run and the model's path inside its artifacts, from a model version's source."""
    if source.startswith("runs:/"):
        found, path = split_runs_uri(source)
        return found, path or "model"
    folder = Path(source.removeprefix("file://")).resolve()
    for candidate in (folder, *folder.parents):
        if candidate.name == ARTIFACTS_DIR and RUN_ID_PATTERN.match(candidate.parent.name):
            if run_id is not None and not candidate.parent.name.startswith(run_id):
                break
            return candidate.parent.name, folder.relative_to(candidate).as_posix()
    raise InvalidPath(
        f"source {source!r} is not a model inside a run's artifacts. Pass 'runs:/RUN_ID/model' "
        "or the path of the model folder under runs/."
    )
