"""A cache of what searches need of every run, refreshed from the files that changed.

The files stay the truth. The cache is ``runs/.index/runs.json``, kept out of
git by ``runs/.gitignore``; deleting it loses nothing but the time to rebuild
it. A search stats each ``run.yaml`` (one system call a run), reads the cache,
and parses only the records whose size or mtime changed since. Each run is
cached as a :class:`RunEntry`: ids, status, times, params, tags and the last
value of each metric, which is all a filter, an ordering or a listing reads.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import os
import re
import stat
import time
from pathlib import Path
from typing import Any, NamedTuple

from gitruns import once
from gitruns.exceptions import CorruptRecord
from gitruns.store.names import RUN_ID_PATTERN
from gitruns.store.record import (
    LOCK_SUFFIX,
    RUN_FILE,
    RUNNING,
    RunRecord,
    parse_run_record,
    record_tags,
)
from gitruns.utils.files import TEMPORARY_SUFFIX, read_regular_file, write_atomic

logger = logging.getLogger(__name__)

INDEX_FOLDER = ".index"
STATE_FILE = "state.json"
ENTRIES_FILE = "entries.jsonl"
COLUMN_FILE = re.compile(r"\Ac-[0-9a-f]{20}\.json\Z")
INDEX_VERSION = 7
IGNORE_LINE = f"/{INDEX_FOLDER}/"
# What runs/.gitignore keeps out of git: the cache, and files a writer has not finished
# (a process killed mid-write leaves them; ``gitruns check --fix`` removes stale ones).
IGNORE_LINES = (IGNORE_LINE, f".*{TEMPORARY_SUFFIX}", f".*{LOCK_SUFFIX}")
# A file changed this recently may change again within the same clock tick,
# keeping its size and mtime; such files are parsed again next time (git's "racy" rule).
RACY_NANOSECONDS = 2_000_000_000
MAX_INDEX_BYTES = 1 << 30

Signature = tuple[int, int]  # size, mtime in nanoseconds


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
    datasets: list[list[str | None]]  # [name, digest, context] of each dataset it read

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
            tags={**record_tags(record), **record.tags},
            metrics={key: summary.last for key, summary in record.metrics.items()},
            process=record.process if record.status == RUNNING else None,
            schema=record.schema,
            datasets=[
                [item.get("name"), item.get("digest"), item.get("context")]
                for item in record.inputs
            ],
        )


class ExperimentIndex:
    """The cache of one experiment's runs: what a search reads, column by column.

    ::

        runs/.index/<experiment>/state.json     run folders, their run.yaml size and
                                                mtime, and where each entry is
        runs/.index/<experiment>/entries.jsonl  one RunEntry per line (JSON)
        runs/.index/<experiment>/c-<digest>.json one column: a param, metric, tag or
                                                attribute of every run, in folder order

    A search loads the columns its filter and order name, never all the runs;
    only the page of runs it returns is read from ``entries.jsonl``. When a
    ``run.yaml`` changed (or is new after a ``git pull``), only that file is
    parsed; the cache files are then written again.
    """

    def __init__(self, runs_dir: Path, experiment_id: str) -> None:
        self.runs_dir = runs_dir
        self.experiment_id = experiment_id
        self.folder = runs_dir / INDEX_FOLDER / experiment_id
        self.names: list[str] = []
        self.columns: dict[str, str] = {}  # "kind\x00key" -> column file name
        self._offsets: list[int] = []
        self._loaded: dict[str, list[Any]] = {}
        self._lines: list[bytes] | None = None  # the entries' lines, when just rebuilt
        self.problems: dict[str, tuple[str, Signature]] = {}  # run -> why unreadable, where
        self._patched: dict[int, list[Any]] = {}  # entries as observed now (see patch)

    # -- freshness ----------------------------------------------------------------

    def refresh(self) -> ExperimentIndex:
        """Bring the cache up to date with the run folders (a stat per run)."""
        experiment_dir = os.path.join(self.runs_dir, self.experiment_id)
        state = self._load_state()
        known = set(state["names"]) if state is not None else set()
        try:
            with os.scandir(experiment_dir) as entries:
                scanned = [
                    entry.name
                    for entry in entries
                    if entry.is_dir(follow_symlinks=False)
                    and (entry.name in known or RUN_ID_PATTERN.match(entry.name))
                ]
        except OSError:
            scanned = []
        scanned.sort()
        # Sizes and mtimes, flat ([size, mtime, size, mtime...]): 100,000 runs compare as
        # one list. Stat'ed relative to the experiment's folder, the kernel walks one name.
        signatures: list[int] = []
        present: list[str] = []
        try:
            folder = os.open(experiment_dir, os.O_RDONLY | os.O_DIRECTORY)
        except OSError:
            folder = None
        try:
            for name in scanned:
                try:
                    stat = os.stat(f"{name}/{RUN_FILE}", dir_fd=folder)
                except OSError:
                    continue  # a run still being created, or a stray folder
                present.append(name)
                signatures += (stat.st_size, stat.st_mtime_ns)
        finally:
            if folder is not None:
                os.close(folder)
        if state is not None and state["names"] == present and state["signatures"] == signatures:
            self.names, self.columns, self._offsets = present, state["columns"], state["offsets"]
            for (name, reason), signature in zip(
                state.get("problems", []), state.get("problem_signatures", []), strict=False
            ):
                where = os.path.join(experiment_dir, str(name), RUN_FILE)
                _warn(where, tuple(signature), str(reason))
            return self
        self._rebuild(present, signatures, state)
        return self

    def _is_own_folder(self) -> bool:
        """Whether ``runs/.index/<experiment>`` is folders gitruns made, not links: a
        branch could commit a link there to make a search write elsewhere."""
        return all(_is_real_folder(folder) for folder in (self.folder.parent, self.folder))

    def _claim_folder(self) -> None:
        """Make the cache folders real folders, removing a link, file or other thing a
        branch put in their place (the link itself, never what it points to)."""
        for folder in (self.folder.parent, self.folder):
            if not _is_real_folder(folder) and os.path.lexists(folder):
                logger.warning(
                    "%s was not a folder of gitruns' search index (a link or file from a "
                    "branch?); removed it, the index is rebuilt.",
                    folder,
                )
                os.unlink(folder)
            with contextlib.suppress(FileExistsError):
                os.mkdir(folder)

    def _load_state(self) -> dict[str, Any] | None:
        if not self._is_own_folder():
            return None
        try:
            state = json.loads(read_regular_file(self.folder / STATE_FILE, MAX_INDEX_BYTES))
            names, signatures, offsets = state["names"], state["signatures"], state["offsets"]
            columns = state["columns"]
        except (OSError, ValueError, KeyError, TypeError, CorruptRecord):
            return None
        valid = (
            state.get("version") == INDEX_VERSION
            and isinstance(columns, dict)
            and 2 * len(names) == len(signatures) == 2 * (len(offsets) - 1)
            and all(isinstance(name, str) and COLUMN_FILE.match(name) for name in columns.values())
        )
        return state if valid else None

    def _rebuild(self, names: list[str], flat: list[int], state: dict[str, Any] | None) -> None:
        """Parse the records that changed, keep the cache of the rest: a pull that brings
        1,000 runs to an index of 100,000 parses 1,000 files and copies the other lines
        and column values as they are."""
        signatures = list(zip(flat[0::2], flat[1::2], strict=True))
        lines: list[bytes] = []
        before: dict[str, int] = {}  # name -> position in the old cache, when still valid
        if state is not None:
            lines = self._read_lines()
            if len(lines) == len(state["names"]):
                old = state["signatures"]
                at = {name: position for position, name in enumerate(state["names"])}
                for name, signature in zip(names, signatures, strict=True):
                    position = at.get(name)
                    if position is not None and (old[2 * position], old[2 * position + 1]) == (
                        signature
                    ):
                        before[name] = position
        problems = {name: str(reason) for name, reason in (state or {}).get("problems", [])}
        now = time.time_ns()
        experiment_dir = os.path.join(self.runs_dir, self.experiment_id)
        new_lines: list[bytes] = []
        fresh: dict[int, Any] = {}
        kept: list[Signature] = []
        self.problems = {}
        for position, (name, (size, mtime)) in enumerate(zip(names, signatures, strict=True)):
            racy = now - mtime < RACY_NANOSECONDS
            kept.append((size, -1 if racy else mtime))
            old_position = before.get(name)
            if old_position is not None:
                new_lines.append(lines[old_position] + b"\n")
                if name in problems:
                    self.problems[name] = (problems[name], (size, mtime))
                continue
            record_path = os.path.join(experiment_dir, name, RUN_FILE)
            item = fresh[position] = _read(record_path)
            new_lines.append(json.dumps(item, separators=(",", ":")).encode() + b"\n")
            if not isinstance(item, list):
                self.problems[name] = (item, (size, mtime))
                _warn(record_path, (size, mtime), item)
        self.names = names
        self._lines = new_lines
        carried = self._carried_columns(state, names, before) if before else None
        if carried is None:  # nothing to carry over: every column from the lines
            entries = [fresh[p] if p in fresh else _parse(line) for p, line in enumerate(new_lines)]
            self._loaded = _columns_of(entries, names)
        else:
            _update_columns(carried, fresh, len(names))
            carried["attribute\x00id"] = list(names)
            self._loaded = carried
        self.columns = {field: _column_file(field) for field in self._loaded}
        self._save(kept)

    def _carried_columns(
        self, state: dict[str, Any] | None, names: list[str], before: dict[str, int]
    ) -> dict[str, list[Any]] | None:
        """The old cache's columns, moved to the runs' new positions (None where a run is
        new or changed); None when any old column file is missing or does not fit."""
        assert state is not None
        count = len(state["names"])
        moves = [before.get(name) for name in names]
        carried: dict[str, list[Any]] = {}
        for field, file_name in state["columns"].items():
            try:
                values = json.loads(read_regular_file(self.folder / file_name, MAX_INDEX_BYTES))
            except (OSError, ValueError, CorruptRecord):
                return None
            if not isinstance(values, list) or len(values) != count:
                return None
            carried[field] = [None if move is None else values[move] for move in moves]
        return carried

    def _save(self, signatures: list[Signature]) -> None:
        assert self._lines is not None
        offsets = [0]
        for line in self._lines:
            offsets.append(offsets[-1] + len(line))
        self._offsets = offsets
        try:
            ensure_ignore_file(self.runs_dir)
            self._claim_folder()
            write_atomic(self.folder / ENTRIES_FILE, b"".join(self._lines))
            for field, file_name in self.columns.items():
                write_atomic(self.folder / file_name, json.dumps(self._loaded[field]))
            state = {
                "version": INDEX_VERSION,
                "names": self.names,
                "signatures": [number for signature in signatures for number in signature],
                "offsets": offsets,
                "columns": self.columns,
                "problems": [[name, reason] for name, (reason, _) in self.problems.items()],
                "problem_signatures": [list(where) for _, where in self.problems.values()],
            }
            write_atomic(self.folder / STATE_FILE, json.dumps(state))  # last: the switch
            wanted = {*self.columns.values(), STATE_FILE, ENTRIES_FILE}
            for entry in os.scandir(self.folder):
                if COLUMN_FILE.match(entry.name) and entry.name not in wanted:
                    os.unlink(entry.path)
        except OSError as error:  # a read-only checkout still answers, only slower
            logger.debug("Could not write the run index %s: %s", self.folder, error)

    def _read_lines(self) -> list[bytes]:
        """The cached entries' lines, each with its newline (they are written back as is)."""
        try:
            data = read_regular_file(self.folder / ENTRIES_FILE, MAX_INDEX_BYTES)
        except (OSError, CorruptRecord):
            return []
        return data.split(b"\n")[:-1] if data.endswith(b"\n") else []

    # -- reading ------------------------------------------------------------------

    def column(self, kind: str, key: str) -> list[Any] | None:
        """One value per run (None where a run lacks it), or None when no run has it."""
        field = f"{kind}\x00{key}"
        if field in self._loaded:
            return self._loaded[field]
        file_name = self.columns.get(field)
        if file_name is None:
            return None
        try:
            values = json.loads(read_regular_file(self.folder / file_name, MAX_INDEX_BYTES))
        except (OSError, ValueError, CorruptRecord):
            values = None
        if not isinstance(values, list) or len(values) != len(self.names):
            self._rebuild_from_records()  # another process wrote a different state: reread
            return self._loaded.get(field)
        self._loaded[field] = values
        return values

    def keys(self, kind: str) -> list[str]:
        """Every key of ``kind`` (metric, param, tag) that some run has."""
        prefix = f"{kind}\x00"
        return [field[len(prefix) :] for field in self.columns if field.startswith(prefix)]

    def entries_at(self, positions: list[int]) -> list[tuple[RunEntry, str] | None]:
        """The entries of the runs at ``positions`` (None for an unreadable record)."""
        found: list[tuple[RunEntry, str] | None] = []
        items = self._items_at(positions)
        for position, item in zip(positions, items, strict=True):
            name = self.names[position]
            run_dir = os.path.join(self.runs_dir, self.experiment_id, name)
            if isinstance(item, list) and not _belongs_here(item, name, self.experiment_id):
                item = _read(os.path.join(run_dir, RUN_FILE))  # a cache entry naming elsewhere
                if not isinstance(item, list):
                    _warn(os.path.join(run_dir, RUN_FILE), (-1, -1), str(item))
            elif item is None:
                item = _read(os.path.join(run_dir, RUN_FILE))  # a cache line that won't parse
            # An unreadable record (a string: why) was reported when the index read it.
            found.append((RunEntry(*item), run_dir) if isinstance(item, list) else None)
        return found

    def _items_at(self, positions: list[int]) -> list[Any]:
        if self._patched:
            items = self._items_at_unpatched(positions)
            return [self._patched.get(p, item) for p, item in zip(positions, items, strict=True)]
        return self._items_at_unpatched(positions)

    def _all_items(self) -> list[Any] | None:
        """Every entry, parsed as one JSON array (one call, not one per run), or None."""
        try:
            data = read_regular_file(self.folder / ENTRIES_FILE, MAX_INDEX_BYTES)
            items = json.loads(b"[" + data.rstrip(b"\n").replace(b"\n", b",") + b"]")
        except (OSError, ValueError, CorruptRecord):
            return None
        return items if isinstance(items, list) and len(items) == len(self.names) else None

    def _items_at_unpatched(self, positions: list[int]) -> list[Any]:
        if self._lines is None and len(positions) == len(self.names) > 100:
            every = self._all_items()
            if every is not None:
                return [every[position] for position in positions]
        if self._lines is not None:
            return [_parse(self._lines[position]) for position in positions]
        items: list[Any] = []
        try:
            descriptor = os.open(self.folder / ENTRIES_FILE, os.O_RDONLY | os.O_NOFOLLOW)
            with os.fdopen(descriptor, "rb") as file:
                for position in positions:
                    file.seek(self._offsets[position])
                    line = file.read(self._offsets[position + 1] - self._offsets[position])
                    try:
                        items.append(json.loads(line))
                    except ValueError:
                        items.append(None)
        except OSError:
            return [None] * len(positions)
        return items

    def patch(self, position: int, entry: RunEntry) -> None:
        """Use ``entry`` for the run at ``position`` in this process (a RUNNING run found
        dead reads as KILLED): its columns and its entry, not the files."""
        for field in ATTRIBUTE_FIELDS:
            column = self.column("attribute", field)
            if column is not None and field != "id":
                column[position] = getattr(entry, field)
        for kind, values in (
            ("metric", entry.metrics),
            ("param", entry.params),
            ("tag", entry.tags),
        ):
            for key, value in values.items():
                column = self.column(kind, key)
                if column is None:
                    column = self._loaded[f"{kind}\x00{key}"] = [None] * len(self.names)
                    self.columns[f"{kind}\x00{key}"] = _column_file(f"{kind}\x00{key}")
                column[position] = value
        self._patched[position] = list(entry)

    def _rebuild_from_records(self) -> None:
        self._rebuild(self.names, [0, -1] * len(self.names), None)


class RunIndex:
    """The runs under one ``runs/`` folder, as fast as a scan of their sizes and mtimes."""

    def __init__(self, runs_dir: Path) -> None:
        self.runs_dir = runs_dir

    def experiment(self, experiment_id: str) -> ExperimentIndex:
        return ExperimentIndex(self.runs_dir, experiment_id).refresh()

    def entries(self, experiment_ids: list[str]) -> list[tuple[RunEntry, str]]:
        """Every readable run of the given experiments with its folder; an unreadable
        record is skipped with one warning naming its file."""
        found: list[tuple[RunEntry, str]] = []
        for experiment_id in experiment_ids:
            index = self.experiment(experiment_id)
            found.extend(item for item in index.entries_at(list(range(len(index.names)))) if item)
        return found


records_read = 0  # how many run.yaml files this process parsed: a cache's worth is in it


def _read(record_path: str) -> list[Any] | str:
    """The run's entry as a list (what the cache stores), or why it can't be read."""
    global records_read
    records_read += 1
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
    once.warn_once(
        logger,
        ("skipped record", record_path, signature),
        "Skipped %s: %s. Run 'gitruns check' to see what is wrong.",
        record_path,
        reason.rstrip("."),
    )


def _parse(line: bytes) -> Any:
    try:
        return json.loads(line)
    except ValueError:
        return None


def _update_columns(columns: dict[str, list[Any]], fresh: dict[int, Any], count: int) -> None:
    """Put the freshly read entries' values into the columns; drop columns no run has."""
    for position, item in fresh.items():
        if not isinstance(item, list):
            continue
        for field in ATTRIBUTE_FIELDS:
            _column_in(columns, f"attribute\x00{field}", count)[position] = item[
                RunEntry._fields.index(field)
            ]
        for kind, field_name in (("metric", "metrics"), ("param", "params"), ("tag", "tags")):
            for key, value in item[RunEntry._fields.index(field_name)].items():
                _column_in(columns, f"{kind}\x00{key}", count)[position] = value
    for field in [f for f, values in columns.items() if not f.startswith("attribute\x00")]:
        if all(value is None for value in columns[field]):
            del columns[field]


def _column_in(columns: dict[str, list[Any]], field: str, count: int) -> list[Any]:
    """A column, made empty when missing (never a list of ``count`` made only to be dropped:
    at 100,000 runs that cost a second a pull)."""
    column = columns.get(field)
    if column is None:
        column = columns[field] = [None] * count
    return column


def _column_file(field: str) -> str:
    """A column's file name: a digest of its kind and key (never the key itself)."""
    return f"c-{hashlib.sha1(field.encode('utf-8', 'surrogatepass')).hexdigest()[:20]}.json"


# RunEntry's fields a filter or order reads as attributes, kept as columns too.
ATTRIBUTE_FIELDS = ("id", "name", "status", "lifecycle_stage", "start_time", "end_time",
                    "user", "parent", "experiment", "datasets")  # fmt: skip


def _columns_of(entries: list[list[Any] | str], names: list[str]) -> dict[str, list[Any]]:
    """Every column of a list of entries: attributes, then each metric, param and tag."""
    count = len(entries)
    columns: dict[str, list[Any]] = {}
    positions = {field: RunEntry._fields.index(field) for field in ATTRIBUTE_FIELDS}
    for field, at in positions.items():
        columns[f"attribute\x00{field}"] = [
            item[at] if isinstance(item, list) else None for item in entries
        ]
    columns["attribute\x00id"] = list(names)  # a run is its folder, whatever its entry says
    for kind, field_name in (("metric", "metrics"), ("param", "params"), ("tag", "tags")):
        at = RunEntry._fields.index(field_name)
        for position, item in enumerate(entries):
            if not isinstance(item, list):
                continue
            for key, value in item[at].items():
                field = f"{kind}\x00{key}"
                column = columns.get(field)
                if column is None:
                    column = columns[field] = [None] * count
                column[position] = value
    return columns


def _is_real_folder(path: Path) -> bool:
    try:
        return stat.S_ISDIR(os.lstat(path).st_mode)
    except OSError:
        return False


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
