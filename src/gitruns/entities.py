"""MLflow's entity classes, as code written for MLflow reads them.

``run.info.run_id``, ``run.data.metrics``, ``experiment.experiment_id`` and
friends, built from gitruns' records. ``run.data.tags`` includes the
``mlflow.*`` system tags MLflow would have set (run name, user, source, git
commit, parent run), derived from the record rather than stored twice.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import TYPE_CHECKING, Any, Generic, TypeVar

from gitruns import system_tags
from gitruns.exceptions import InvalidValue
from gitruns.store.index import RunEntry
from gitruns.store.names import public_experiment_id
from gitruns.store.record import (
    ARTIFACTS_DIR,
    EXPERIMENT_FILE,
    STATUSES,
    TERMINAL_STATUSES,
    ExperimentRecord,
    RunRecord,
    record_tags,
)

if TYPE_CHECKING:
    import pandas

    from gitruns.query.search import ColumnRow
    from gitruns.store.index import ExperimentIndex
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


class ViewType:
    """Which runs or experiments a search returns: live ones, deleted ones, or all."""

    ACTIVE_ONLY = 1
    DELETED_ONLY = 2
    ALL = 3

    @classmethod
    def from_string(cls, name: str) -> int:
        return {"ACTIVE_ONLY": 1, "DELETED_ONLY": 2, "ALL": 3}[name.upper()]

    @classmethod
    def to_string(cls, view_type: int) -> str:
        return {1: "ACTIVE_ONLY", 2: "DELETED_ONLY", 3: "ALL"}[view_type]

    @classmethod
    def includes(cls, view_type: int, lifecycle_stage: str) -> bool:
        """Whether a run or experiment in ``lifecycle_stage`` belongs to this view."""
        if view_type == cls.ALL:
            return True
        if view_type == cls.DELETED_ONLY:
            return lifecycle_stage == LifecycleStage.DELETED
        if view_type == cls.ACTIVE_ONLY:
            return lifecycle_stage != LifecycleStage.DELETED
        raise InvalidValue(
            f"view type {view_type!r} is not one of ViewType.ACTIVE_ONLY, DELETED_ONLY or ALL."
        )

    @classmethod
    def stages(cls, view_type: int) -> frozenset[str]:
        """The lifecycle stages this view shows."""
        return frozenset(
            stage
            for stage in (LifecycleStage.ACTIVE, LifecycleStage.DELETED)
            if cls.includes(view_type, stage)
        )


class LifecycleStage:
    ACTIVE = "active"
    DELETED = "deleted"


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


T = TypeVar("T")


class PagedList(list[T], Generic[T]):
    """A page of results; ``token`` fetches the next page, None on the last."""

    def __init__(self, items: list[T], token: str | None) -> None:
        super().__init__(items)
        self.token = token


def page_of(items: list[T], max_results: int | None, page_token: str | None) -> PagedList[T]:
    """The page of ``items`` that ``page_token`` (None: the first) points to, at most
    ``max_results`` long, with the token of the next page."""
    start = _offset(page_token)
    if max_results is None:
        return PagedList(items[start:], None)
    if isinstance(max_results, bool) or not isinstance(max_results, int) or max_results < 1:
        raise InvalidValue(f"max_results must be a positive integer, got {max_results!r}.")
    end = start + max_results
    return PagedList(items[start:end], _page_token(end) if end < len(items) else None)


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


# A page under this share of its experiment's runs is read from their entries (a few
# lines of the index); a larger one column by column.
ENTRY_PAGE_SHARE = 10
FRAME_ATTRIBUTES = ("status", "start_time", "end_time")


def runs_frame(rows: Sequence[ColumnRow]) -> pandas.DataFrame:
    """MLflow's ``search_runs`` frame for search rows, read from the search index (no
    run's record is read): run_id, experiment_id, status, artifact_uri, start_time,
    end_time, then ``metrics.*``, ``params.*`` and ``tags.*`` for the keys the rows' runs
    have, each group sorted by name. Values a run lacks are what MLflow gives: NaN for a
    metric, None for a param or tag (which pandas 3's text columns show as NaN)."""
    import numpy
    import pandas as pd

    # Consecutive rows of one experiment's index, read together.
    groups: list[tuple[ExperimentIndex, list[int]]] = []
    for row in rows:
        if not groups or groups[-1][0] is not row.index:
            groups.append((row.index, []))
        groups[-1][1].append(row.position)
    parts = [(positions, _fields_at(index, positions)) for index, positions in groups]

    def gather(field: str) -> list[Any]:
        values: list[Any] = []
        for positions, found in parts:
            values += found.get(field) or [None] * len(positions)
        return values

    frame: dict[str, Any] = {"run_id": [], "experiment_id": []}
    uris: list[str] = []
    for index, positions in groups:
        base = Path(index.experiment_dir).absolute().as_uri()
        names = [index.names[p] for p in positions]
        frame["run_id"] += names
        frame["experiment_id"] += [public_experiment_id(index.experiment_id)] * len(positions)
        # A run's folder is named by its id: 32 hex digits, nothing to quote in a URI.
        uris += [f"{base}/{name}/{ARTIFACTS_DIR}" for name in names]
    frame["status"] = gather("status")
    frame["artifact_uri"] = uris
    frame["start_time"] = pd.to_datetime(gather("start_time"), unit="ms", utc=True)
    frame["end_time"] = pd.to_datetime(gather("end_time"), unit="ms", utc=True)
    keyed = {name for _, found in parts for name in found if "." in name}
    for prefix in ("metrics.", "params.", "tags."):
        for name in sorted(name for name in keyed if name.startswith(prefix)):
            values = gather(name)
            # Metrics are a float column: NaN where a run lacks one, not None.
            frame[name] = numpy.array(values, float) if prefix == "metrics." else values
    return pd.DataFrame(frame)


def _fields_at(index: ExperimentIndex, positions: list[int]) -> dict[str, list[Any]]:
    """The frame's attributes and each ``metrics.``, ``params.`` and ``tags.`` field some
    run at ``positions`` has, a value per run (None where a run lacks it)."""
    count = len(positions)
    found: dict[str, list[Any]] = {}
    if count * ENTRY_PAGE_SHARE < len(index.names):  # a page of a large experiment
        for at, item in enumerate(index.entries_at(positions)):
            if item is None:
                continue
            entry = item[0]
            for name in FRAME_ATTRIBUTES:
                found.setdefault(name, [None] * count)[at] = getattr(entry, name)
            keyed: tuple[tuple[str, dict[str, Any]], ...] = (
                ("metrics.", entry.metrics),
                ("params.", entry.params),
                ("tags.", entry.tags),
            )
            for prefix, pairs in keyed:
                for key, value in pairs.items():
                    found.setdefault(prefix + key, [None] * count)[at] = value
        return found
    for name in FRAME_ATTRIBUTES:
        column = index.column("attribute", name)
        found[name] = [column[p] for p in positions] if column else [None] * count
    for kind, prefix in (("metric", "metrics."), ("param", "params."), ("tag", "tags.")):
        for key in index.keys(kind):
            column = index.column(kind, key)
            values = [column[p] for p in positions] if column else []
            if any(value is not None for value in values):
                found[prefix + key] = values
    return found
