"""``gitruns import mlflow SOURCE``: MLflow's experiments, runs and registry into gitruns.

Read with MLflow's own client, so an ``mlruns/`` folder, a database URI and a
tracking server all read the same way. Each MLflow run becomes a gitruns run with
the same id (which is what makes a second import bring only what is new), written
whole in a hidden folder and renamed into place, so an import killed at any
instant leaves no half run. The registry becomes registry tags with MLflow's
version numbers; its runs are committed first, since tags point at commits.

A store is untrusted input, as a pull request is. A run's artifacts are read
only from inside the store (the ``mlruns/`` folder, the folder holding the
database, a server's own artifact API) or from a root the user names; files
named or holding like secrets stay out; a run here with the same id that no
import made is never replaced; one bad run is reported, and the others come in.

Example::

    report = import_mlflow("sqlite:///mlflow.db", Path("runs"))
    print(report.summary())
"""

from __future__ import annotations

import contextlib
import logging
import os
import shutil
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar
from urllib.parse import urlsplit

from gitruns import system_tags
from gitruns.entities import CONTEXT_TAG
from gitruns.exceptions import GitrunsError
from gitruns.mlflow_bridge import (
    EXPORTED_ID_TAG,
    IMPORTED_TAG,
    TransferReport,
    mlflow_client,
)
from gitruns.mlflow_bridge.artifact_sources import (
    ArtifactSources,
    ServerArtifacts,
    download_artifacts,
    download_model,
    download_through_server,
    kept_files,
)
from gitruns.registry.tags import version_number
from gitruns.store.history import Point, write_histories
from gitruns.store.index import ensure_ignore_file
from gitruns.store.names import (
    MAX_PARAM_VALUE_LENGTH,
    MAX_TAG_VALUE_LENGTH,
    RUN_ID_PATTERN,
    check_key,
    check_text_name,
    random_run_name,
)
from gitruns.store.record import (
    ACTIVE,
    ARTIFACTS_DIR,
    DELETED,
    MAX_RECORD_BYTES,
    RUN_FILE,
    RUNNING,
    STATUSES,
    ExperimentRecord,
)
from gitruns.store.run_record import MetricSummary, RunRecord, read_run_record
from gitruns.utils.files import temporary_path, write_atomic
from gitruns.workspace import Workspace

logger = logging.getLogger(__name__)

PAGE_SIZE = 1000
BULK_RUNS = 100  # runs whose histories are read in one query, where the store can
Progress = Callable[[int, int], None]


@dataclass
class ImportReport(TransferReport):
    """What an import brought in (runs keep MLflow's ids), and what it could not."""

    verb: ClassVar[str] = "imported"
    experiments: list[str] = field(default_factory=list)  # created in gitruns

    def _more(self) -> str:
        return f"{len(self.experiments)} experiments created; "


def import_mlflow(
    source: str,
    runs_dir: Path,
    experiments: Sequence[str] | None = None,
    *,
    registry: bool = True,
    progress: Progress | None = None,
    artifact_roots: Sequence[str] = (),
) -> ImportReport:
    """Import MLflow's experiments (all, or those named), their runs and the registry.

    ``source`` is an ``mlruns/`` folder, a ``sqlite:///…`` URI (or any database MLflow
    reads) or an ``http://…`` tracking server. Runs imported before are skipped, unless
    they were still running then and have ended since. ``artifact_roots`` names
    folders or URIs outside the store that artifacts may be read from.
    ``progress(done, total)`` is called after each run.
    """
    check_source(source)
    sources = ArtifactSources.of(source, artifact_roots)
    with mlflow_client(source) as client:
        return _import(client, runs_dir, experiments, registry, progress, sources)


def _import(
    client: Any,
    runs_dir: Path,
    experiments: Sequence[str] | None,
    registry: bool,
    progress: Progress | None,
    sources: ArtifactSources,
) -> ImportReport:
    report = ImportReport()
    workspace = Workspace.at(runs_dir)
    runs_dir.mkdir(parents=True, exist_ok=True)
    ensure_ignore_file(runs_dir)
    chosen = _experiments(client, experiments, report)
    existing = _existing_runs(workspace)
    pending: list[tuple[str, Any]] = []
    for mlflow_experiment in chosen:
        experiment_id = _experiment_into(workspace, mlflow_experiment, report)
        for run in _all_runs(client, mlflow_experiment.experiment_id, report):
            here = _standing_here(existing, run)
            if here == "new":
                pending.append((experiment_id, run))
            elif here == "not ours":
                report.skip(
                    f"run {run.info.run_id}",
                    "a run with this id is here already and was not made by an import; it is "
                    "left as it is (remove or move it to import MLflow's)",
                )
            else:
                report.already_there += 1
    models_by_run = _logged_models(client, [e.experiment_id for e in chosen])
    histories = MetricHistories(client)
    for done, (experiment_id, run) in enumerate(pending, start=1):
        if run.info.run_id not in histories.covered:
            histories.prefetch([run for _, run in pending[done - 1 : done - 1 + BULK_RUNS]])
        try:
            _import_run(
                client,
                workspace,
                experiment_id,
                run,
                histories,
                models_by_run,
                existing,
                report,
                sources,
            )
        except Exception as error:  # one bad run is reported; the others come in
            report.skip(f"run {run.info.run_id}", _reason(error))
        if progress is not None:
            progress(done, len(pending))
    if registry:
        _import_registry(client, workspace, report)
    return report


def check_source(source: str) -> None:
    """Refuse a local store that is not there: MLflow's client would create an empty one."""
    if source.startswith("sqlite:///"):
        path = Path(source[len("sqlite:///") :])
        if not path.is_file():
            raise GitrunsError(
                f"no MLflow database at {path}. Give the path of the mlflow.db your runs are "
                "in (sqlite:///path/to/mlflow.db; four slashes for an absolute path)."
            )
        return
    scheme = urlsplit(source).scheme
    if scheme in ("", "file"):
        folder = Path(urlsplit(source).path if scheme == "file" else source)
        if not folder.is_dir() or not any(folder.glob("*/meta.yaml")):
            raise GitrunsError(
                f"{folder} is not an MLflow mlruns/ folder (no experiment's meta.yaml in it). "
                "Give the folder MLflow wrote, a database URI or a server's http:// address."
            )


# -- experiments ------------------------------------------------------------------------


def _experiments(client: Any, names: Sequence[str] | None, report: ImportReport) -> list[Any]:
    from mlflow.entities import ViewType

    found = list(
        pages(
            lambda token: client.search_experiments(
                view_type=ViewType.ALL, max_results=PAGE_SIZE, page_token=token
            )
        )
    )
    if not names:
        return found
    by_name = {experiment.name: experiment for experiment in found}
    for name in names:
        if name not in by_name:
            report.skip(f"experiment {name!r}", "no experiment of that name in the source")
    return [by_name[name] for name in names if name in by_name]


def _experiment_into(workspace: Workspace, experiment: Any, report: ImportReport) -> str:
    """The gitruns experiment of an MLflow one (by name), created if needed."""
    found = workspace.find_experiment(experiment.name)
    if found is not None:
        return found[0]
    tags = {key: str(value) for key, value in (experiment.tags or {}).items()}
    description = tags.pop(system_tags.NOTE, None)
    record = ExperimentRecord(
        name=experiment.name,
        description=description,
        tags={
            key: value
            for key, value in tags.items()
            if not key.startswith(system_tags.MLFLOW_PREFIX)
        },
        lifecycle_stage=experiment.lifecycle_stage or ACTIVE,
    )
    experiment_id = workspace.create_experiment(record)
    report.experiments.append(experiment.name)
    return experiment_id


# -- runs -------------------------------------------------------------------------------


def pages(search: Callable[[str | None], Any]) -> Iterator[Any]:
    token = None
    while True:
        page = search(token)
        yield from page
        token = getattr(page, "token", None)
        if not token:
            return


def _all_runs(client: Any, experiment_id: str, report: ImportReport) -> Iterator[Any]:
    """Every run of an experiment. MLflow's folder store reads all of them to answer a
    search, so one unreadable run (invalid UTF-8, say) fails it: then they are read one
    by one, and each that cannot be read is reported."""
    from mlflow.entities import ViewType

    try:
        runs = list(
            pages(
                lambda token: client.search_runs(
                    [experiment_id],
                    run_view_type=ViewType.ALL,
                    max_results=PAGE_SIZE,
                    order_by=["attributes.start_time ASC"],
                    page_token=token,
                )
            )
        )
    except Exception as error:
        list_infos = getattr(client._tracking_client.store, "_list_run_infos", None)
        if list_infos is None:
            report.skip(f"the runs of experiment {experiment_id}", _reason(error))
            return
        runs = []
        for info in list_infos(experiment_id, ViewType.ALL):
            try:
                runs.append(client.get_run(info.run_id))
            except Exception as failed:
                report.skip(f"run {info.run_id}", _reason(failed))
    yield from runs


def _reason(error: BaseException) -> str:
    message = getattr(error, "message", None) or str(error)
    return message if isinstance(error, GitrunsError) else f"{type(error).__name__}: {message}"


def _existing_runs(workspace: Workspace) -> dict[str, Path]:
    return {path.name: path for path in workspace.run_dirs()}


def _standing_here(existing: dict[str, Path], run: Any) -> str:
    """What the runs here say of an MLflow run: ``"new"`` (import it), ``"there"``
    (imported or exported before, and current), or ``"not ours"`` (a run with its id
    that no import made: never replaced)."""
    exported_from = (run.data.tags or {}).get(EXPORTED_ID_TAG)
    if exported_from and exported_from in existing:
        return "there"  # it went out from here: the same run
    run_dir = existing.get(run.info.run_id)
    if run_dir is None:
        return "new"
    try:
        record = read_run_record(run_dir)
    except (GitrunsError, OSError):
        return "not ours"  # unreadable here: left for the user to look at
    if record.tags.get(IMPORTED_TAG) != "mlflow":
        return "not ours"
    # Imported while it still ran, and ended since: brought again, replacing our copy.
    return "new" if record.status == RUNNING and run.info.status != RUNNING else "there"


def _logged_models(client: Any, experiment_ids: list[str]) -> dict[str, list[Any]]:
    """MLflow 3's logged models, by the run that logged them (none before MLflow 3)."""
    if not experiment_ids or not hasattr(client, "search_logged_models"):
        return {}
    by_run: dict[str, list[Any]] = {}
    models = pages(
        lambda token: client.search_logged_models(
            experiment_ids=experiment_ids, max_results=100, page_token=token
        )
    )
    for model in models:
        if model.source_run_id:
            by_run.setdefault(model.source_run_id, []).append(model)
    return by_run


def _import_run(
    client: Any,
    workspace: Workspace,
    experiment_id: str,
    run: Any,
    histories: MetricHistories,
    models_by_run: dict[str, list[Any]],
    existing: dict[str, Path],
    report: ImportReport,
    sources: ArtifactSources,
) -> None:
    run_id = run.info.run_id
    if not RUN_ID_PATTERN.match(run_id):
        report.skip(f"run {run_id!r}", "its id is not 32 hexadecimal digits as MLflow's are")
        return
    if run.info.status not in STATUSES or run.info.lifecycle_stage not in (ACTIVE, DELETED):
        report.skip(
            f"run {run_id}",
            f"its status {run.info.status!r} or stage {run.info.lifecycle_stage!r} is none "
            "of MLflow's",
        )
        return
    record, points = _record_of(histories, experiment_id, run, report)
    text = record.to_yaml()
    if len(text.encode("utf-8")) > MAX_RECORD_BYTES:
        raise GitrunsError(
            f"its record would be {len(text.encode('utf-8')):,} bytes, over the "
            f"{MAX_RECORD_BYTES:,} gitruns reads"
        )
    final = workspace.new_run_dir(experiment_id, run_id)
    staging = temporary_path(final)
    staging.mkdir(parents=True)
    try:
        if points:
            write_histories(staging, points)
        artifacts = staging / ARTIFACTS_DIR
        refused = sources.why_not(run.info.artifact_uri or "")
        if refused is not None:
            report.skip(f"run {run_id} artifacts", refused)
        elif sources.through_server(run.info.artifact_uri or ""):
            where = ServerArtifacts.of_run(run_id)
            download_through_server(client, where, artifacts, f"run {run_id}", report)
        else:
            download_artifacts(client, run, artifacts, report)
        for model in models_by_run.get(run_id, []):
            refused = sources.why_not(model.artifact_location or "")
            if refused is not None:
                report.skip(f"logged model {model.model_id} of run {run_id}", refused)
            else:
                download_model(client, model, artifacts, sources, report)
        report.artifact_files += kept_files(artifacts, f"run {run_id}", report)
        write_atomic(staging / RUN_FILE, text)
        _swap_into_place(staging, final, existing.get(run_id))
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    existing[run_id] = final
    report.runs.append(run_id)
    report.metric_points += len(points)


def _swap_into_place(staging: Path, final: Path, previous: Path | None) -> None:
    """Rename the finished folder into place; a run imported before while it was still
    running (perhaps in another experiment's folder) is replaced."""
    if previous is not None and previous.exists():
        retired = temporary_path(previous)
        os.rename(previous, retired)
        os.rename(staging, final)
        shutil.rmtree(retired, ignore_errors=True)
    else:
        os.rename(staging, final)


def _record_of(
    histories: MetricHistories, experiment_id: str, run: Any, report: ImportReport
) -> tuple[RunRecord, list[Point]]:
    info, data = run.info, run.data
    what = f"run {info.run_id}"
    tags = dict(data.tags)
    name = tags.pop(system_tags.RUN_NAME, None) or info.run_name or ""
    try:
        name = check_text_name(name, "run name")
    except GitrunsError as error:
        report.skip(f"{what} name {name!r}", f"{error.message} (named at random instead)")
        name = random_run_name()
    user = info.user_id or tags.get(system_tags.USER)
    if tags.get(system_tags.USER) == user:
        tags.pop(system_tags.USER)
    tags[IMPORTED_TAG] = "mlflow"
    record = RunRecord(
        id=info.run_id,
        experiment=experiment_id,
        name=name,
        start_time=int(info.start_time or 0),
        status=info.status,
        end_time=None if info.end_time is None else int(info.end_time),
        user=user or None,
        parent=tags.pop(system_tags.PARENT_RUN_ID, None),
        description=tags.pop(system_tags.NOTE, None),
        params=_checked(f"{what} param", data.params, MAX_PARAM_VALUE_LENGTH, report),
        tags=_checked(f"{what} tag", tags, MAX_TAG_VALUE_LENGTH, report),
        lifecycle_stage=info.lifecycle_stage or ACTIVE,
        inputs=_inputs(run, report),
    )
    points: list[Point] = []
    for key in sorted(data.metrics):
        try:
            check_key(key, "metric key")
        except GitrunsError as error:
            report.skip(f"{what} metric {key!r}", error.message)
            continue
        for metric in histories.of(info.run_id, key):
            points.append((key, int(metric.step), int(metric.timestamp), repr(float(metric.value))))
            value = float(metric.value)
            summary = record.metrics.get(key)
            if summary is None:
                record.metrics[key] = MetricSummary.first(value, metric.step, metric.timestamp)
            else:
                summary.update(value, metric.step, metric.timestamp)
    points.sort(key=lambda point: (point[2], point[1]))
    return record, points


def _inputs(run: Any, report: ImportReport) -> list[dict[str, Any]]:
    """The datasets a run read, as ``run.yaml`` keeps them."""
    from gitruns.data import input_entry
    from gitruns.mlflow_bridge.convert import from_dataset_input

    entries = []
    for item in getattr(getattr(run, "inputs", None), "dataset_inputs", None) or []:
        ours = from_dataset_input(item)
        tags = {tag.key: tag.value for tag in ours.tags}
        try:
            entries.append(input_entry(ours.dataset, tags.pop(CONTEXT_TAG, None), tags or None))
        except GitrunsError as error:
            report.skip(f"run {run.info.run_id} dataset {ours.dataset.name!r}", error.message)
    return entries


class MetricHistories:
    """Metric histories, read per run, or many runs at once where the store can.

    MLflow's database store answers a metric's history for a list of runs in one
    query (what its UI's charts use); a run at a time that is a query per metric per
    run, which made up two thirds of an import's time.
    """

    def __init__(self, client: Any) -> None:
        self.client = client
        store = getattr(getattr(client, "_tracking_client", None), "store", None)
        self.bulk = getattr(store, "get_metric_history_bulk", None)
        self.fetched: dict[tuple[str, str], list[Any]] = {}
        self.covered: set[str] = set()

    def prefetch(self, runs: list[Any]) -> None:
        """Read the histories of ``runs`` in one query per metric, forgetting earlier ones."""
        if self.bulk is None:
            return
        wanted = runs
        self.fetched.clear()
        self.covered = {run.info.run_id for run in wanted}
        ids = sorted(self.covered)
        for key in sorted({key for run in wanted for key in run.data.metrics}):
            for point in self.bulk(ids, key, max_results=2**31 - 1):
                self.fetched.setdefault((point.run_id, key), []).append(point)

    def of(self, run_id: str, key: str) -> list[Any]:
        if run_id in self.covered:
            return self.fetched.get((run_id, key), [])
        return list(self.client.get_metric_history(run_id, key))


def _checked(what: str, values: dict[str, Any], limit: int, report: ImportReport) -> dict[str, str]:
    kept = {}
    for key, value in values.items():
        try:
            check_key(key, "key")
        except GitrunsError as error:
            report.skip(f"{what} {key!r}", error.message)
            continue
        text = "" if value is None else str(value)
        if len(text) > limit:
            report.skip(f"{what} {key!r}", f"its value is {len(text)} characters (at most {limit})")
            continue
        kept[key] = text
    return kept


# -- the registry -----------------------------------------------------------------------


def _import_registry(client: Any, workspace: Workspace, report: ImportReport) -> None:
    models = list(
        pages(
            lambda token: client.search_registered_models(max_results=PAGE_SIZE, page_token=token)
        )
    )
    if not models:
        return
    if workspace.repo_top is None:
        report.skip(
            f"{len(models)} registered models",
            f"{workspace.runs_dir} is not in a git repository, and the registry lives in git "
            "tags. Run 'git init', then import again",
        )
        return
    from gitruns.store.repo import commit_runs

    if report.runs:
        commit_runs(workspace.runs_dir, f"Import {len(report.runs)} runs from MLflow")
    registry = workspace.registry
    for model in models:
        try:
            _import_model(client, registry, model, report)
        except GitrunsError as error:
            report.skip(f"registered model {model.name!r}", error.message)


def _import_model(client: Any, registry: Any, model: Any, report: ImportReport) -> None:
    name = model.name
    quote = "'" if "'" not in name else '"'
    versions = sorted(
        pages(
            lambda token: client.search_model_versions(
                f"name={quote}{name}{quote}", max_results=PAGE_SIZE, page_token=token
            )
        ),
        key=lambda version: int(version.version),
    )
    known = registry.models().get(name)
    have = set() if known is None else {version_number(v) for v in known.versions}
    for version in versions:
        number = int(version.version)
        what = f"{name} version {number}"
        if number in have:
            continue
        path = _model_path(client, version)
        if path is None or version.run_id is None:
            report.skip(what, f"its source {version.source!r} is not a model in a run")
            continue
        try:
            registry.register(
                name,
                version.run_id,
                path,
                description=version.description or None,
                model_description=model.description or None,
                tags=dict(version.tags or {}),
                number=number,
                model_tags={key: str(value) for key, value in (model.tags or {}).items()},
            )
        except GitrunsError as error:
            report.skip(what, error.message)
            continue
        if version.current_stage and version.current_stage != "None":
            registry.set_stage(name, number, version.current_stage, allow_custom=True)
        report.model_versions.append(f"{name} v{number}")
    if name not in registry.models():
        return  # none of its versions could be imported (each is reported)
    held = registry.model(name).tags
    for key, value in (model.tags or {}).items():
        if held.get(key) != str(value):
            registry.set_model_tag(name, key, str(value))
    for alias, aliased in _aliases(model):
        with contextlib.suppress(GitrunsError):
            if version_number(registry.alias_holder(name, alias).version) == int(aliased):
                continue
        registry.set_alias(name, alias, int(aliased))


def _aliases(model: Any) -> list[tuple[str, str]]:
    aliases = model.aliases or {}
    if isinstance(aliases, dict):
        return list(aliases.items())
    return [(alias.alias, alias.version) for alias in aliases]


def _model_path(client: Any, version: Any) -> str | None:
    """Where a version's model is in its run's artifacts: ``runs:/<id>/<path>``, a logged
    model (imported under its name), or a path inside the run's artifact folder."""
    source = version.source or ""
    if source.startswith("runs:/"):
        _, _, path = source[len("runs:/") :].partition("/")
        return path.strip("/") or None
    if source.startswith("models:/m-"):
        return str(client.get_logged_model(source[len("models:/") :].strip("/")).name)
    marker = f"/{version.run_id}/artifacts/"
    if version.run_id and marker in source:
        return source.split(marker, 1)[1].strip("/") or None
    return None
