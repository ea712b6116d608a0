"""A cache of what searches need of every run, refreshed from the files that changed.

The files stay the truth. The cache is a folder per experiment under ``runs/.index/``,
kept out of git by ``runs/.gitignore``; deleting it loses nothing but the time to rebuild
it. A search stats each ``run.yaml`` (one system call a run), reads the cache, and parses
only the records whose size or mtime changed since. Each run is cached as a
:class:`RunEntry` (ids, status, times, params, tags and the last value of each metric,
which is all a filter, an ordering or a listing reads), a line of ``entries.jsonl``; each
field is a column file too, so a search reads only the columns it names. ``state.json``,
written last, says which files make the cache; ``delta.json`` holds the runs a pull
brought since.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import os
import re
import secrets
import stat
import struct
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any, NamedTuple

from gitruns import once
from gitruns.exceptions import CorruptRecord
from gitruns.store.names import RUN_ID_PATTERN
from gitruns.store.record import LOCK_SUFFIX, RUN_FILE, RUNNING
from gitruns.utils.files import TEMPORARY_SUFFIX, read_regular_file, write_atomic

if TYPE_CHECKING:
    # The run record's module is imported where a record is read: a search the index
    # answers defines none of its classes.
    from gitruns.store.run_record import RunRecord

logger = logging.getLogger(__name__)

INDEX_FOLDER = ".index"
STATE_FILE = "state.json"
ENTRIES_FILE = "entries.jsonl"
COLUMN_FILE = re.compile(r"\Ac-[0-9a-f]{20}\.(?:json|f64)\Z")
FLOAT_COLUMN_SUFFIX = ".f64"  # a metric's column: 8-byte floats, then a byte per run
INDEX_VERSION = 9
DELTA_FILE = "delta.json"
DELTA_MIN_RUNS = 2_000  # a delta may hold this many runs, or a twentieth of the cache
DELTA_SHARE = 20
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
        from gitruns.store.run_record import record_tags

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

        runs/.index/<experiment>/delta.json     the runs new or changed since those
                                                files were written, whole

    A search loads the columns its filter and order name, never all the runs;
    only the page of runs it returns is read from ``entries.jsonl``. When a
    ``run.yaml`` changed (or is new after a ``git pull``), only that file is
    parsed, and it goes into ``delta.json``, which a search lays over the rest:
    a pull of 1,000 runs into 100,000 writes 1,000 entries, not 100,000. Once the
    delta holds more than a twentieth of the runs (and at least 2,000), the
    cache is written whole again and the delta starts empty.
    """

    def __init__(self, runs_dir: Path, experiment_id: str) -> None:
        self.runs_dir = runs_dir
        self.experiment_id = experiment_id
        self.folder = runs_dir / INDEX_FOLDER / experiment_id
        self.names: list[str] = []
        # Size and mtime of each run's run.yaml as this process found them, flat and in
        # the order of ``names``: what tells a reader (the site) which runs changed.
        self.signatures: list[int] = []
        self.columns: dict[str, str] = {}  # "kind\x00key" -> column file name
        self._offsets: list[int] = []
        self._loaded: dict[str, list[Any]] = {}
        self._lines: list[bytes] | None = None  # the entries' lines, when just rebuilt
        self.problems: dict[str, tuple[str, Signature]] = {}  # run -> why unreadable, where
        self._patched: dict[int, list[Any]] = {}  # entries as observed now (see patch)
        self._token = ""  # names the written cache; a delta over another one is stale
        self._delta: _Delta | None = None
        # With a delta, where each run's entry is: its position in the cache files, or
        # -1 - its position in the delta.
        self._where: list[int] = []
        self._appended = False  # the delta's runs all follow the written ones

    @property
    def experiment_dir(self) -> str:
        """The experiment's folder, where each run's folder is named by its id."""
        return os.path.join(self.runs_dir, self.experiment_id)

    def run_dir(self, position: int) -> str:
        """The folder of the run at ``position``: a folder the scan found, never a path
        made of what a record says."""
        return os.path.join(self.experiment_dir, self.names[position])

    # -- freshness ----------------------------------------------------------------

    def refresh(self) -> ExperimentIndex:
        """Bring the cache up to date with the run folders (a stat per run)."""
        experiment_dir = self.experiment_dir
        state = self._load_state()
        delta = self._load_delta(state) if state is not None else None
        known = set(state["names"]) if state is not None else set()
        if delta is not None:
            known.update(delta.names)
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
        self.signatures = signatures
        if state is None:
            self._rebuild(present, signatures, None)
            return self
        names, flat, where = _overlay(state, delta)
        if names == present and flat == signatures:
            self._use(state, delta, names, where)
            return self
        if not self._extend_delta(state, delta, names, flat, present, signatures):
            self._rebuild(present, signatures, state)
        return self

    def _use(
        self, state: dict[str, Any], delta: _Delta | None, names: list[str], where: list[int]
    ) -> None:
        """Read the cache as written, with ``delta`` laid over it."""
        self.names, self.columns, self._offsets = names, state["columns"], state["offsets"]
        self._token, self._delta, self._where = state["token"], delta, where
        # Most pulls bring runs newer than every run here (ids sort by start): the written
        # runs keep their places and the delta's follow, so a column is two lists joined.
        written = len(state["names"])
        self._appended = (
            delta is not None
            and not delta.gone
            and len(where) == written + len(delta.names)
            and where[written:] == list(range(-1, -1 - len(delta.names), -1))
        )
        experiment_dir = self.experiment_dir
        gone = delta.gone if delta is not None else frozenset()
        for (name, reason), signature in zip(
            state.get("problems", []), state.get("problem_signatures", []), strict=False
        ):
            if name not in gone:
                where_found = os.path.join(experiment_dir, str(name), RUN_FILE)
                found = (int(signature[0]), int(signature[1]))
                self.problems[str(name)] = (str(reason), found)
                _warn(where_found, found, str(reason))
        if delta is None:
            return
        for at, (name, item) in enumerate(zip(delta.names, delta.items, strict=True)):
            if isinstance(item, str):
                signature = (delta.flat[2 * at], delta.flat[2 * at + 1])
                self.problems[name] = (item, signature)
                if signature[1] != -1:  # a file read within a clock tick was said when read
                    _warn(os.path.join(experiment_dir, name, RUN_FILE), signature, item)

    def _load_delta(self, state: dict[str, Any]) -> _Delta | None:
        try:
            data = json.loads(read_regular_file(self.folder / DELTA_FILE, MAX_INDEX_BYTES))
            delta = _Delta(
                list(data["names"]),
                list(data["signatures"]),
                list(data["items"]),
                frozenset(data["gone"]),
            )
        except FileNotFoundError:
            return None
        except (OSError, ValueError, KeyError, TypeError, CorruptRecord):
            return None
        valid = (
            data.get("version") == INDEX_VERSION
            and data.get("base") == state.get("token")
            and len(delta.items) == len(delta.names)
            and len(delta.flat) == 2 * len(delta.names)
            and delta.names == sorted(set(delta.names))
            and all(isinstance(name, str) for name in delta.names)
            and all(isinstance(number, int) for number in delta.flat)
        )
        return delta if valid else None

    def _extend_delta(
        self,
        state: dict[str, Any],
        delta: _Delta | None,
        names: list[str],
        flat: list[int],
        present: list[str],
        signatures: list[int],
    ) -> bool:
        """Lay the runs that are new or changed since the cache was written over it, in
        ``delta.json``; False when they are too many (the cache is then written whole)."""
        count = len(names)
        if present[:count] == names and signatures[: 2 * count] == flat:
            changed = list(range(count, len(present)))  # a pull of newer runs: only those
        else:
            known = {name: (flat[2 * at], flat[2 * at + 1]) for at, name in enumerate(names)}
            changed = [
                at
                for at, name in enumerate(present)
                if known.get(name) != (signatures[2 * at], signatures[2 * at + 1])
            ]
        base = state["names"]
        limit = max(DELTA_MIN_RUNS, len(base) // DELTA_SHARE)
        changed_names = {present[at] for at in changed}
        kept_delta = {}
        if delta is not None:
            still = set(present)
            kept_delta = {
                name: (delta.flat[2 * at], delta.flat[2 * at + 1], delta.items[at])
                for at, name in enumerate(delta.names)
                if name in still and name not in changed_names
            }
        if len(kept_delta) + len(changed) > limit:
            return False
        now = time.time_ns()
        experiment_dir = self.experiment_dir
        entries = dict(kept_delta)
        for at in changed:
            name, size, mtime = present[at], signatures[2 * at], signatures[2 * at + 1]
            racy = now - mtime < RACY_NANOSECONDS
            record_path = os.path.join(experiment_dir, name, RUN_FILE)
            record = _read(record_path)
            if isinstance(record, str):  # said now, as the file is: once per version of it
                _warn(record_path, (size, mtime), record)
            entries[name] = (size, -1 if racy else mtime, record)
        base_names = set(base)
        removed = base_names - set(present)
        earlier = delta.gone if delta is not None else frozenset()
        gone = (earlier | removed | (changed_names & base_names)) & base_names
        ordered = sorted(entries)
        new_delta = _Delta(
            ordered,
            [number for name in ordered for number in entries[name][:2]],
            [entries[name][2] for name in ordered],
            frozenset(gone),
        )
        try:
            self._claim_folder()
            write_atomic(
                self.folder / DELTA_FILE,
                json.dumps(
                    {
                        "version": INDEX_VERSION,
                        "base": state["token"],
                        "names": new_delta.names,
                        "signatures": new_delta.flat,
                        "items": new_delta.items,
                        "gone": sorted(new_delta.gone),
                    },
                    separators=(",", ":"),
                ),
            )
        except OSError as error:  # a read-only checkout still answers, only slower
            logger.debug("Could not write the run index's delta %s: %s", self.folder, error)
        names, _, where = _overlay(state, new_delta)
        self._use(state, new_delta, names, where)
        return True

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
            and isinstance(state.get("token"), str)
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
        experiment_dir = self.experiment_dir
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
        self._delta, self._where = None, []
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
                data = read_regular_file(self.folder / file_name, MAX_INDEX_BYTES)
                values = _decode_column(file_name, data, count)
            except (OSError, ValueError, CorruptRecord):
                return None
            if values is None:
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
                write_atomic(
                    self.folder / file_name, _encode_column(file_name, self._loaded[field])
                )
            self._token = secrets.token_hex(8)
            state = {
                "version": INDEX_VERSION,
                "token": self._token,
                "names": self.names,
                "signatures": [number for signature in signatures for number in signature],
                "offsets": offsets,
                "columns": self.columns,
                "problems": [[name, reason] for name, (reason, _) in self.problems.items()],
                "problem_signatures": [list(where) for _, where in self.problems.values()],
            }
            write_atomic(self.folder / STATE_FILE, json.dumps(state))  # last: the switch
            with contextlib.suppress(FileNotFoundError):
                os.unlink(self.folder / DELTA_FILE)  # over the old cache: stale now
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
        if kind == "attribute" and key == "id":  # a run's id is its folder's name
            return self.names
        field = f"{kind}\x00{key}"
        if field in self._loaded:
            return self._loaded[field]
        file_name = self.columns.get(field)
        values: list[Any] | None = None
        if file_name is not None:
            count = len(self._offsets) - 1
            try:
                data = read_regular_file(self.folder / file_name, MAX_INDEX_BYTES)
                values = _decode_column(file_name, data, count)
            except (OSError, ValueError, CorruptRecord):
                values = None
            if values is None:
                self._rebuild_from_records()  # another process wrote a different state: reread
                return self._loaded.get(field)
        if self._delta is not None:
            values = self._overlaid(kind, key, values)
        if values is None:
            return None
        self._loaded[field] = values
        return values

    def _overlaid(self, kind: str, key: str, written: list[Any] | None) -> list[Any] | None:
        """A column of the written cache with the delta's values laid over it."""
        assert self._delta is not None
        fresh = [_value_of(item, kind, key) for item in self._delta.items]
        if written is None and all(value is None for value in fresh):
            return None
        if written is None:
            return [None if at >= 0 else fresh[-1 - at] for at in self._where]
        if self._appended:  # new runs after all the written ones: no run moved
            return written + fresh
        return [written[at] if at >= 0 else fresh[-1 - at] for at in self._where]

    def keys(self, kind: str) -> list[str]:
        """Every key of ``kind`` (metric, param, tag) that some run has."""
        prefix = f"{kind}\x00"
        found = [field[len(prefix) :] for field in self.columns if field.startswith(prefix)]
        if self._delta is not None and kind in _ENTRY_MAPS:
            at = RunEntry._fields.index(_ENTRY_MAPS[kind])
            seen = set(found)
            for item in self._delta.items:
                if isinstance(item, list):
                    for key in item[at]:
                        if key not in seen:
                            seen.add(key)
                            found.append(key)
        return found

    def entries_at(self, positions: list[int]) -> list[tuple[RunEntry, str] | None]:
        """The entries of the runs at ``positions`` (None for an unreadable record)."""
        found: list[tuple[RunEntry, str] | None] = []
        items = self._items_at(positions)
        for position, item in zip(positions, items, strict=True):
            name = self.names[position]
            run_dir = self.run_dir(position)
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
        """Every entry of the written cache, parsed as one JSON array (one call, not one
        per run), or None."""
        try:
            data = read_regular_file(self.folder / ENTRIES_FILE, MAX_INDEX_BYTES)
            items = json.loads(b"[" + data.rstrip(b"\n").replace(b"\n", b",") + b"]")
        except (OSError, ValueError, CorruptRecord):
            return None
        return items if isinstance(items, list) and len(items) == len(self._offsets) - 1 else None

    def _items_at_unpatched(self, positions: list[int]) -> list[Any]:
        if self._delta is None:
            return self._written_items(positions)
        wanted = [self._where[position] for position in positions]
        written = iter(self._written_items([at for at in wanted if at >= 0]))
        return [next(written) if at >= 0 else self._delta.items[-1 - at] for at in wanted]

    def _written_items(self, positions: list[int]) -> list[Any]:
        """The entries at ``positions`` of the written cache."""
        if self._lines is None and len(positions) > 100 and len(positions) >= len(self.names) // 2:
            every = self._all_items()
            if every is not None:
                return [every[position] for position in positions]
        if self._lines is not None:
            if len(positions) > 100 and len(positions) >= len(self._lines) // 2:
                every = _parse(b"[" + b",".join(line.rstrip(b"\n") for line in self._lines) + b"]")
                if isinstance(every, list) and len(every) == len(self._lines):
                    return [every[position] for position in positions]
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


class _Delta(NamedTuple):
    """The runs new or changed since the cache files were written (``delta.json``)."""

    names: list[str]  # sorted
    flat: list[int]  # size, mtime of each (mtime -1: to be read again)
    items: list[Any]  # each run's entry, or why its record cannot be read
    gone: frozenset[str]  # runs of the written cache that changed or left


def _overlay(state: dict[str, Any], delta: _Delta | None) -> tuple[list[str], list[int], list[int]]:
    """The runs as the written cache and the delta say together, in folder order: names,
    sizes and mtimes (flat), and where each entry is (see ``ExperimentIndex._where``)."""
    base, flat = state["names"], state["signatures"]
    if delta is None:
        return base, flat, []
    names: list[str] = []
    signatures: list[int] = []
    where: list[int] = []
    gone = delta.gone
    at_delta, count = 0, len(delta.names)
    for at, name in enumerate(base):
        while at_delta < count and delta.names[at_delta] < name:
            names.append(delta.names[at_delta])
            signatures += delta.flat[2 * at_delta : 2 * at_delta + 2]
            where.append(-1 - at_delta)
            at_delta += 1
        if name in gone:
            continue
        names.append(name)
        signatures += flat[2 * at : 2 * at + 2]
        where.append(at)
    for rest in range(at_delta, count):
        names.append(delta.names[rest])
        signatures += delta.flat[2 * rest : 2 * rest + 2]
        where.append(-1 - rest)
    return names, signatures, where


_ENTRY_MAPS = {"metric": "metrics", "param": "params", "tag": "tags"}


def _value_of(item: Any, kind: str, key: str) -> Any:
    """One field of a cached entry: an attribute, or a metric's, param's or tag's value."""
    if not isinstance(item, list) or len(item) != len(RunEntry._fields):
        return None
    if kind == "attribute":
        return item[RunEntry._fields.index(key)] if key in RunEntry._fields else None
    values = item[RunEntry._fields.index(_ENTRY_MAPS[kind])] if kind in _ENTRY_MAPS else None
    return values.get(key) if isinstance(values, dict) else None


records_read = 0  # how many run.yaml files this process parsed: a cache's worth is in it


def _read(record_path: str) -> list[Any] | str:
    """The run's entry as a list (what the cache stores), or why it can't be read."""
    from gitruns.store.run_record import parse_run_record

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
    """A column's file name: a digest of its kind and key (never the key itself). A
    metric's column is binary (:func:`_encode_column`), any other JSON."""
    digest = hashlib.sha1(field.encode("utf-8", "surrogatepass")).hexdigest()[:20]
    suffix = FLOAT_COLUMN_SUFFIX if field.startswith("metric\x00") else ".json"
    return f"c-{digest}{suffix}"


def _encode_column(file_name: str, values: list[Any]) -> bytes:
    """A column file's bytes. A metric's: its values as little-endian doubles, then one
    byte per run, 1 where the run lacks the metric. JSON parses a thousand floats in
    about 200 µs; these read in 10."""
    if not file_name.endswith(FLOAT_COLUMN_SUFFIX):
        return json.dumps(values).encode()
    present = [isinstance(value, float) for value in values]  # a record's metrics are floats
    numbers = [value if here else 0.0 for value, here in zip(values, present, strict=True)]
    return struct.pack(f"<{len(numbers)}d", *numbers) + bytes(not here for here in present)


def _decode_column(file_name: str, data: bytes, count: int) -> list[Any] | None:
    """A column's ``count`` values from its file (None where a run lacks one), or None
    when the file does not hold a column of ``count`` runs."""
    if not file_name.endswith(FLOAT_COLUMN_SUFFIX):
        parsed = json.loads(data)
        return parsed if isinstance(parsed, list) and len(parsed) == count else None
    if len(data) != 9 * count:
        return None
    values: list[Any]
    if sys.byteorder == "little":  # read in place, without the struct machinery
        values = memoryview(data)[: 8 * count].cast("d").tolist()
    else:
        values = list(struct.unpack_from(f"<{count}d", data))
    lacking = data[8 * count :]
    if lacking.count(0) != count:
        values = [None if flag else value for value, flag in zip(values, lacking, strict=True)]
    return values


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
