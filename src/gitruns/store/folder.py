"""A ``runs/`` tree: finding and reading its experiments and runs.

An experiment's id is its folder name, a slug of its name; a run's id is its
folder name. Any unique prefix of a run id names the run, as with git commits.
"""

from __future__ import annotations

import contextlib
import logging
import os
import re
import time
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

from gitruns import once
from gitruns.exceptions import (
    AmbiguousRunId,
    CorruptRecord,
    ExperimentNotFound,
    InvalidName,
    RunNotFound,
)
from gitruns.store.index import INDEX_FOLDER, ExperimentIndex, RunEntry, RunIndex
from gitruns.store.names import (
    DEFAULT_EXPERIMENT_FOLDER,
    DEFAULT_EXPERIMENT_ID,
    MAX_SLUG_LENGTH,
    RUN_ID_PATTERN,
    SLUG_PATTERN,
    check_experiment_name,
    check_run_id_prefix,
    digest_folder,
    experiment_folder,
    slugify,
)
from gitruns.store.record import (
    EXPERIMENT_FILE,
    KILLED,
    RUNNING,
    ExperimentRecord,
    within_record_size,
)
from gitruns.utils.files import TEMPORARY_SUFFIX, create_exclusive, write_atomic
from gitruns.utils.processes import pid_alive, process_alive

if TYPE_CHECKING:
    # The run record's module is imported where a record is read: a search the index
    # answers defines none of its classes.
    from gitruns.store.run_record import MetricSummary, RunRecord

logger = logging.getLogger(__name__)

DEFAULT_EXPERIMENT = "Default"


def _warn_once(path: str, problem: str) -> None:
    once.warn_once(logger, ("skipped", path, problem), "Skipped %s: %s.", path, problem.rstrip("."))


def check_experiment_id(experiment_id: object) -> str:
    """Experiment ids are folder names: a slug, so no id can point outside ``runs/``."""
    text = str(experiment_id)
    if len(text) > MAX_SLUG_LENGTH or not SLUG_PATTERN.match(text):
        # Such an id can name no folder, so no experiment: not found, as MLflow says.
        raise ExperimentNotFound(
            f"No Experiment with id={text[:80]} exists: {text[:80]!r} is not an experiment id "
            "(ids are the experiment's folder name under runs/: lower-case letters, digits "
            "and dashes). Pass the experiment's name to set_experiment() instead, or list "
            "experiments with 'gitruns experiments list'."
        )
    return text


# MLflow's default experiment has id "0"; here it is the folder "default".
DEFAULT_EXPERIMENT_ALIASES = {DEFAULT_EXPERIMENT_ID: DEFAULT_EXPERIMENT_FOLDER}


class RunStore:
    """A ``runs/`` folder: experiments and the runs inside them."""

    def resolve_experiment_id(self, experiment_id: object) -> str:
        """The folder an experiment id names: MLflow's ``"0"`` is the Default experiment
        (``default``) unless a folder ``0`` exists; any other number names nothing, since
        experiments are named by folder; every surface resolves ids here."""
        text = str(experiment_id)
        if text in DEFAULT_EXPERIMENT_ALIASES and not (self.runs_dir / text).exists():
            return DEFAULT_EXPERIMENT_ALIASES[text]
        if text.isdigit():
            raise ExperimentNotFound(
                f"No Experiment with id={text} exists: gitruns names experiments by folder "
                "(e.g. 'nyc-taxi-experiment'), not by number. Use "
                "get_experiment_by_name(name).experiment_id."
            )
        return check_experiment_id(text)

    def __init__(self, runs_dir: Path) -> None:
        self.runs_dir = runs_dir

    # -- experiments ------------------------------------------------------------

    def experiment_dir(self, experiment_id: str) -> Path:
        return self.runs_dir / check_experiment_id(experiment_id)

    def _candidate_ids(self, name: str) -> tuple[str, ...]:
        """Where an experiment of this name may live: the folder its name maps to
        (:func:`gitruns.store.names.experiment_folder`), then, for trees written before that
        rule, its plain slug."""
        return tuple(dict.fromkeys((experiment_folder(name), slugify(name), digest_folder(name))))

    def find_experiment(self, name: str) -> tuple[str, ExperimentRecord] | None:
        """The id and record of the experiment called ``name``, or None. An experiment
        renamed keeps its folder: when none of the folders a name maps to holds it, each
        experiment's record is read."""
        check_experiment_name(name)
        candidates = self._candidate_ids(name)
        for candidate in candidates:
            path = self.runs_dir / candidate / EXPERIMENT_FILE
            if path.exists():
                record = ExperimentRecord.read(path)
                if record.name == name:
                    return candidate, record
        for experiment_id, record in self.readable_experiments():
            if record.name == name and experiment_id not in candidates:
                return experiment_id, record
        return None

    def create_experiment(self, record: ExperimentRecord) -> str:
        """Create the experiment's folder and ``experiment.yaml``, or find it; returns its id.

        The folder depends on the name alone, so every branch that creates the
        experiment writes the same bytes to the same place. Safe when several
        processes create it at once: exactly one file is written, whole. A folder
        that already holds another experiment (a tree older than this rule) is
        refused before anything is written.
        """
        check_experiment_name(record.name)
        found = self.find_experiment(record.name)
        if found is not None:
            return found[0]
        # The folder its name maps to; if an experiment renamed from this name holds it,
        # the name's digest folder (the same on every branch, too).
        for candidate in dict.fromkeys(
            (experiment_folder(record.name), digest_folder(record.name))
        ):
            folder = self.runs_dir / candidate
            path = folder / EXPERIMENT_FILE
            if not path.exists():
                text = within_record_size(record.to_yaml(), f"experiment {record.name!r}")
                folder.mkdir(parents=True, exist_ok=True)
                if create_exclusive(path, text):
                    stamp_now(path)
                    logger.info("Created experiment %r in %s", record.name, folder)
                    return candidate
            existing = ExperimentRecord.read(path)
            if existing.name == record.name:
                return candidate
        raise InvalidName(
            f"experiment name {record.name!r} maps to the folder {folder}, which already holds "
            f"the experiment {existing.name!r}. Use that experiment's exact name, or choose "
            "another name."
        )

    def require_experiment(self, experiment_id: str) -> Path:
        """The ``experiment.yaml`` of an experiment that exists (checked without reading it)."""
        path = self.experiment_dir(experiment_id) / EXPERIMENT_FILE
        if not path.exists():
            raise ExperimentNotFound(
                f"No Experiment with id={experiment_id} exists in {self.runs_dir}. "
                "List experiments with 'gitruns experiments list'."
            )
        return path

    def get_experiment(self, experiment_id: str) -> ExperimentRecord:
        return ExperimentRecord.read(self.require_experiment(experiment_id))

    def update_experiment(self, experiment_id: str, record: ExperimentRecord) -> None:
        text = within_record_size(record.to_yaml(), f"experiment {record.name!r}")
        path = self.experiment_dir(experiment_id) / EXPERIMENT_FILE
        try:
            made = os.stat(path, follow_symlinks=False).st_mtime_ns
        except OSError:
            made = time.time_ns()
        write_atomic(path, text)
        os.utime(path, ns=(made, made), follow_symlinks=False)  # its time is when it was made

    def experiment_ids(self) -> list[str]:
        """Ids of every experiment, sorted."""
        if not self.runs_dir.is_dir():
            return []
        found = []
        for entry in os.scandir(self.runs_dir):
            if entry.name.startswith(".") or not entry.is_dir(follow_symlinks=False):
                continue
            if not os.path.lexists(os.path.join(entry.path, EXPERIMENT_FILE)):
                continue
            if SLUG_PATTERN.match(entry.name):
                found.append(entry.name)
            else:
                _warn_once(
                    entry.path,
                    "is not an experiment folder name (lower-case letters, digits and dashes); "
                    "it is left out. Rename it, or remove it",
                )
        return sorted(found)

    def readable_experiments(self) -> list[tuple[str, ExperimentRecord]]:
        """Every experiment whose ``experiment.yaml`` reads, with its id; each one that
        doesn't is reported once and left out, so one bad file hides nothing else."""
        found = []
        for experiment_id in self.experiment_ids():
            try:
                found.append((experiment_id, self.get_experiment(experiment_id)))
            except CorruptRecord as error:
                _warn_once(str(self.runs_dir / experiment_id / EXPERIMENT_FILE), error.message)
        return found

    # -- runs -------------------------------------------------------------------

    def run_dir(self, experiment_id: str, run_id: str) -> Path:
        return self.experiment_dir(experiment_id) / run_id

    def run_dirs(self, experiment_ids: list[str] | None = None) -> Iterator[Path]:
        """Every run folder (one holding a ``run.yaml``) of the given experiments, or all."""
        for experiment_id in (
            experiment_ids if experiment_ids is not None else self.experiment_ids()
        ):
            folder = self.experiment_dir(experiment_id)
            if not folder.is_dir():
                continue
            for entry in sorted(os.scandir(folder), key=lambda e: e.name):
                if RUN_ID_PATTERN.match(entry.name) and entry.is_dir(follow_symlinks=False):
                    yield Path(entry.path)

    def find_run_dir(self, run_id: str) -> Path:
        """The folder of the run named by ``run_id`` or a unique prefix of it."""
        prefix = check_run_id_prefix(run_id)
        matches: list[Path] = []
        for experiment_id in self.experiment_ids():
            folder = self.runs_dir / experiment_id
            if len(prefix) == 32:
                if (folder / prefix).is_dir() and not (folder / prefix).is_symlink():
                    matches.append(folder / prefix)
                continue
            matches.extend(
                Path(entry.path)
                for entry in os.scandir(folder)
                if entry.name.startswith(prefix)
                and RUN_ID_PATTERN.match(entry.name)
                and entry.is_dir(follow_symlinks=False)
            )
        if not matches:
            raise RunNotFound(
                f"no run id starts with {run_id!r} in {self.runs_dir}. "
                "List runs with 'gitruns runs list'."
            )
        if len(matches) > 1:
            shown = ", ".join(sorted(path.name for path in matches)[:5])
            raise AmbiguousRunId(
                f"{len(matches)} runs start with {run_id!r} ({shown}). "
                "Give more characters of the id."
            )
        return matches[0]

    def entries(self, experiment_ids: list[str] | None = None) -> list[tuple[RunEntry, str]]:
        """What searches read of every run of the given experiments (all by default), with
        its folder, observed now. Served from the index cache; a corrupt record is skipped
        with a warning."""
        ids = self.experiment_ids() if experiment_ids is None else experiment_ids
        return [
            (_observed(entry, path), path) for entry, path in RunIndex(self.runs_dir).entries(ids)
        ]

    def indexes(self, experiment_ids: list[str]) -> list[ExperimentIndex]:
        """The index of each experiment, fresh, with every RUNNING run as observed now
        (a run whose process died reads as KILLED)."""
        found = []
        for experiment_id in experiment_ids:
            index = RunIndex(self.runs_dir).experiment(experiment_id)
            statuses = index.column("attribute", "status") or []
            running = [position for position, status in enumerate(statuses) if status == RUNNING]
            for position, item in zip(running, index.entries_at(running), strict=True):
                if item is None:
                    continue
                observed = _observed(*item)
                if observed is not item[0]:
                    index.patch(position, observed)
            found.append(index)
        return found

    def load_run(self, run_id: str) -> tuple[RunRecord, Path]:
        """The record of a run and its folder, with its status as observed now."""
        from gitruns.store.run_record import read_run_record

        run_dir = self.find_run_dir(run_id)
        return observe(read_run_record(run_dir), run_dir), run_dir


def observe(record: RunRecord, run_dir: Path) -> RunRecord:
    """The record as it stands now: a RUNNING run whose process is gone reads as KILLED.

    A process killed with SIGKILL cannot mark its own record. Its pid and start
    token are in the record, so any reader on the same host can tell it died;
    its metric summary is then rebuilt from the histories, which are newer.
    """
    if record.status == RUNNING and process_alive(record.process) is False:
        record.status = KILLED
        record.error = record.error or {
            "type": "ProcessGone",
            "message": "the process that ran it ended without finishing the run",
        }
        record.metrics = summarize_histories(run_dir, record.schema) or record.metrics
    return record


def _observed(entry: RunEntry, run_dir: str) -> RunEntry:
    if entry.status != RUNNING or process_alive(entry.process) is not False:
        return entry
    from gitruns.store.run_record import read_run_record

    return RunEntry.of(observe(read_run_record(Path(run_dir)), Path(run_dir)))


def summarize_histories(run_dir: Path, schema: int) -> dict[str, MetricSummary]:
    """Metric summaries computed from the histories of a run."""
    from gitruns.store.history import read_histories
    from gitruns.store.run_record import MetricSummary

    summaries: dict[str, MetricSummary] = {}
    for key, history in read_histories(run_dir, schema).items():
        summary: MetricSummary | None = None
        for timestamp, step, value in history:
            if summary is None:
                summary = MetricSummary.first(value, step, timestamp)
            else:
                summary.update(value, step, timestamp)
        if summary is not None:
            summaries[key] = summary
    return summaries


# ``.<name>.<pid>.<random>.tmp``: what :func:`gitruns.utils.files.temporary_path` names.
_TEMPORARY_NAME = re.compile(
    r"^\..+\.(?P<pid>[0-9]+)\.[0-9a-f]+" + re.escape(TEMPORARY_SUFFIX) + r"\Z"
)
STALE_TEMPORARY_SECONDS = 3600


def remove_stale_temporaries(runs_dir: Path) -> list[Path]:
    """Remove unfinished files that killed writers left under ``runs_dir``; returns them.

    A temporary file whose writer still runs on this machine, and is younger
    than an hour, is left alone: it is being written.
    """
    removed = []
    now = time.time()
    for folder, folders, names in os.walk(runs_dir):
        folders[:] = [name for name in folders if name != INDEX_FOLDER]
        for name in names:
            match = _TEMPORARY_NAME.match(name)
            if match is None:
                continue
            path = Path(folder) / name
            try:
                age = now - path.lstat().st_mtime
            except OSError:
                continue
            if age < STALE_TEMPORARY_SECONDS and pid_alive(int(match["pid"])):
                continue
            with contextlib.suppress(OSError):
                path.unlink()
                removed.append(path)
                logger.info("Removed %s, left by a writer that did not finish", path)
    return removed


def stamp_now(path: Path) -> None:
    """Give a new ``experiment.yaml`` the time it was made, to the nanosecond, kept through
    later writes: the record holds no time (the same bytes on every branch), so its file's
    time is the experiment's creation time in this clone, and the kernel's own stamp is
    only as fine as its clock tick (4 ms)."""
    now = time.time_ns()
    os.utime(path, ns=(now, now), follow_symlinks=False)
