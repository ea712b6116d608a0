"""MLflow's entity classes, as code written for MLflow reads them.

``run.info.run_id``, ``run.data.metrics``, ``experiment.experiment_id`` and
friends, built from gitruns' records. ``run.data.tags`` includes the
``mlflow.*`` system tags MLflow would have set (run name, user, source, git
commit, parent run), derived from the record rather than stored twice.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import TYPE_CHECKING, Any

from gitruns import system_tags

# MLflow's entities module offers these too: code written for MLflow imports them from here.
from gitruns.listing import LifecycleStage as LifecycleStage
from gitruns.listing import PagedList as PagedList
from gitruns.listing import ViewType as ViewType
from gitruns.listing import page_of as page_of
from gitruns.store.index import RunEntry
from gitruns.store.names import public_experiment_id
from gitruns.store.record import (
    ARTIFACTS_DIR,
    EXPERIMENT_FILE,
    STATUSES,
    TERMINAL_STATUSES,
    ExperimentRecord,
)
from gitruns.store.run_record import RunRecord, record_tags

if TYPE_CHECKING:
    from gitruns.store.writer import LiveRun


class _Fields:
    """Iterating over an entity yields ``(field, value)`` pairs, as MLflow's entities do,
    so ``dict(run.info)`` works."""

    def __iter__(self) -> Iterator[tuple[str, Any]]:
        for item in fields(self):  # type: ignore[arg-type]
            yield item.name, getattr(self, item.name)


class RunStatus:
    """A run's status names, as MLflow spells them."""

    RUNNING = "RUNNING"
    SCHEDULED = "SCHEDULED"
    FINISHED = "FINISHED"
    FAILED = "FAILED"
    KILLED = "KILLED"

    @staticmethod
    def all_status() -> list[str]:
        return list(STATUSES)

    @staticmethod
    def is_terminated(status: str) -> bool:
        return status in TERMINAL_STATUSES

    @staticmethod
    def to_string(status: str) -> str:
        return status

    @staticmethod
    def from_string(status: str) -> str:
        return status


class SourceType:
    NOTEBOOK = "NOTEBOOK"
    JOB = "JOB"
    PROJECT = "PROJECT"
    LOCAL = "LOCAL"
    UNKNOWN = "UNKNOWN"


@dataclass(frozen=True)
class Metric(_Fields):
    key: str
    value: float
    timestamp: int
    step: int
    # MLflow 3's: the logged model a value is about, the data it was measured on
    model_id: str | None = None
    dataset_name: str | None = None
    dataset_digest: str | None = None
    run_id: str | None = None


@dataclass(frozen=True)
class Param(_Fields):
    key: str
    value: str


@dataclass(frozen=True)
class RunTag(_Fields):
    key: str
    value: str


@dataclass
class RunInfo(_Fields):
    run_id: str
    experiment_id: str
    run_name: str
    user_id: str | None
    status: str
    start_time: int
    end_time: int | None
    artifact_uri: str
    lifecycle_stage: str = LifecycleStage.ACTIVE

    @property
    def run_uuid(self) -> str:
        return self.run_id


@dataclass
class RunData(_Fields):
    metrics: dict[str, float] = field(default_factory=dict)
    params: dict[str, str] = field(default_factory=dict)
    tags: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Dataset(_Fields):
    """A dataset a run read, as MLflow records it: source, schema and profile are JSON."""

    name: str
    digest: str
    source_type: str
    source: str
    schema: str | None = None
    profile: str | None = None


@dataclass(frozen=True)
class InputTag(_Fields):
    key: str
    value: str


@dataclass
class DatasetInput(_Fields):
    dataset: Dataset
    tags: list[InputTag] = field(default_factory=list)


@dataclass
class RunInputs(_Fields):
    dataset_inputs: list[DatasetInput] = field(default_factory=list)


CONTEXT_TAG = system_tags.DATASET_CONTEXT  # MLflow's input tag for training, validation…


def dataset_inputs(inputs: list[dict[str, Any]]) -> RunInputs:
    """MLflow's view of the ``inputs`` a record holds."""
    entries = []
    for item in inputs:
        tags = [InputTag(str(k), str(v)) for k, v in (item.get("tags") or {}).items()]
        if item.get("context"):  # last, where MLflow's log_input puts it
            tags.append(InputTag(CONTEXT_TAG, str(item["context"])))
        dataset = Dataset(
            name=str(item.get("name", "")),
            digest=str(item.get("digest", "")),
            source_type=str(item.get("source_type", "")),
            source=str(item.get("source", "")),
            schema=item.get("schema"),
            profile=item.get("profile"),
        )
        entries.append(DatasetInput(dataset, tags))
    return RunInputs(entries)


@dataclass
class Run(_Fields):
    info: RunInfo
    data: RunData
    inputs: RunInputs = field(default_factory=RunInputs)

    def to_dictionary(self) -> dict[str, Any]:
        return {"info": vars(self.info).copy(), "data": vars(self.data).copy()}


@dataclass
class Experiment(_Fields):
    experiment_id: str
    name: str
    artifact_location: str
    lifecycle_stage: str = LifecycleStage.ACTIVE
    tags: dict[str, str] = field(default_factory=dict)
    creation_time: int | None = None
    last_update_time: int | None = None


@dataclass(frozen=True)
class FileInfo(_Fields):
    """An artifact: its path inside the run's artifacts, and its size when it is a file."""

    path: str
    is_dir: bool
    file_size: int | None


@dataclass
class ModelVersion(_Fields):
    """A registered model's version, as MLflow's client returns it."""

    name: str
    version: int | str  # MLflow's integer; a GTO version like v1.2.3 keeps its text "1.2.3"
    creation_timestamp: int
    last_updated_timestamp: int
    current_stage: str = "None"
    description: str = ""
    user_id: str | None = None
    source: str | None = None
    run_id: str | None = None
    status: str = "READY"
    run_link: str | None = None
    aliases: list[str] = field(default_factory=list)
    tags: dict[str, str] = field(default_factory=dict)


@dataclass
class RegisteredModel(_Fields):
    """A registered model, as MLflow's client returns it."""

    name: str
    creation_timestamp: int
    last_updated_timestamp: int
    description: str = ""
    latest_versions: list[ModelVersion] = field(default_factory=list)
    aliases: dict[str, int | str] = field(default_factory=dict)  # alias -> version
    tags: dict[str, str] = field(default_factory=dict)


@dataclass
class LoggedModel(_Fields):
    """A logged model (MLflow 3's LoggedModel): ``artifacts/<name>/`` of the run that
    logged it, or a folder of its own under its experiment's ``models/``."""

    model_id: str
    name: str
    experiment_id: str
    source_run_id: str | None
    artifact_location: str
    creation_timestamp: int
    last_updated_timestamp: int
    status: str = "READY"  # PENDING until its MLmodel file is written (or finalized)
    tags: dict[str, str] = field(default_factory=dict)
    params: dict[str, str] = field(default_factory=dict)
    model_type: str | None = None
    metrics: list[Metric] | None = None

    @property
    def model_uri(self) -> str:
        return f"models:/{self.model_id}"


def make_run(
    record: RunRecord | Any, run_dir: Path, metrics: dict[str, float], tags: dict[str, str]
) -> Run:
    """A :class:`Run` from anything with a record's fields (a record, or an index entry)."""
    info = RunInfo(
        run_id=record.id,
        experiment_id=public_experiment_id(record.experiment),
        run_name=record.name,
        user_id=record.user,
        status=record.status,
        start_time=record.start_time,
        end_time=record.end_time,
        artifact_uri=(run_dir / ARTIFACTS_DIR).absolute().as_uri(),
        lifecycle_stage=record.lifecycle_stage,
    )
    return Run(info=info, data=RunData(metrics=metrics, params=dict(record.params), tags=tags))


def run_from_record(record: RunRecord, run_dir: Path) -> Run:
    metrics = {key: summary.last for key, summary in record.metrics.items()}
    run = make_run(record, run_dir, metrics, {**record_tags(record), **record.tags})
    run.inputs = dataset_inputs(record.inputs)
    return run


def experiment_from_record(
    experiment_id: str, record: ExperimentRecord, folder: Path
) -> Experiment:
    tags: dict[str, str] = dict(record.tags)
    if record.description:
        tags[system_tags.NOTE] = record.description
    # experiment.yaml holds no time (the same bytes on every branch): its file keeps the
    # time it was made in this clone, which stands for both; Default, before anything
    # made its folder, has none.
    try:
        changed: int | None = int((folder / EXPERIMENT_FILE).stat().st_mtime * 1000)
    except OSError:
        changed = None
    return Experiment(
        experiment_id=public_experiment_id(experiment_id),
        name=record.name,
        artifact_location=record.artifact_location or folder.absolute().as_uri(),
        lifecycle_stage=record.lifecycle_stage,
        tags=tags,
        creation_time=changed,
        last_update_time=changed,
    )


def run_from_entry(entry: RunEntry, run_dir: Path) -> Run:
    """MLflow's entity for a search index entry, the same :func:`run_from_record` makes."""
    return make_run(entry, run_dir, dict(entry.metrics), dict(entry.tags))


def run_from_live(live: LiveRun) -> Run:
    """MLflow's entity for a run this process writes, as it stands now."""
    with live.lock:
        return run_from_record(live.record, live.run_dir)
