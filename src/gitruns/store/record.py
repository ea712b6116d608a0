"""The on-disk contract: the names, states and limits of the runs folder, how files in
it are written, and an experiment's record. A run's record is
:mod:`gitruns.store.run_record`.

::

    runs/<experiment>/experiment.yaml         the experiment (ExperimentRecord)
    runs/<experiment>/<run-id>/run.yaml       the run (run_record.RunRecord)
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
import os
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

from gitruns.exceptions import CorruptRecord, InvalidValue
from gitruns.utils.files import DEFAULT_MAX_BYTES, read_regular_file
from gitruns.utils.yamlcodec import (
    InvalidYaml,
    dump_yaml,
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
MINIMIZE, MAXIMIZE = "minimize", "maximize"  # an experiment's goal for its primary metric
GOALS = (MINIMIZE, MAXIMIZE)
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
        except FileNotFoundError as error:
            raise CorruptRecord(
                f"the folder {run_dir} is gone (removed, or moved, while gitruns was writing "
                "in it): its record cannot be written. Restore the folder, or start again "
                "in a new run."
            ) from error
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


_REQUIRED: Any = object()


def text_field(data: dict[str, Any], key: str, default: Any = _REQUIRED) -> Any:
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


def mapping_field(data: dict[str, Any], key: str, default: Any) -> Any:
    value = data.get(key)
    if value is None:
        return default
    if not isinstance(value, dict):
        raise TypeError(f"'{key}' holds a {type(value).__name__} where a mapping belongs")
    return dict(value)


def texts_field(data: dict[str, Any], key: str) -> dict[str, str]:
    """Params or tags: a mapping of text to text."""
    return {
        str(k): text_field({str(k): v}, str(k), "") for k, v in mapping_field(data, key, {}).items()
    }


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
            goal = text_field(data, "goal", None)
            if goal is not None and goal not in GOALS:
                raise ValueError(f"goal {goal[:40]!r} is neither {' nor '.join(GOALS)}")
            return cls(
                name=text_field(data, "name"),
                description=text_field(data, "description", None),
                primary_metric=text_field(data, "primary_metric", None),
                goal=goal,
                lifecycle_stage=text_field(data, "lifecycle_stage", ACTIVE),
                tags=texts_field(data, "tags"),
                artifact_location=text_field(data, "artifact_location", None) or None,
            )
        except (KeyError, TypeError, ValueError) as error:
            raise CorruptRecord(
                f"{path} is not a valid experiment record ({error}). Restore it from git "
                "('git checkout -- <file>')."
            ) from error


def now_ms() -> int:
    return int(time.time() * 1000)
