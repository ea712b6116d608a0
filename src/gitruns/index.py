"""A cache of every run's record, refreshed from the files whose size or mtime changed.

The files stay the truth. The cache is ``runs/.index/records.json``, kept out
of git by ``runs/.gitignore``; deleting it loses nothing but the time to
rebuild it. A search stats each ``run.yaml`` (one system call a run), reads
the cache, and parses only the records that changed since.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import time
from pathlib import Path
from typing import Any

from gitruns.exceptions import CorruptRecord
from gitruns.names import RUN_ID_PATTERN
from gitruns.record import RUN_FILE, RunRecord, load_record_yaml, write_atomic

logger = logging.getLogger(__name__)

INDEX_FOLDER = ".index"
INDEX_FILE = "records.json"
INDEX_VERSION = 1
IGNORE_LINE = f"/{INDEX_FOLDER}/"
RACY_NANOSECONDS = 2_000_000_000

Signature = tuple[int, int]  # size, mtime in nanoseconds
_warned: set[tuple[str, Signature]] = set()


class RunIndex:
    """The records under one ``runs/`` folder, as fast as a scan of their sizes and mtimes."""

    def __init__(self, runs_dir: Path) -> None:
        self.runs_dir = runs_dir
        self.path = runs_dir / INDEX_FOLDER / INDEX_FILE

    def records(self, experiment_ids: list[str]) -> list[tuple[RunRecord, Path]]:
        """Every readable record in the given experiments; an unreadable one is skipped
        with one warning naming its file."""
        cached = self._load()
        now = time.time_ns()
        fresh: dict[str, list[Any]] = {}
        changed = False
        found: list[tuple[RunRecord, Path]] = []
        for experiment_id in experiment_ids:
            folder = self.runs_dir / experiment_id
            try:
                entries = list(os.scandir(folder))
            except OSError:
                continue
            for entry in entries:
                if not (RUN_ID_PATTERN.match(entry.name) and entry.is_dir()):
                    continue
                record_path = os.path.join(entry.path, RUN_FILE)
                try:
                    stat = os.stat(record_path)
                except OSError:
                    continue  # a run still being created, or a stray folder
                key = f"{experiment_id}/{entry.name}"
                signature = (stat.st_size, stat.st_mtime_ns)
                item = cached.get(key)
                if item is None or (item[0], item[1]) != signature:
                    # A file changed within the last moments may change again within
                    # the same clock tick, keeping size and mtime: parse it next time too.
                    racy = now - stat.st_mtime_ns < RACY_NANOSECONDS
                    item = [stat.st_size, -1 if racy else stat.st_mtime_ns, _parse(record_path)]
                    changed = True
                fresh[key] = item
                record = _record(item, record_path, signature)
                if record is not None:
                    found.append((record, Path(entry.path)))
        removed = _under(cached, experiment_ids) - fresh.keys()
        if changed or removed:
            self._save({**_outside(cached, experiment_ids), **fresh})
        return found

    def _load(self) -> dict[str, list[Any]]:
        try:
            document = json.loads(self.path.read_bytes())
        except (OSError, ValueError):
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


def _parse(record_path: str) -> dict[str, Any] | str:
    """The parsed record, or the reason it can't be read."""
    try:
        with open(record_path, "rb") as file:
            data = load_record_yaml(file.read())
    except Exception as error:  # any parse failure is the file's fault, reported by name
        return f"{type(error).__name__}: {error}".replace("\n", " ")
    return data if isinstance(data, dict) else "does not hold a run record (a YAML mapping)"


def _record(item: list[Any], record_path: str, signature: Signature) -> RunRecord | None:
    data = item[2]
    if isinstance(data, dict):
        with contextlib.suppress(CorruptRecord):
            return RunRecord.from_dict(data, origin=record_path)
        data = "not a valid run record"
    if (record_path, signature) not in _warned:
        _warned.add((record_path, signature))
        logger.warning(
            "Skipped %s: %s. Run 'gitruns check' to see what is wrong.", record_path, data
        )
    return None


def _under(runs: dict[str, list[Any]], experiment_ids: list[str]) -> set[str]:
    prefixes = tuple(f"{experiment_id}/" for experiment_id in experiment_ids)
    return {key for key in runs if key.startswith(prefixes)}


def _outside(runs: dict[str, list[Any]], experiment_ids: list[str]) -> dict[str, list[Any]]:
    inside = _under(runs, experiment_ids)
    return {key: value for key, value in runs.items() if key not in inside}


def _ignore_index(runs_dir: Path) -> None:
    """Keep the cache out of git with a ``runs/.gitignore`` line (added once, never removed)."""
    ignore = runs_dir / ".gitignore"
    try:
        lines = ignore.read_text().splitlines()
    except FileNotFoundError:
        lines = []
    if IGNORE_LINE not in lines:
        write_atomic(ignore, "\n".join([*lines, IGNORE_LINE]) + "\n")
