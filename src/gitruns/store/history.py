"""Metric histories on disk: the log a live run appends to, and the table it ends as.

::

    runs/<experiment>/<run-id>/metrics.log   while a run lives: one line per value,
                                             key, step, timestamp, value (tab-separated)
    runs/<experiment>/<run-id>/metrics.tsv   once it ends: one row per step and time the
                                             values were logged at, one column per metric

The log only ever grows by whole lines, so a process killed at any instant
leaves every value it flushed. Ending a run folds the log into the table: one
file per run, a column per metric, which git compresses to a third of one
file per metric (the step and timestamp are written once per row, not once per
value). Both are plain TSV that ``pandas.read_csv(path, sep="\\t")`` reads; an
empty table cell is a value not logged in that row, ``nan`` a NaN logged.

Schema 1 runs kept one file per metric, ``metrics/<key>.tsv`` (DVCLive's
columns); :func:`read_histories` reads those too, and ``gitruns migrate``
rewrites them.
"""

from __future__ import annotations

import contextlib
import logging
import os
from collections.abc import Iterable, Iterator
from pathlib import Path

from gitruns.exceptions import CorruptRecord
from gitruns.store.record import MAX_METRIC_FILE_BYTES
from gitruns.utils.files import (
    append_whole,
    read_regular_file,
    regular_files,
    warn_once,
    write_atomic,
)

logger = logging.getLogger(__name__)

LOG_FILE = "metrics.log"
TABLE_FILE = "metrics.tsv"
LOG_HEADER = "key\tstep\ttimestamp\tvalue\n"
TABLE_COLUMNS = ("step", "timestamp")  # then one column per metric key, sorted
LEGACY_METRICS_DIR = "metrics"  # schema 1: metrics/<key>.tsv, one file per metric
LEGACY_SUFFIX = ".tsv"

History = list[tuple[int, int, float]]  # (timestamp, step, value), in the order logged
# A logged value as stored: key, step, timestamp, and the value's text (kept as written,
# so folding a log into a table never rounds a number).
Point = tuple[str, int, int, str]


def history_files(run_dir: Path, schema: int) -> list[Path]:
    """The files holding a run's metric histories (what a cache keys on)."""
    if schema < 2:
        return [path for _, path in _legacy_files(run_dir)]
    return [path for path in (run_dir / TABLE_FILE, run_dir / LOG_FILE) if path.exists()]


def read_histories(run_dir: Path, schema: int) -> dict[str, History]:
    """Every metric's history of one run, by key.

    The log is read before the table: a run ending meanwhile writes the table
    before removing the log, so a value is seen once or twice, never not at all,
    and values seen twice are dropped here.
    """
    if schema < 2:
        return _read_legacy(run_dir)
    logged = _read_log(run_dir / LOG_FILE)
    points = _read_table(run_dir / TABLE_FILE)
    if logged:
        seen = set(points)
        points.extend(point for point in logged if point not in seen)
    histories: dict[str, History] = {}
    for key, step, timestamp, text in points:
        histories.setdefault(key, []).append((timestamp, step, float(text)))
    return histories


def read_history(run_dir: Path, schema: int, key: str) -> History:
    """One metric's history of one run: what ``read_histories(...)[key]`` holds, read
    without parsing the others (a run of 2,000 metrics each at its own step has a table
    of 2,000 columns; one column of it is read in milliseconds)."""
    if schema < 2:
        return _read_legacy(run_dir).get(key, [])
    logged = [point for point in _read_log(run_dir / LOG_FILE) if point[0] == key]
    points = _read_column(run_dir / TABLE_FILE, key) if (run_dir / TABLE_FILE).exists() else []
    if logged:
        seen = set(points)
        points.extend(point for point in logged if point not in seen)
    return [(timestamp, step, float(text)) for _, step, timestamp, text in points]


def _read_column(path: Path, key: str) -> list[Point]:
    """The points of one key in a table; rows with a wrong cell count are left out, as
    :func:`_read_table` leaves them out."""
    try:
        data = read_regular_file(path, MAX_METRIC_FILE_BYTES)
    except (OSError, CorruptRecord):
        _read(path)  # which says once what is wrong with it
        return []
    header_end = data.find(b"\n")
    header = data[:header_end].decode("utf-8", errors="replace").split("\t")
    if tuple(header[:2]) != TABLE_COLUMNS or key not in header[2:]:
        return []
    column = header.index(key, 2)
    if len(header) < WIDE_TABLE_COLUMNS:
        text = data.decode("utf-8", errors="replace")
        return [point for point in _parse_table(text, path) if point[0] == key]
    points: list[Point] = []
    for step, timestamp, cell in _cells(data, column, len(header) - 1):
        text = cell.decode("utf-8", errors="replace")
        try:
            float(text)
            points.append((key, int(step), int(timestamp), text))
        except ValueError:
            continue
    return points


# A table this wide is read a column at a time with numpy: a wide run's table has a cell
# for every metric in every row, and splitting them all is what took the time.
WIDE_TABLE_COLUMNS = 200


def _cells(data: bytes, column: int, tabs: int) -> Iterator[tuple[bytes, bytes, bytes]]:
    """(step, timestamp, cell) of each row whose cell at ``column`` is not empty, in a
    table's bytes, found from the positions of its tabs and newlines."""
    import numpy as np

    text = np.frombuffer(data, dtype=np.uint8)
    ends = np.flatnonzero(text == ord("\n"))
    tab_at = np.flatnonzero(text == ord("\t"))
    starts = np.concatenate(([0], ends[:-1] + 1))
    first = np.searchsorted(tab_at, starts)
    whole = np.flatnonzero(np.searchsorted(tab_at, ends) - first == tabs)
    rows = whole[whole > 0]  # row 0 is the header
    if not len(rows):
        return
    left = tab_at[first[rows] + column - 1] + 1
    right = tab_at[first[rows] + column] if column < tabs else ends[rows]
    filled = right > left
    for row, begin, end in zip(rows[filled], left[filled], right[filled], strict=True):
        start = int(starts[row])
        step_end = int(tab_at[first[row]])
        time_end = int(tab_at[first[row] + 1])
        yield data[start:step_end], data[step_end + 1 : time_end], data[int(begin) : int(end)]


# -- writing ---------------------------------------------------------------------------


class MetricLog:
    """The metric log of one live run: lines buffered in memory, appended whole.

    Appending to a buffer keeps ``log_metric`` in microseconds; :meth:`flush`
    writes the pending lines with one ``write`` call, so the file only ever grows
    by whole lines, and two processes logging to one run never interleave.
    """

    def __init__(self, run_dir: Path) -> None:
        self.path = run_dir / LOG_FILE
        self._pending: list[str] = []
        self._started = False

    @property
    def pending_lines(self) -> int:
        return len(self._pending)

    def append(self, key: str, timestamp: int, step: int, value: float) -> None:
        self._pending.append(f"{key}\t{step}\t{timestamp}\t{value!r}\n")

    def flush(self) -> None:
        pending, self._pending = self._pending, []
        if not pending:
            return
        if not self._started:
            # Exclusive: two processes logging one run write one header between them.
            with contextlib.suppress(FileExistsError):
                descriptor = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
                try:
                    os.write(descriptor, LOG_HEADER.encode("utf-8"))
                finally:
                    os.close(descriptor)
            self._started = True
        append_whole(self.path, "".join(pending).encode("utf-8"))


def fold_log(run_dir: Path) -> bool:
    """Fold a run's ``metrics.log`` into its ``metrics.tsv``; True when there was one.

    Call it under the run's record lock, with no writer of this run left open.
    The table is written whole before the log goes, so a crash in between
    leaves both, which read as one history.
    """
    log = run_dir / LOG_FILE
    if not os.path.lexists(log):
        return False
    logged = _read_log(log)
    points = _read_table(run_dir / TABLE_FILE)
    seen = set(points)
    points.extend(point for point in logged if point not in seen)
    if not fits_table(points):
        logger.info("%s keeps its metrics.log: a metric is named like a column.", run_dir)
        return False
    if points:
        write_atomic(run_dir / TABLE_FILE, table_text(points))
    log.unlink()
    return True


def fits_table(points: Iterable[Point]) -> bool:
    """Whether a table can hold these points: a metric called "step" or "timestamp" has no
    column of its own, so such a run keeps its history as a log."""
    return not any(point[0] in TABLE_COLUMNS for point in points)


def write_histories(run_dir: Path, points: list[Point]) -> None:
    """Write a whole history at once: a table, or a log when a table cannot hold it."""
    if fits_table(points):
        write_atomic(run_dir / TABLE_FILE, table_text(points))
    else:
        lines = "".join(f"{key}\t{step}\t{ts}\t{text}\n" for key, step, ts, text in points)
        write_atomic(run_dir / LOG_FILE, LOG_HEADER + lines)


def table_text(points: Iterable[Point]) -> str:
    """The table of ``points`` (in logged order): a row per step and timestamp logged
    together, a new row whenever a key comes again."""
    rows: list[tuple[int, int, dict[str, str]]] = []
    current: dict[str, str] = {}
    at_step = at_time = None
    for key, step, timestamp, text in points:
        if step != at_step or timestamp != at_time or key in current:
            current = {}
            at_step, at_time = step, timestamp
            rows.append((step, timestamp, current))
        current[key] = text
    columns = sorted({key for _, _, values in rows for key in values})
    lines = ["\t".join((*TABLE_COLUMNS, *columns)) + "\n"]
    if len(columns) == 1:  # one metric: no lookups per cell
        lines += [f"{step}\t{ts}\t{values[columns[0]]}\n" for step, ts, values in rows]
    else:
        for step, timestamp, values in rows:
            cells = "\t".join([values.get(key, "") for key in columns])
            lines.append(f"{step}\t{timestamp}\t{cells}\n")
    return "".join(lines)


def points_of(histories: dict[str, History]) -> list[Point]:
    """Points in the order a run would have logged them: by time, then step, then key."""
    points = [
        (key, step, timestamp, repr(value))
        for key, history in histories.items()
        for timestamp, step, value in history
    ]
    points.sort(key=lambda point: (point[2], point[1]))
    return points


# -- reading ---------------------------------------------------------------------------


def check_histories(run_dir: Path, schema: int) -> list[tuple[Path, str]]:
    """Every problem with a run's history files, as (file, what is wrong)."""
    problems: list[tuple[Path, str]] = []
    if schema < 2:
        for _key, path in _legacy_files(run_dir):
            _parse_legacy(path, problems)
    else:
        _read_log(run_dir / LOG_FILE, problems)
        _read_table(run_dir / TABLE_FILE, problems)
    return problems


Problems = list[tuple[Path, str]] | None  # where parsers report; None: warn once and go on


def _report(problems: Problems, path: Path, size: int, problem: str) -> None:
    if problems is None:
        warn_once(path, size, problem)
    else:
        problems.append((path, problem))


def _read_log(path: Path, problems: Problems = None) -> list[Point]:
    """The whole lines of a metric log; a last line cut by a kill is skipped."""
    data = _read(path, problems)
    if data is None:
        return []
    lines = data.split("\n")[1:-1]
    try:  # every line as gitruns writes it: one pass, no check per line in Python
        cells = [line.split("\t") for line in lines]
        points = [(key, int(step), int(ts), text) for key, step, ts, text in cells]
        for _ in map(float, [point[3] for point in points]):
            pass
        return points
    except ValueError:
        pass
    points = []
    bad = 0
    for line in lines:
        parts = line.split("\t")
        if len(parts) != 4:
            bad += 1
            continue
        try:
            float(parts[3])
            points.append((parts[0], int(parts[1]), int(parts[2]), parts[3]))
        except ValueError:
            bad += 1
    if bad:
        _report(problems, path, len(data), f"{bad} line(s) are not 'key, step, timestamp, value'")
    return points


def _read_table(path: Path, problems: Problems = None) -> list[Point]:
    data = _read(path, problems)
    return [] if data is None else _parse_table(data, path, problems)


def _parse_table(data: str, path: Path, problems: Problems = None) -> list[Point]:
    lines = data.split("\n")
    header = lines[0].split("\t")
    if tuple(header[:2]) != TABLE_COLUMNS:
        _report(problems, path, len(data), "its header does not start with step<TAB>timestamp")
        return []
    keys = header[2:]
    width = len(header)
    points: list[Point] = []
    bad = 0
    for line in lines[1:-1]:
        cells = line.split("\t")
        if len(cells) != width:
            bad += 1
            continue
        try:
            step, timestamp = int(cells[0]), int(cells[1])
            for key, text in zip(keys, cells[2:], strict=True):
                if text:
                    float(text)
                    points.append((key, step, timestamp, text))
        except ValueError:
            bad += 1
    if bad:
        _report(problems, path, len(data), f"{bad} row(s) with a wrong cell count or a non-number")
    return points


def _read(path: Path, problems: Problems = None) -> str | None:
    try:
        return read_regular_file(path, MAX_METRIC_FILE_BYTES).decode("utf-8", errors="replace")
    except FileNotFoundError:
        return None
    except (OSError, CorruptRecord) as error:
        _report(problems, path, -1, str(getattr(error, "message", error)))
        return None


def _legacy_files(run_dir: Path) -> list[tuple[str, Path]]:
    return [
        (relative[: -len(LEGACY_SUFFIX)], path)
        for relative, path in regular_files(run_dir / LEGACY_METRICS_DIR)
        if relative.endswith(LEGACY_SUFFIX)
    ]


def _read_legacy(run_dir: Path) -> dict[str, History]:
    """Schema 1: ``metrics/<key>.tsv`` with the columns timestamp, step, value."""
    histories: dict[str, History] = {}
    for key, path in _legacy_files(run_dir):
        rows = _parse_legacy(path)
        if rows:
            histories[key] = rows
    return histories


def legacy_row(line: str) -> tuple[int, int, float]:
    """One line of a schema-1 metric file: timestamp, step, value; ValueError if not."""
    parts = line.split("\t")
    if len(parts) != 3:
        raise ValueError(line)
    return int(parts[0]), int(parts[1]), float(parts[2])


def _parse_legacy(path: Path, problems: Problems = None) -> History:
    data = _read(path, problems)
    if data is None:
        return []
    rows: History = []
    bad = 0
    for line in data.split("\n")[1:-1]:
        try:
            rows.append(legacy_row(line))
        except ValueError:
            bad += 1
    if bad:
        _report(problems, path, len(data), f"{bad} line(s) are not 'timestamp<TAB>step<TAB>value'")
    return rows
