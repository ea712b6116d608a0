"""A cache of what searches need of every run, refreshed from the files that changed.

The files stay the truth. The cache is ``runs/.index/runs.json``, kept out of
git by ``runs/.gitignore``; deleting it loses nothing but the time to rebuild
it. A search stats each ``run.yaml`` (one system call a run), reads the cache,
and parses only the records whose size or mtime changed since. Each run is
cached as a :class:`RunEntry`: ids, status, times, params, tags and the last
value of each metric, which is all a filter, an ordering or a listing reads.
"""

from __future__ import annotations

import json
import logging
import os
import time
from pathlib import Path
from typing import Any, NamedTuple

from gitruns.entities import Run, make_run, system_tags
from gitruns.exceptions import CorruptRecord
from gitruns.names import RUN_ID_PATTERN
from gitruns.record import (
    LOCK_SUFFIX,
    RUN_FILE,
    RUNNING,
    TEMPORARY_SUFFIX,
    RunRecord,
    parse_run_record,
    read_regular_file,
    write_atomic,
)

logger = logging.getLogger(__name__)

INDEX_FOLDER = ".index"
INDEX_FILE = "runs.json"
INDEX_VERSION = 4
IGNORE_LINE = f"/{INDEX_FOLDER}/"
# What runs/.gitignore keeps out of git: the cache, and files a writer has not finished
# (a process killed mid-write leaves them; ``gitruns check --fix`` removes stale ones).
IGNORE_LINES = (IGNORE_LINE, f".*{TEMPORARY_SUFFIX}", f".*{LOCK_SUFFIX}")
# A file changed this recently may change again within the same clock tick,
# keeping its size and mtime; such files are parsed again next time (git's "racy" rule).
RACY_NANOSECONDS = 2_000_000_000
MAX_INDEX_BYTES = 1 << 30

Signature = tuple[int, int]  # size, mtime in nanoseconds
_warned: set[tuple[str, Signature]] = set()


class RunEntry(NamedTuple):
    """What searches and listings read of one run: cached, and cheap to rebuild."""

    id: str
    experiment: str
    name: str
    status: str
    lifecycle_stage: str
    start_time: int
    end_time: int | None
    user: str | None
    parent: str | None
    params: dict[str, str]
    tags: dict[str, str]  # the user's, then MLflow's system tags
    metrics: dict[str, float]  # the latest value of each
    process: dict[str, Any] | None  # kept while RUNNING, to tell whether it still runs
    schema: int  # of the run's folder: how its histories are stored

    @classmethod
    def of(cls, record: RunRecord) -> RunEntry:
        return cls(
            id=record.id,
            experiment=record.experiment,
            name=record.name,
            status=record.status,
            lifecycle_stage=record.lifecycle_stage,
            start_time=record.start_time,
            end_time=record.end_time,
            user=record.user,
            parent=record.parent,
            params=record.params,
            tags={**system_tags(record), **record.tags},
            metrics={key: summary.last for key, summary in record.metrics.items()},
            process=record.process if record.status == RUNNING else None,
            schema=record.schema,
        )

    def to_run(self, run_dir: Path) -> Run:
        """MLflow's entity, the same :func:`gitruns.entities.run_from_record` makes."""
        return make_run(self, run_dir, dict(self.metrics), dict(self.tags))


class RunIndex:
    """The runs under one ``runs/`` folder, as fast as a scan of their sizes and mtimes."""

    def __init__(self, runs_dir: Path) -> None:
        self.runs_dir = runs_dir
        self.path = runs_dir / INDEX_FOLDER / INDEX_FILE

    def entries(self, experiment_ids: list[str]) -> list[tuple[RunEntry, str]]:
        """Every readable run of the given experiments with its folder; an unreadable
        record is skipped with one warning naming its file."""
        cached = self._load()
        fresh: dict[str, list[Any]] = {}
        changed = False
        now = time.time_ns()
        found: list[tuple[RunEntry, str]] = []
        for experiment_id in experiment_ids:
            try:
                entries = list(os.scandir(self.runs_dir / experiment_id))
            except OSError:
                continue
            for entry in entries:
                if not (RUN_ID_PATTERN.match(entry.name) and entry.is_dir(follow_symlinks=False)):
                    continue
                record_path = os.path.join(entry.path, RUN_FILE)
                try:
                    stat = os.stat(record_path)
                except OSError:
                    continue  # a run still being created, or a stray folder
                key = f"{experiment_id}/{entry.name}"
                item = cached.get(key)
                if item is None or item[0] != stat.st_size or item[1] != stat.st_mtime_ns:
                    racy = now - stat.st_mtime_ns < RACY_NANOSECONDS
                    item = [stat.st_size, -1 if racy else stat.st_mtime_ns, _read(record_path)]
                    changed = True
                fresh[key] = item
                if _belongs_here(item[2], entry.name, experiment_id):
                    found.append((RunEntry(*item[2]), entry.path))
                elif isinstance(item[2], list):  # a cache entry naming another place: reread
                    item = [stat.st_size, -1, _read(record_path)]
                    fresh[key], changed = item, True
                    if isinstance(item[2], list):
                        found.append((RunEntry(*item[2]), entry.path))
                    else:
                        _warn(record_path, (stat.st_size, stat.st_mtime_ns), item[2])
                else:
                    _warn(record_path, (stat.st_size, stat.st_mtime_ns), item[2])
        removed = _under(cached, experiment_ids) - fresh.keys()
        if changed or removed:
            self._save({**_outside(cached, experiment_ids), **fresh})
        return found

    def _load(self) -> dict[str, list[Any]]:
        try:
            document = json.loads(read_regular_file(self.path, MAX_INDEX_BYTES))
        except (OSError, ValueError, CorruptRecord):
            return {}
        if not isinstance(document, dict) or document.get("version") != INDEX_VERSION:
            return {}
        runs = document.get("runs")
        return runs if isinstance(runs, dict) else {}

    def _save(self, runs: dict[str, list[Any]]) -> None:
        try:
            self.path.parent.mkdir(exist_ok=True)
            _ignore_index(self.runs_dir)
            write_atomic(self.path, json.dumps({"version": INDEX_VERSION, "runs": runs}))
        except OSError as error:  # a read-only checkout still answers, only slower
            logger.debug("Could not write the run index %s: %s", self.path, error)


def _read(record_path: str) -> list[Any] | str:
    """The run's entry as a list (what the cache stores), or why it can't be read."""
    try:
        return list(RunEntry.of(parse_run_record(read_regular_file(record_path), record_path)))
    except CorruptRecord as error:
        return error.message
    except Exception as error:  # any parse failure is the file's fault, reported by name
        return f"{type(error).__name__}: {error}".replace("\n", " ")


def _belongs_here(item: Any, run_id: str, experiment_id: str) -> bool:
    """Whether a cached entry is a run's, for the folder it was found in (the cache
    is a file too, and may have been committed by someone else)."""
    return (
        isinstance(item, list)
        and len(item) == len(RunEntry._fields)
        and item[0] == run_id
        and item[1] == experiment_id
    )


def _warn(record_path: str, signature: Signature, reason: str) -> None:
    if (record_path, signature) not in _warned:
        _warned.add((record_path, signature))
        logger.warning(
            "Skipped %s: %s. Run 'gitruns check' to see what is wrong.",
            record_path,
            reason.rstrip("."),
        )


def _under(runs: dict[str, list[Any]], experiment_ids: list[str]) -> set[str]:
    prefixes = tuple(f"{experiment_id}/" for experiment_id in experiment_ids)
    return {key for key in runs if key.startswith(prefixes)}


def _outside(runs: dict[str, list[Any]], experiment_ids: list[str]) -> dict[str, list[Any]]:
    inside = _under(runs, experiment_ids)
    return {key: value for key, value in runs.items() if key not in inside}


def _ignore_index(runs_dir: Path) -> None:
    ensure_ignore_file(runs_dir)


def ensure_ignore_file(runs_dir: Path) -> None:
    """Keep the cache and unfinished files out of git with ``runs/.gitignore`` lines
    (each added once, never removed; the user's own lines are kept)."""
    ignore = runs_dir / ".gitignore"
    try:
        lines = read_regular_file(ignore, MAX_INDEX_BYTES).decode("utf-8").splitlines()
    except FileNotFoundError:
        lines = []
    except (CorruptRecord, UnicodeDecodeError, OSError) as error:
        logger.warning("Left %s as it is: %s", ignore, error)
        return
    missing = [line for line in IGNORE_LINES if line not in lines]
    if missing:
        write_atomic(ignore, "\n".join([*lines, *missing]) + "\n")
