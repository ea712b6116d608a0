"""``gitruns export mlflow DEST``: gitruns runs and registry into an MLflow store.

Written with MLflow's own client, so DEST is anything MLflow writes to: a
database URI or a tracking server. MLflow chooses its run ids, so each exported
run carries the gitruns id in the tag ``gitruns.run_id``; a second export writes
only runs that tag does not name yet (and a run that came from this very store,
whose id MLflow already has, is not written twice). Registered models keep their
version numbers: a version deleted in gitruns is created and deleted again, as
MLflow numbers past deleted versions.

Example::

    report = export_mlflow(Path("runs"), "sqlite:///mlflow.db")
    print(report.summary())
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

from gitruns import system_tags
from gitruns.entities import dataset_inputs
from gitruns.exceptions import GitrunsError
from gitruns.mlflow_bridge import EXPORTED_ID_TAG, IMPORTED_TAG, TransferReport, mlflow_client
from gitruns.mlflow_bridge.convert import to_dataset_input
from gitruns.mlflow_bridge.importing import PAGE_SIZE, pages
from gitruns.store.history import read_histories
from gitruns.store.record import ACTIVE, ARTIFACTS_DIR, RUNNING
from gitruns.store.run_record import RunRecord, read_run_record, record_tags
from gitruns.workspace import Workspace

logger = logging.getLogger(__name__)

MAX_BATCH_METRICS = 1000  # MLflow's limits per log_batch call
MAX_BATCH_PARAMS = 100


@dataclass
class ExportReport(TransferReport):
    """What an export wrote, and what it could not; ``exported`` maps gitruns ids to
    the ids MLflow gave them."""

    verb: ClassVar[str] = "exported"
    exported: dict[str, str] = field(default_factory=dict)


def export_mlflow(
    runs_dir: Path,
    dest: str,
    experiments: Sequence[str] | None = None,
    *,
    registry: bool = True,
    progress: Callable[[int, int], None] | None = None,
) -> ExportReport:
    """Write the runs of every experiment (or those named) and the registry into ``dest``."""
    with mlflow_client(dest) as client:
        return _export(client, runs_dir, experiments, registry, progress)


def _export(
    client: Any,
    runs_dir: Path,
    experiments: Sequence[str] | None,
    registry: bool,
    progress: Callable[[int, int], None] | None,
) -> ExportReport:
    workspace = Workspace.at(runs_dir)
    report = ExportReport()
    chosen = [
        (experiment_id, record)
        for experiment_id, record in workspace.experiments()
        if not experiments or record.name in experiments
    ]
    for name in set(experiments or ()) - {record.name for _, record in chosen}:
        report.skip(f"experiment {name!r}", f"no experiment of that name in {runs_dir}")
    exported: dict[str, str] = {}  # gitruns id -> MLflow id, this export's and earlier ones
    pending: list[tuple[str, RunRecord, Path]] = []
    for experiment_id, record in chosen:
        target = _experiment_into(client, record)
        exported.update(_exported_runs(client, target))
        for run_dir in workspace.run_dirs([experiment_id]):
            try:
                run = read_run_record(run_dir)
            except GitrunsError as error:
                report.skip(f"run {run_dir.name}", error.message)
                continue
            if run.id in exported:
                report.already_there += 1
            else:
                pending.append((target, run, run_dir))
    pending.sort(key=lambda item: item[1].start_time)  # parents start before their children
    for done, (target, run, run_dir) in enumerate(pending, start=1):
        try:
            exported[run.id] = _export_run(client, target, run, run_dir, exported, report)
            report.runs.append(run.id)
            report.exported[run.id] = exported[run.id]
        except (GitrunsError, OSError) as error:
            report.skip(f"run {run.id}", getattr(error, "message", None) or str(error))
        if progress is not None:
            progress(done, len(pending))
    if registry:
        _export_registry(client, workspace, exported, report)
    return report


def _experiment_into(client: Any, record: Any) -> str:
    found = client.get_experiment_by_name(record.name)
    if found is not None:
        return str(found.experiment_id)
    tags = dict(record.tags)
    if record.description:
        tags[system_tags.NOTE] = record.description
    experiment_id = str(client.create_experiment(record.name, tags=tags or None))
    if record.lifecycle_stage != ACTIVE:
        client.delete_experiment(experiment_id)
    return experiment_id


def _exported_runs(client: Any, experiment_id: str) -> dict[str, str]:
    """The gitruns ids an MLflow experiment holds already: exported, or its own."""
    from mlflow.entities import ViewType

    known = {}
    runs = pages(
        lambda token: client.search_runs(
            [experiment_id], run_view_type=ViewType.ALL, max_results=PAGE_SIZE, page_token=token
        )
    )
    for run in runs:
        known[run.data.tags.get(EXPORTED_ID_TAG) or run.info.run_id] = run.info.run_id
    return known


def _export_run(
    client: Any,
    experiment_id: str,
    record: RunRecord,
    run_dir: Path,
    exported: dict[str, str],
    report: ExportReport,
) -> str:
    from mlflow.entities import Metric, Param

    own = {key: value for key, value in record.tags.items() if key != IMPORTED_TAG}
    tags = {**record_tags(record), **own, EXPORTED_ID_TAG: record.id}
    if record.parent:
        tags[system_tags.PARENT_RUN_ID] = exported.get(record.parent, record.parent)
    run = client.create_run(
        experiment_id, start_time=record.start_time, tags=tags, run_name=record.name
    )
    run_id = run.info.run_id
    params = [Param(key, value) for key, value in record.params.items()]
    for start in range(0, len(params), MAX_BATCH_PARAMS):
        client.log_batch(run_id, params=params[start : start + MAX_BATCH_PARAMS])
    metrics = [
        Metric(key, value, timestamp, step)
        for key, history in read_histories(run_dir, record.schema).items()
        for timestamp, step, value in history
    ]
    for start in range(0, len(metrics), MAX_BATCH_METRICS):
        client.log_batch(run_id, metrics=metrics[start : start + MAX_BATCH_METRICS])
    report.metric_points += len(metrics)
    inputs = dataset_inputs(record.inputs).dataset_inputs
    if inputs:
        client.log_inputs(run_id, datasets=[to_dataset_input(item) for item in inputs])
    report.artifact_files += _export_artifacts(client, run_id, run_dir / ARTIFACTS_DIR, report)
    if record.status != RUNNING:
        client.set_terminated(run_id, status=record.status, end_time=record.end_time)
    if record.lifecycle_stage != ACTIVE:
        client.delete_run(run_id)
    return str(run_id)


def _export_artifacts(client: Any, run_id: str, folder: Path, report: ExportReport) -> int:
    """Every regular file under ``folder``, at its place; links are left out (reported)."""
    if not folder.is_dir():
        return 0
    count = 0
    for parent, folders, names in os.walk(folder):
        here = Path(parent)
        for name in [*folders, *names]:
            if (here / name).is_symlink():
                report.skip(f"artifact {here / name}", "a link, not a file")
        folders[:] = [name for name in folders if not (here / name).is_symlink()]
        relative = here.relative_to(folder).as_posix()
        for name in names:
            path = here / name
            if path.is_symlink() or not path.is_file():
                continue
            client.log_artifact(run_id, str(path), None if relative == "." else relative)
            count += 1
    return count


# -- the registry -----------------------------------------------------------------------


def _export_registry(
    client: Any, workspace: Workspace, exported: dict[str, str], report: ExportReport
) -> None:
    if workspace.repo_top is None:
        return  # no git, no registry
    for model in workspace.registry.models().values():
        if model.deprecated:
            continue
        try:
            _export_model(client, model, exported, report)
        except GitrunsError as error:
            report.skip(f"registered model {model.name!r}", error.message)


def _export_model(client: Any, model: Any, exported: dict[str, str], report: ExportReport) -> None:
    from mlflow.exceptions import MlflowException

    from gitruns.registry.tags import version_number

    try:
        client.get_registered_model(model.name)
    except MlflowException:
        client.create_registered_model(
            model.name, tags=model.tags or None, description=model.description or None
        )
    quote = "'" if "'" not in model.name else '"'
    there = {
        int(version.version)
        for version in client.search_model_versions(f"name={quote}{model.name}{quote}")
    }
    highest = max(there, default=0)
    for state in sorted(model.versions.values(), key=lambda v: version_number(v.version)):
        number = version_number(state.version)
        if number <= highest:
            continue  # MLflow numbers only upwards: what is at or below its newest is there
        run_id = exported.get(state.run_id or "")
        if run_id is None:
            report.skip(f"{model.name} version {number}", "its run was not exported")
            return
        for gap in range(highest + 1, number):  # versions deleted before this one
            client.create_model_version(model.name, f"runs:/{run_id}/{state.path}", run_id)
            client.delete_model_version(model.name, str(gap))
        created = client.create_model_version(
            model.name,
            f"runs:/{run_id}/{state.path}",
            run_id,
            tags=state.tags or None,
            description=state.description or None,
        )
        highest = int(created.version)
        if state.deregistered:
            client.delete_model_version(model.name, created.version)
            continue
        if state.current_stage != "None":
            client.transition_model_version_stage(model.name, created.version, state.current_stage)
        for alias in state.aliases:
            client.set_registered_model_alias(model.name, alias, created.version)
        report.model_versions.append(f"{model.name} v{created.version}")
