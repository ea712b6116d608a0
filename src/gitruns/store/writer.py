"""A run being written: its record in memory, its folder on disk, and how it ends.

A :class:`LiveRun` rewrites ``run.yaml`` atomically whenever params or tags
change; metric lines are buffered and appended by one background thread at
least twice a second, and at the end of the run. Whatever way the process
ends, its open runs end with a status that tells the truth: FINISHED at a
normal exit, FAILED on an uncaught exception, KILLED on Ctrl-C or SIGTERM.
A process killed outright leaves its record RUNNING, and readers see it as
KILLED once the process is gone (:func:`gitruns.store.observe`).
"""

from __future__ import annotations

import copy
import logging
import os
import shutil
import threading
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from gitruns import once, system_tags
from gitruns.exceptions import (
    GitrunsError,
    InvalidPath,
    InvalidValue,
    ParamConflict,
    RunAlreadyActive,
)
from gitruns.location import Location, warn_if_untracked
from gitruns.redact import public_text
from gitruns.store.capture import capture_environment, capture_git, capture_source, current_user
from gitruns.store.environments import store_requirements
from gitruns.store.folder import RunStore
from gitruns.store.history import MetricLog, fold_log
from gitruns.store.index import ensure_ignore_file
from gitruns.store.migrate import migrate_run
from gitruns.store.names import (
    MAX_PARAM_VALUE_LENGTH,
    MAX_TAG_VALUE_LENGTH,
    as_text,
    check_key,
    check_relative_path,
    check_text_name,
    random_run_name,
)
from gitruns.store.reads import data_files, input_sources
from gitruns.store.record import (
    ARTIFACTS_DIR,
    DIFF_FILE,
    KILLED,
    LAYOUT_SCHEMA,
    RUN_FILE,
    RUNNING,
    new_run_id,
    now_ms,
    record_lock,
    within_record_size,
)
from gitruns.store.run_record import MetricSummary, RunRecord, merge_record_dicts
from gitruns.store.session import flusher, live_runs
from gitruns.utils.files import read_regular_file, temporary_path, write_atomic
from gitruns.utils.git import find_repo_top, run_git
from gitruns.utils.processes import current_process
from gitruns.utils.yamlcodec import emit_record_yaml, load_record_yaml

logger = logging.getLogger(__name__)

MAX_PENDING_METRIC_LINES = 10_000


# -- values -------------------------------------------------------------------------


def as_metric_value(key: str, value: object) -> float:
    kind = type(value)
    if kind is float:
        return value  # type: ignore[return-value]
    if kind is int:
        return float(value)  # type: ignore[arg-type]
    if value is None or isinstance(value, (str, bytes)):
        raise InvalidValue(
            f"Invalid value \"{str(value)[:200]}\" for parameter 'value' supplied. Please "
            f"specify value as a valid double (64-bit floating point): metric {key!r} got a "
            f"{type(value).__name__}. Log float(value) for a number; text with set_tag or "
            "log_text."
        )
    try:
        return float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError) as error:
        raise InvalidValue(
            f"Invalid value \"{str(value)[:200]}\" for parameter 'value' supplied. Please "
            f"specify value as a valid double (64-bit floating point): metric {key!r} got a "
            f"{type(value).__name__}. Log one number per call (e.g. value.item() for a "
            "one-element array)."
        ) from error


def as_integer(name: str, value: object) -> int:
    if isinstance(value, bool) or not hasattr(value, "__index__"):
        raise InvalidValue(
            f"{name} must be an integer, got {type(value).__name__} {value!r}. Pass int(...)."
        )
    return int(value)  # type: ignore[call-overload]


def _local_source(local_path: str | os.PathLike[str]) -> Path:
    source = Path(local_path)
    if not source.exists():
        raise InvalidPath(
            f"cannot log {os.fspath(local_path)!r}: no such file or folder. Check the path "
            f"(relative paths start from {Path.cwd()})."
        )
    return source


def _join(artifact_path: str | None, name: str) -> str:
    if artifact_path is None or artifact_path in ("", "."):
        return name
    return f"{check_relative_path(artifact_path)}/{name}"


def _snapshot(data: dict[str, Any]) -> dict[str, Any]:
    """A copy of a record's dict that later changes to the record cannot reach (its
    sections are the record's own dicts; their values are scalars or fresh dicts)."""
    return {key: dict(value) if isinstance(value, dict) else value for key, value in data.items()}


def _signature(path: Path) -> tuple[int, int, int] | None:
    try:
        status = os.stat(path)
    except OSError:
        return None
    return (status.st_ino, status.st_size, status.st_mtime_ns)


# An artifact this large is worth Git LFS: git keeps every version of every file forever.
LARGE_ARTIFACT_BYTES = 10 * 1024 * 1024


def warn_if_large(path: Path) -> None:
    """Warn once per repository when a large artifact would go into git itself, with the
    command that sends such files to Git LFS instead."""
    try:
        size = path.stat().st_size
    except OSError:
        return
    if size < LARGE_ARTIFACT_BYTES:
        return
    top = find_repo_top(path.parent)
    if top is None or not once.first_time(("large artifact", top)):
        return
    relative = path.resolve().relative_to(top.resolve()).as_posix()
    answer = run_git(["check-attr", "filter", "--", relative], top, check=False).decode()
    if answer.strip().endswith(": lfs"):
        return
    logger.warning(
        "%s is %.0f MB, and git keeps every version of every file it commits. Run "
        "'gitruns init --lfs' to store the runs' model and data files in Git LFS.",
        relative,
        size / 1e6,
    )


class LiveRun:
    """A run this process writes to: its record in memory and its folder on disk."""

    def __init__(self, record: RunRecord, run_dir: Path, *, owned: bool) -> None:
        self.record = record
        self.run_dir = run_dir
        # An owned run was started or resumed here and is ended here; otherwise
        # this process only adds to a run (e.g. logging to a finished run by id).
        self.owned = owned
        self.metric_log = MetricLog(run_dir)
        # Re-entrant: the SIGTERM handler ends runs in the main thread, which may
        # be inside one of this run's methods, holding the lock, at that moment.
        self._lock = threading.RLock()
        # Other processes (or clients) may write this run too: each save merges what
        # this writer changed into the file as it is now, under an OS lock.
        self._synced: dict[str, Any] | None = None  # the record as last read or written
        self._written: tuple[int, int, int] | None = None  # run.yaml's stat after that
        self._record_stale = False
        # Set when this process's reads are the run's: its data files are recorded at the end.
        self.reads_in: Path | None = None  # the repository's top

    @property
    def run_id(self) -> str:
        return self.record.id

    @property
    def artifacts_dir(self) -> Path:
        return self.run_dir / ARTIFACTS_DIR

    def save(self) -> None:
        """Write the record, merged with changes other writers made since the last save.

        A change that would take ``run.yaml`` past the size readers accept is refused
        (InvalidValue) and undone here: the run on disk stays readable and searchable.
        """
        if self._synced is None and not (self.run_dir / RUN_FILE).exists():
            # A run being created: nobody else knows its id yet, so nothing to merge.
            with self._lock:
                self._write(self.record.to_dict())
            return
        with self._lock, record_lock(self.run_dir):
            mine = self.record.to_dict()
            merged = mine
            if self._synced is not None and self._file_changed():
                theirs = self._read_theirs()
                if theirs is not None and theirs != self._synced:
                    merged = merge_record_dicts(self._synced, mine, theirs)
                    self.record = RunRecord.from_dict(merged, origin=str(self.run_dir))
                    merged = self.record.to_dict()
            try:
                self._write(merged)
            except InvalidValue:
                if self._synced is not None:
                    self.record = RunRecord.from_dict(
                        copy.deepcopy(self._synced), origin=str(self.run_dir)
                    )
                raise

    def _write(self, data: dict[str, Any]) -> None:
        path = self.run_dir / RUN_FILE
        text = emit_record_yaml(data)
        write_atomic(path, within_record_size(text, f"the record of run {self.run_id}"))
        self._synced = _snapshot(data)
        self._written = _signature(path)
        self._record_stale = False

    def _file_changed(self) -> bool:
        """Whether another writer replaced run.yaml since this one last wrote or read it
        (a stat, not a read: writes are renames, so any other write changes the inode)."""
        return self._written is None or _signature(self.run_dir / RUN_FILE) != self._written

    def _read_theirs(self) -> dict[str, Any] | None:
        try:
            data = load_record_yaml(read_regular_file(self.run_dir / RUN_FILE))
        except (OSError, GitrunsError, ValueError):
            return None
        return data if isinstance(data, dict) else None

    def sync(self) -> None:
        """Take the record on disk as the base of later merges (it was just read)."""
        self._synced = _snapshot(self.record.to_dict())
        self._written = None  # read, not written: the next save compares the file

    @property
    def lock(self) -> threading.RLock:
        """Held while this run's record changes: read it whole under it."""
        return self._lock

    # params and tags: written at once, so a crash right after loses nothing

    def log_params(self, params: Mapping[str, Any]) -> None:
        checked = {
            check_key(key, "param key"): as_text("param", key, value, MAX_PARAM_VALUE_LENGTH)
            for key, value in params.items()
        }
        with self._lock:
            for key, value in checked.items():
                existing = self.record.params.get(key)
                if existing is not None and existing != value:
                    raise ParamConflict(
                        f"Changing param values is not allowed. Param with key='{key}' was "
                        f"already logged with value='{existing}' for run ID='{self.run_id}'. "
                        f"Attempted logging new value '{value}'. Log it under another key, or "
                        "start a new run for the new value."
                    )
            if all(self.record.params.get(key) == value for key, value in checked.items()):
                return
            self.record.params.update(checked)
            self.save()

    def set_tags(self, tags: Mapping[str, Any]) -> None:
        checked = {
            check_key(key, "tag key"): as_text("tag", key, value, MAX_TAG_VALUE_LENGTH)
            for key, value in tags.items()
        }
        with self._lock:
            for key, value in checked.items():
                if key == system_tags.RUN_NAME:
                    self.record.name = check_text_name(value, "run name")
                elif key == system_tags.NOTE:
                    self.record.description = value
                elif key == system_tags.PARENT_RUN_ID:
                    self.record.parent = value
                else:
                    self.record.tags[key] = value
            self.save()

    def log_inputs(self, entries: list[dict[str, Any]]) -> None:
        """Add dataset inputs (``gitruns.data.input_entry``); one already there is kept once."""
        with self._lock:
            new = [entry for entry in entries if entry not in self.record.inputs]
            if new:
                self.record.inputs.extend(new)
                self.save()

    def delete_tag(self, key: str) -> None:
        """Remove a tag; one the run does not have is not found, as in MLflow."""
        with self._lock:
            if self.record.tags.pop(check_key(key, "tag key"), None) is not None:
                self.save()
            elif key == system_tags.NOTE and self.record.description is not None:
                self.record.description = None
                self.save()
            else:
                raise GitrunsError(
                    f"No tag with name: {key} in run with id {self.run_id}. List the run's "
                    f"tags with 'gitruns runs show {self.run_id}'.",
                    error_code="RESOURCE_DOES_NOT_EXIST",
                )

    # metrics: buffered; the record's summary is rewritten by flush()

    def log_metric(
        self, key: str, value: object, step: object, timestamp: object, *, defer: bool = False
    ) -> None:
        """Buffer one value; a run this process does not own is written at once, unless
        ``defer`` (a batch, flushed by its caller)."""
        check_key(key, "metric key")
        number = as_metric_value(key, value)
        moment = now_ms() if timestamp is None else as_integer("timestamp", timestamp)
        at_step = 0 if step is None else as_integer("step", step)
        with self._lock:
            self.metric_log.append(key, moment, at_step, number)
            summary = self.record.metrics.get(key)
            if summary is None:
                self.record.metrics[key] = MetricSummary.first(number, at_step, moment)
            else:
                summary.update(number, at_step, moment)
            self._record_stale = True
            if (not self.owned and not defer) or (
                self.metric_log.pending_lines >= MAX_PENDING_METRIC_LINES
            ):
                self.flush()
        if self.owned:
            flusher.ensure_running()

    def flush(self) -> None:
        """Write pending metric lines, then the record if its summary changed."""
        with self._lock:
            if self.metric_log.pending_lines:
                if self.owned:
                    self.metric_log.flush()
                else:  # the run's owner may be folding its log into a table right now
                    with record_lock(self.run_dir):
                        self.metric_log.flush()
            if self._record_stale:
                self.save()

    # artifacts

    def artifact_target(self, relative: str, kind: str = "artifact path") -> Path:
        """The path of ``relative`` inside the run's artifacts; never outside them.

        ``artifacts/`` itself must be a folder of this run, not a link (a branch could
        commit one pointing at ``runs/_environments`` or a run beside this one), and
        no link inside it may lead elsewhere.
        """
        clean = check_relative_path(relative, kind)
        if os.path.islink(self.artifacts_dir):
            raise InvalidPath(
                f"{self.artifacts_dir} is a link, so artifacts would land outside run "
                f"{self.run_id}. Remove the link (git rm it), then log again."
            )
        target = self.artifacts_dir / clean
        root = self.run_dir.resolve() / ARTIFACTS_DIR
        resolved = target.resolve()
        if resolved != root and root not in resolved.parents:
            raise InvalidPath(
                f"{kind} {relative!r} resolves to {resolved}, outside the run's artifacts "
                f"({root}); a link inside them points away. Remove the link or pick another path."
            )
        return target

    def write_artifact(self, relative: str, data: str | bytes) -> Path:
        target = self.artifact_target(relative, "artifact file")
        target.parent.mkdir(parents=True, exist_ok=True)
        write_atomic(target, data)
        warn_if_large(target)
        return target

    def log_artifact(self, local_path: str | os.PathLike[str], artifact_path: str | None) -> None:
        """Copy a file, or a folder as a subfolder, into ``artifacts/[artifact_path/]``."""
        source = _local_source(local_path)
        target = _join(artifact_path, source.name)
        if source.is_dir():
            self._copy_tree(source, target)
        else:
            self.copy_artifact(source, target)

    def log_artifacts(self, local_dir: str | os.PathLike[str], artifact_path: str | None) -> None:
        """Copy the contents of a folder into ``artifacts/[artifact_path/]``."""
        source = _local_source(local_dir)
        if not source.is_dir():
            raise InvalidPath(
                f"{os.fspath(local_dir)!r} is not a folder. Use log_artifact for a file."
            )
        self._copy_tree(source, "" if artifact_path in (None, ".") else str(artifact_path))

    def _copy_tree(self, source: Path, prefix: str) -> None:
        """Copy a folder's files, as MLflow does, through links that stay inside it (to a
        file or a sub-folder); a link leading out of the folder (``~/.aws/credentials``,
        ``/``) is left out with a warning, and a link loop is not walked round."""
        inside = source.resolve()

        def walk(folder: Path, relative: str, above: tuple[Path, ...]) -> None:
            real = folder.resolve()
            if real in above:
                return  # a link back to a folder it is inside of: a loop
            for entry in sorted(os.scandir(folder), key=lambda item: item.name):
                path = Path(entry.path)
                name = f"{relative}/{entry.name}" if relative else entry.name
                if entry.is_symlink():
                    target = path.resolve()
                    if target != inside and inside not in target.parents:
                        logger.warning(
                            "Left %s out of the artifacts: it links to %s, outside %s. Copy "
                            "the file itself into %s to log it.",
                            path,
                            target,
                            source,
                            source,
                        )
                        continue
                if path.is_dir():
                    walk(path, name, (*above, real))
                elif path.is_file():
                    self.copy_artifact(path, f"{prefix}/{name}" if prefix else name)

        walk(source, "", ())

    def copy_artifact(self, source: Path, relative: str) -> None:
        target = self.artifact_target(relative)
        if target.exists() and target.samefile(source):
            return
        target.parent.mkdir(parents=True, exist_ok=True)
        temporary = temporary_path(target)
        try:
            shutil.copyfile(source, temporary)
            os.replace(temporary, target)
        except BaseException:
            temporary.unlink(missing_ok=True)
            raise
        warn_if_large(target)

    # ending

    def _record_data_files(self, repo_top: Path) -> None:
        runs_dir = self.run_dir.parent.parent
        sources = input_sources(self.record.inputs, repo_top)
        found = {item.path: item.to_dict() for item in data_files(repo_top, runs_dir, sources)}
        if found:
            kept = {item.get("path"): item for item in self.record.data_files}
            kept.update(found)
            self.record.data_files = [kept[path] for path in sorted(kept, key=str)]

    def reopen(self) -> None:
        """RUNNING again, in this process, as MLflow's ``start_run(run_id=...)`` of an ended
        run makes it; ending it again records the new status and end."""
        with self._lock:
            self.record.status = RUNNING
            self.record.end_time = None
            self.record.error = None
            self.record.process = current_process()
            self.save()

    def finish(self, status: str, error: BaseException | None = None) -> None:
        with self._lock:
            if self.metric_log.pending_lines:
                self.metric_log.flush()
            self.record.status = status
            self.record.end_time = now_ms()
            if self.reads_in is not None and status != KILLED:  # killed: exit, do not hash
                self._record_data_files(self.reads_in)
            if error is not None:
                self.record.error = {
                    "type": type(error).__name__,
                    "message": public_text(str(error))[:2000],
                }
            self.save()
            # An ended run is one table of metrics, not a log: a third of the size in git.
            with record_lock(self.run_dir):
                fold_log(self.run_dir)
        live_runs.discard(self)
        logger.info("Run %s ended %s", self.run_id, status)


# -- creating, resuming and opening runs ------------------------------------------------


_ignores_checked: set[Path] = set()


def create_run(
    store: RunStore,
    where: Location,
    experiment_id: str,
    run_name: str | None = None,
    parent: str | None = None,
    description: str | None = None,
) -> LiveRun:
    """Make a new run's folder and record, capturing code, environment and source."""
    warn_if_untracked(where)
    environment = capture_environment()
    record = RunRecord(
        id=new_run_id(),
        experiment=experiment_id,
        name=run_name or random_run_name(),
        start_time=now_ms(),
        user=current_user(),
        parent=parent,
        description=description,
        source=capture_source(where.repo_top),
        process=current_process(),
        environment={
            "python": environment.python,
            "platform": environment.platform,
            "requirements": store_requirements(store.runs_dir, environment.requirements),
        },
    )
    snapshot = capture_git(where.repo_top, where.runs_dir) if where.repo_top else None
    if snapshot is not None:
        record.git = snapshot.to_record()
    run_dir = store.run_dir(experiment_id, record.id)
    run_dir.mkdir(parents=True)
    if store.runs_dir not in _ignores_checked:  # once per process: unfinished files stay out of git
        _ignores_checked.add(store.runs_dir)
        ensure_ignore_file(store.runs_dir)
    if snapshot is not None and snapshot.diff:
        write_atomic(run_dir / DIFF_FILE, snapshot.diff)
    live = LiveRun(record, run_dir, owned=True)
    live.save()  # last: a folder holding run.yaml is a complete run
    return live


def resume_run(store: RunStore, run_id: str) -> LiveRun:
    """Take an ended run up again: RUNNING, owned by this process."""
    for live in live_runs:
        if live.run_id.startswith(run_id.lower()):
            raise RunAlreadyActive(
                f"run {live.run_id} is already active in this process. "
                "Use it as it is, or end it with end_run() before resuming it."
            )
    record, run_dir = _load_current(store, run_id)
    if record.status == RUNNING:
        process = record.process or {}
        raise RunAlreadyActive(
            f"run {record.id} is still running in process {process.get('pid')} on "
            f"{process.get('host')}. Wait for it to end, or log to it by id "
            "(log_metric(..., run_id=...)) instead of resuming it."
        )
    live = LiveRun(record, run_dir, owned=True)
    live.sync()
    live.reopen()
    return live


def open_run(store: RunStore, run_id: str) -> LiveRun:
    """A run to add to by id: the live one if this process has it open, else from disk.

    A run opened from disk is not owned: what is logged to it is written at
    once, and its status is left as it is.
    """
    for open_here in live_runs:
        if open_here.run_id == run_id and isinstance(open_here, LiveRun):
            return open_here
    record, run_dir = _load_current(store, run_id)
    live = LiveRun(record, run_dir, owned=False)
    live.sync()
    return live


def _load_current(store: RunStore, run_id: str) -> tuple[RunRecord, Path]:
    """A run to write to, moved to the current layout first if an older gitruns wrote it."""
    record, run_dir = store.load_run(run_id)
    if record.schema < LAYOUT_SCHEMA:
        migrate_run(run_dir, store.runs_dir)
        record, run_dir = store.load_run(run_id)
    return record, run_dir
