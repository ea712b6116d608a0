"""The on-disk contract: a run's record and files, and how they are written.

::

    runs/<experiment>/experiment.yaml
    runs/<experiment>/<run-id>/run.yaml       the record (RunRecord)
    runs/<experiment>/<run-id>/metrics.tsv    histories (store.history; metrics.log while live)
    runs/<experiment>/<run-id>/code.diff      uncommitted changes at start
    runs/<experiment>/<run-id>/artifacts/...  logged files
    runs/_environments/<sha256>.txt           package lists (gitruns.store.environments)

Every write leaves a readable file at every instant: whole files are written
to a temporary name and renamed over the old one; metric logs only ever
grow by whole lines. Nothing stored is absolute, so a clone reads the same.

Schema 2 (this version) keeps a run in at most three files besides its
artifacts; schema 1 runs (a file per metric under ``metrics/``, a
``requirements.txt`` per run) are still read, and ``gitruns migrate`` rewrites them.
"""

from __future__ import annotations

import contextlib
import logging
import math
import os
import re
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

try:
    import fcntl
except ImportError:  # pragma: no cover - Windows
    fcntl = None  # type: ignore[assignment]

from gitruns import system_tags
from gitruns.exceptions import CorruptRecord, InvalidValue
from gitruns.utils.files import DEFAULT_MAX_BYTES, read_regular_file
from gitruns.utils.yamlcodec import (
    InvalidYaml,
    dump_yaml,
    emit_record_yaml,
    load_record_yaml,
)

logger = logging.getLogger(__name__)

# Schemas of run.yaml and its folder. 1: a file per metric, a package list per run;
# 2: metrics.tsv and runs/_environments/; 3: schema 2 with `inputs` (datasets the run read);
# 4: schema 3 with `data_files` (files the run read that git does not hold, with digests).
# A record is written at the lowest schema that holds it (3 only once it has inputs, 4 once
# it has data files), so a run without them stays readable by a gitruns that knows schema 2,
# and nothing migrates: 3 and 4 only add a field.
LAYOUT_SCHEMA = 2  # the current layout of a run's folder; older runs are migrated to it
INPUTS_SCHEMA = 3
DATA_FILES_SCHEMA = 4
SCHEMA_VERSION = DATA_FILES_SCHEMA  # the newest this gitruns reads and writes
EXPERIMENT_SCHEMA_VERSION = 1

RUN_FILE = "run.yaml"
EXPERIMENT_FILE = "experiment.yaml"
ARTIFACTS_DIR = "artifacts"
DIFF_FILE = "code.diff"
# Files in runs/ may come from a pull request: every read is bounded.
MAX_RECORD_BYTES = DEFAULT_MAX_BYTES
MAX_METRIC_FILE_BYTES = 512 * 1024 * 1024
# Names a writer gives its unfinished files; never committed, removed when stale.
LOCK_SUFFIX = ".lock"
RECORD_LOCK = f".{RUN_FILE}{LOCK_SUFFIX}"  # held while a writer merges and writes run.yaml

RUNNING, SCHEDULED, FINISHED, FAILED, KILLED = (
    "RUNNING",
    "SCHEDULED",
    "FINISHED",
    "FAILED",
    "KILLED",
)
STATUSES = (RUNNING, SCHEDULED, FINISHED, FAILED, KILLED)
TERMINAL_STATUSES = (FINISHED, FAILED, KILLED)
GOALS = ("minimize", "maximize")
ACTIVE, DELETED = "active", "deleted"  # MLflow's lifecycle stages: deleting is soft


@contextlib.contextmanager
def record_lock(run_dir: Path) -> Iterator[None]:
    """Hold the run's record lock (``.run.yaml.lock``) while a writer merges and writes.

    The same OS lock filelock takes (``flock``), so a writer using filelock excludes
    and is excluded alike, and the kernel releases it if its holder dies. Taken
    directly because filelock spends about 100 µs of Python on each cycle, and a
    run saves its record several times; this costs a few µs. The holder removes
    the file before letting go, so a finished run leaves no lock file behind; a
    writer that was waiting on the removed file sees that it is gone (or that the
    name is another file now) and takes the lock again on the new one. Where
    ``fcntl`` is missing (Windows), filelock does the work.
    """
    path = run_dir / RECORD_LOCK
    if fcntl is None:  # pragma: no cover - not POSIX
        import filelock  # only here: importing it costs every process 9 ms

        with filelock.FileLock(path, thread_local=False):
            yield
        return
    while True:
        try:
            descriptor = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC | os.O_NOFOLLOW, 0o644)
        except OSError as error:
            raise CorruptRecord(
                f"the run's lock file {path} cannot be opened ({error.strerror}); it should "
                "be a plain empty file that gitruns makes. Remove it and try again."
            ) from error
        fcntl.flock(descriptor, fcntl.LOCK_EX)
        try:
            current = os.stat(path, follow_symlinks=False).st_ino
        except FileNotFoundError:
            current = None
        if current == os.fstat(descriptor).st_ino:
            break  # the lock is ours, on the file that is there now
        os.close(descriptor)  # its holder removed it meanwhile: take it again
    try:
        yield
    finally:
        with contextlib.suppress(OSError):
            os.unlink(path)
        os.close(descriptor)  # closing releases the lock


def within_record_size(text: str, what: str) -> bytes:
    """``text`` as the bytes of a record, refused when readers would refuse the file
    (over :data:`MAX_RECORD_BYTES`): a write must never leave a record nobody can read."""
    data = text.encode("utf-8")
    if len(data) > MAX_RECORD_BYTES:
        raise InvalidValue(
            f"this change would make {what} {len(data):,} bytes, over the {MAX_RECORD_BYTES:,} "
            "a record may hold, so it was not written. Keep long text (notes, configs, "
            "reports) as an artifact (log_text, log_dict) and tag or param its name instead."
        )
    return data


_id_lock = threading.Lock()
_last_id = 0


def new_run_id() -> str:
    """A 32-hex run id: 48 bits of milliseconds since the epoch, then 80 random bits.

    Ids sort by start time, need no coordination, and two machines making a
    run in the same millisecond collide with odds of 2**-80. Within a process
    ids also strictly increase, so runs started in one millisecond keep their order.
    """
    global _last_id
    candidate = (now_ms() << 80) | int.from_bytes(os.urandom(10), "big")
    with _id_lock:
        if candidate <= _last_id:
            candidate = _last_id + 1
        _last_id = candidate
    return f"{candidate:032x}"


def iso_from_ms(ms: int) -> str:
    """``1732440000123`` -> ``'2024-11-24T09:20:00.123Z'``."""
    moment = datetime.fromtimestamp(ms / 1000, tz=timezone.utc)
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def ms_from_iso(text: str) -> int:
    moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    return round(moment.timestamp() * 1000)


@dataclass
class MetricSummary:
    """What a run's record keeps of one metric: its latest value and range.

    "Latest" is MLflow's: the value at the highest step, then the latest timestamp.
    NaN never becomes the minimum or maximum; ``min``/``max`` stay ``None``
    while every value logged is NaN.
    """

    last: float
    step: int
    timestamp: int
    min: float | None = None
    max: float | None = None

    @classmethod
    def first(cls, value: float, step: int, timestamp: int) -> MetricSummary:
        summary = cls(last=value, step=step, timestamp=timestamp)
        if not math.isnan(value):
            summary.min = summary.max = value
        return summary

    def update(self, value: float, step: int, timestamp: int) -> None:
        if (step, timestamp) >= (self.step, self.timestamp):
            self.last, self.step, self.timestamp = value, step, timestamp
        if value == value:  # not NaN
            if self.min is None or value < self.min:
                self.min = value
            if self.max is None or value > self.max:
                self.max = value

    def to_dict(self) -> dict[str, Any]:
        return {
            "last": self.last,
            "min": self.min,
            "max": self.max,
            "step": self.step,
            "timestamp": self.timestamp,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> MetricSummary:
        return cls(
            last=float(data["last"]),
            step=int(data.get("step", 0)),
            timestamp=int(data.get("timestamp", 0)),
            min=None if data.get("min") is None else float(data["min"]),
            max=None if data.get("max") is None else float(data["max"]),
        )


@dataclass
class RunRecord:
    """Everything ``run.yaml`` holds about one run.

    Times are milliseconds since the epoch in memory (MLflow's unit) and
    ISO 8601 UTC strings on disk (readable in a diff).
    """

    id: str
    experiment: str
    name: str
    start_time: int
    status: str = RUNNING
    end_time: int | None = None
    user: str | None = None
    parent: str | None = None
    description: str | None = None
    error: dict[str, str] | None = None
    source: dict[str, Any] = field(default_factory=dict)
    git: dict[str, Any] | None = None
    process: dict[str, Any] | None = None
    params: dict[str, str] = field(default_factory=dict)
    tags: dict[str, str] = field(default_factory=dict)
    metrics: dict[str, MetricSummary] = field(default_factory=dict)
    environment: dict[str, Any] = field(default_factory=dict)
    lifecycle_stage: str = ACTIVE
    inputs: list[dict[str, Any]] = field(default_factory=list)  # datasets read (schema 3)
    # files read that git does not hold: path, size, sha256 (schema 4)
    data_files: list[dict[str, Any]] = field(default_factory=list)
    schema: int = LAYOUT_SCHEMA

    @property
    def written_schema(self) -> int:
        """The lowest schema that holds this record (never below the one it was read at)."""
        needed = (
            DATA_FILES_SCHEMA if self.data_files else INPUTS_SCHEMA if self.inputs else self.schema
        )
        return max(self.schema, needed)

    def to_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "schema": self.written_schema,
            "id": self.id,
            "name": self.name,
            "experiment": self.experiment,
            "status": self.status,
            "start_time": iso_from_ms(self.start_time),
            "end_time": None if self.end_time is None else iso_from_ms(self.end_time),
        }
        if self.lifecycle_stage != ACTIVE:
            data["lifecycle_stage"] = self.lifecycle_stage
        optional = {
            "user": self.user,
            "parent": self.parent,
            "description": self.description,
            "error": self.error,
            "source": self.source,
            "git": self.git,
            "process": self.process,
        }
        data.update((key, value) for key, value in optional.items() if value)
        data["params"] = self.params
        data["tags"] = self.tags
        data["metrics"] = {key: summary.to_dict() for key, summary in self.metrics.items()}
        if self.inputs:
            data["inputs"] = self.inputs
        if self.data_files:
            data["data_files"] = self.data_files
        data["environment"] = self.environment
        return data

    def to_yaml(self) -> str:
        return emit_record_yaml(self.to_dict())

    @classmethod
    def from_dict(cls, data: Any, origin: str = "run.yaml") -> RunRecord:
        """Build a record from parsed YAML; :class:`CorruptRecord` names ``origin`` if it can't."""
        if not isinstance(data, dict):
            raise CorruptRecord(
                f"{origin} does not hold a run record (a YAML mapping). "
                "Restore it from git ('git checkout -- <file>') or remove the run's folder."
            )
        schema = data.get("schema", LAYOUT_SCHEMA)
        if isinstance(schema, int) and schema > SCHEMA_VERSION:
            raise CorruptRecord(
                f"{origin} was written by a newer gitruns (schema {schema}; this one reads up "
                f"to {SCHEMA_VERSION}). Upgrade gitruns: pip install --upgrade gitruns"
            )
        try:
            end_time = data.get("end_time")
            status = _text(data, "status", RUNNING)
            if status not in STATUSES:
                raise ValueError(f"status {status[:40]!r} is none of {', '.join(STATUSES)}")
            return cls(
                id=_text(data, "id"),
                experiment=_text(data, "experiment"),
                name=_text(data, "name"),
                start_time=ms_from_iso(_text(data, "start_time")),
                status=status,
                end_time=None if end_time is None else ms_from_iso(_text(data, "end_time")),
                user=_text(data, "user", None),
                parent=_text(data, "parent", None),
                description=_text(data, "description", None),
                error=_mapping(data, "error", None),
                source=_mapping(data, "source", {}),
                git=_mapping(data, "git", None),
                process=_mapping(data, "process", None),
                params=_texts(data, "params"),
                tags=_texts(data, "tags"),
                metrics={
                    str(k): MetricSummary.from_dict(v)
                    for k, v in _mapping(data, "metrics", {}).items()
                },
                environment=_mapping(data, "environment", {}),
                lifecycle_stage=_text(data, "lifecycle_stage", ACTIVE),
                inputs=[dict(item) for item in data.get("inputs") or []],
                data_files=[dict(item) for item in data.get("data_files") or []],
                schema=int(schema),
            )
        except (KeyError, TypeError, ValueError, AttributeError) as error:
            raise CorruptRecord(
                f"{origin} is not a valid run record ({type(error).__name__}: {error}). "
                "Run 'gitruns check' to see every problem, then restore the file from git."
            ) from error


_REQUIRED: Any = object()


def _text(data: dict[str, Any], key: str, default: Any = _REQUIRED) -> Any:
    """A record's field that holds text: a scalar, never a list or a mapping (a record
    from a branch may hold anything, and one bad field costs that record alone)."""
    value = data.get(key)
    if value is None:
        if default is _REQUIRED:
            raise KeyError(key)
        return default
    if isinstance(value, (dict, list)):
        raise TypeError(f"'{key}' holds a {type(value).__name__} where text belongs")
    return str(value)


def _mapping(data: dict[str, Any], key: str, default: Any) -> Any:
    value = data.get(key)
    if value is None:
        return default
    if not isinstance(value, dict):
        raise TypeError(f"'{key}' holds a {type(value).__name__} where a mapping belongs")
    return dict(value)


def _texts(data: dict[str, Any], key: str) -> dict[str, str]:
    """Params or tags: a mapping of text to text."""
    return {str(k): _text({str(k): v}, str(k), "") for k, v in _mapping(data, key, {}).items()}


def merge_record_dicts(
    base: dict[str, Any], mine: dict[str, Any], theirs: dict[str, Any]
) -> dict[str, Any]:
    """Three-way merge of a record's dicts: what this writer changed since ``base``,
    applied onto ``theirs`` (the file as another writer left it).

    Params and tags merge key by key (a tag this writer deleted stays deleted);
    a metric both logged keeps the later last value and the wider range; any
    other field this writer changed takes its value. Nothing either logged is lost.
    """
    merged = dict(theirs)
    for key in mine.keys() | base.keys():
        mine_value, base_value = mine.get(key), base.get(key)
        if key in ("params", "tags"):
            section = dict(theirs.get(key) or {})
            mine_items, base_items = mine_value or {}, base_value or {}
            for item in mine_items.keys() | base_items.keys():
                if item not in mine_items:
                    section.pop(item, None)
                elif base_items.get(item) != mine_items[item]:
                    section[item] = mine_items[item]
            merged[key] = section
        elif key == "inputs":  # datasets are only ever added: keep both writers' new ones
            inputs = list(theirs.get(key) or [])
            inputs += [item for item in mine_value or [] if item not in inputs]
            merged[key] = inputs
        elif key == "data_files" and mine_value != base_value:  # by path, this writer's last
            files = {item.get("path"): item for item in theirs.get(key) or []}
            files.update((item.get("path"), item) for item in mine_value or [])
            merged[key] = [files[path] for path in sorted(files, key=str)]
        elif key == "metrics":
            section = dict(theirs.get(key) or {})
            for item, summary in (mine_value or {}).items():
                if (base_value or {}).get(item) != summary:
                    section[item] = _merge_summaries(section.get(item), summary)
            merged[key] = section
        elif mine_value != base_value:
            if key in mine:
                merged[key] = mine_value
            else:
                merged.pop(key, None)
    return merged


def _merge_summaries(theirs: dict[str, Any] | None, mine: dict[str, Any]) -> dict[str, Any]:
    if not isinstance(theirs, dict):
        return mine
    try:
        later = (
            mine
            if (mine["step"], mine["timestamp"]) >= (theirs["step"], theirs["timestamp"])
            else theirs
        )
        lows = [value for value in (mine.get("min"), theirs.get("min")) if value is not None]
        highs = [value for value in (mine.get("max"), theirs.get("max")) if value is not None]
    except (KeyError, TypeError):
        return mine
    return {**later, "min": min(lows, default=None), "max": max(highs, default=None)}


_SCHEMA_LINE = re.compile(rb"\Aschema: ([0-9]+)\n")


def run_schema(run_dir: Path) -> int:
    """A run's schema version, from the first line of ``run.yaml`` where gitruns writes it
    (a wide run's record is large; this does not parse it), else from the whole record."""
    try:
        head = read_regular_file(run_dir / RUN_FILE)[:64]
    except (OSError, CorruptRecord):
        head = b""  # the whole read says what is wrong
    found = _SCHEMA_LINE.match(head)
    return int(found.group(1)) if found else read_run_record(run_dir).schema


def read_run_record(run_dir: Path) -> RunRecord:
    """Read ``run_dir/run.yaml``; :class:`CorruptRecord` when it is missing or unreadable."""
    path = run_dir / RUN_FILE
    try:
        text = read_regular_file(path)
    except FileNotFoundError as error:
        raise CorruptRecord(
            f"{path} is missing: {run_dir} is not a run folder. Remove the folder if it is stray."
        ) from error
    return parse_run_record(text, path)


def parse_run_record(text: bytes, path: Path | str) -> RunRecord:
    """The record in ``text``, read from ``path`` (``<experiment>/<run-id>/run.yaml``).

    A record must live in the folder its id and experiment name: paths are only
    ever built from folder names, and a record that claims another place (say
    ``id: ../../victim``) is refused rather than trusted.
    """
    try:
        data = load_record_yaml(text)
    except InvalidYaml as error:
        raise CorruptRecord(
            f"{path} is not valid YAML ({error}). Restore it from git or remove the run's folder."
        ) from error
    record = RunRecord.from_dict(data, origin=str(path))
    run_folder, experiment_folder = _folder_names(path)
    if record.id != run_folder or record.experiment != experiment_folder:
        raise CorruptRecord(
            f"{path} says it is run {record.id[:40]!r} of experiment {record.experiment[:40]!r}, "
            f"but it lives in {experiment_folder}/{run_folder}/. A record must live in the "
            "folder named by its id: restore it from git, or remove the run's folder."
        )
    return record


def _folder_names(record_path: Path | str) -> tuple[str, str]:
    parts = Path(record_path).parts
    return (parts[-2] if len(parts) > 1 else "", parts[-3] if len(parts) > 2 else "")


@dataclass
class ExperimentRecord:
    """``experiment.yaml``: the same bytes on every branch that creates the experiment.

    Nothing here depends on when or where it was made, which is what lets two
    branches add the same new experiment and merge without a conflict.
    """

    name: str
    description: str | None = None
    primary_metric: str | None = None
    goal: str | None = None
    lifecycle_stage: str = ACTIVE
    tags: dict[str, str] = field(default_factory=dict)  # MLflow's experiment tags
    artifact_location: str | None = None  # as given to create_experiment; kept, not used

    def to_yaml(self) -> str:
        data: dict[str, Any] = {"schema": EXPERIMENT_SCHEMA_VERSION, "name": self.name}
        for key in ("description", "primary_metric", "goal", "artifact_location"):
            value = getattr(self, key)
            if value is not None:
                data[key] = value
        if self.tags:
            data["tags"] = dict(sorted(self.tags.items()))
        if self.lifecycle_stage != ACTIVE:
            data["lifecycle_stage"] = self.lifecycle_stage
        return dump_yaml(data)

    @classmethod
    def read(cls, path: Path) -> ExperimentRecord:
        try:
            data = load_record_yaml(read_regular_file(path))
        except InvalidYaml as error:
            raise CorruptRecord(
                f"{path} is not valid YAML ({error}). Restore it from git."
            ) from error
        if not isinstance(data, dict) or data.get("name") is None:
            raise CorruptRecord(
                f"{path} does not name its experiment (a 'name:' line is needed). "
                "Restore it from git."
            )
        try:
            goal = _text(data, "goal", None)
            if goal is not None and goal not in GOALS:
                raise ValueError(f"goal {goal[:40]!r} is neither {' nor '.join(GOALS)}")
            return cls(
                name=_text(data, "name"),
                description=_text(data, "description", None),
                primary_metric=_text(data, "primary_metric", None),
                goal=goal,
                lifecycle_stage=_text(data, "lifecycle_stage", ACTIVE),
                tags=_texts(data, "tags"),
                artifact_location=_text(data, "artifact_location", None) or None,
            )
        except (KeyError, TypeError, ValueError) as error:
            raise CorruptRecord(
                f"{path} is not a valid experiment record ({error}). Restore it from git "
                "('git checkout -- <file>')."
            ) from error


def record_tags(record: RunRecord) -> dict[str, str]:
    """The ``mlflow.*`` tags MLflow sets itself, derived from the record.

    A run MLflow itself made (through the ``gitruns:`` store) carries the source tags
    MLflow's own context gave it; then no others are derived, so MLflow reads back the
    tags it wrote (the record's own capture stays in ``run.yaml``)."""
    git = {} if system_tags.SOURCE_TYPE in record.tags else (record.git or {})
    source = {} if system_tags.SOURCE_TYPE in record.tags else record.source
    candidates = {
        system_tags.RUN_NAME: record.name,
        system_tags.USER: record.user,
        system_tags.SOURCE_TYPE: source.get("type"),
        system_tags.SOURCE_NAME: source.get("entry_point"),
        system_tags.GIT_COMMIT: git.get("commit"),
        system_tags.GIT_BRANCH: git.get("branch"),
        system_tags.GIT_REPO_URL: git.get("remote"),
        system_tags.PARENT_RUN_ID: record.parent,
        system_tags.NOTE: record.description,
    }
    return {key: str(value) for key, value in candidates.items() if value is not None}


def now_ms() -> int:
    return int(time.time() * 1000)
