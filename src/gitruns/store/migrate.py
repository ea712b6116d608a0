"""Rewriting run folders in the current layout, one run at a time, in place.

Schema 1 kept a file per metric (``metrics/<key>.tsv``) and a package list
(``requirements.txt``) in every run folder; schema 2 keeps one metric table
and a digest naming a package list stored once under ``runs/_environments/``.

A run moves over whole or not at all. Every schema-1 file is read first, hidden
names included and no link followed; one that cannot be carried (a link, a fifo,
a device, too large, a line that is not a value) leaves the run at schema 1, its
files untouched, with the reason in the report. The new files are written,
flushed and read back; only when they hold every value and the same package list
is ``run.yaml`` replaced with one saying ``schema: 2`` (the switch readers go
by), and only then are the old files removed, one by one, each carried file
alone. A migration killed at any instant leaves a run that reads whole, under
one schema or the other; running it again finishes the job. Runs a live process
is still writing are left for later.
"""

from __future__ import annotations

import contextlib
import logging
import os
import stat
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from gitruns.exceptions import GitrunsError
from gitruns.store.environments import (
    ENVIRONMENTS_DIR,
    LEGACY_REQUIREMENTS_FILE,
    MAX_REQUIREMENTS_BYTES,
    store_requirements,
)
from gitruns.store.folder import RunStore
from gitruns.store.history import (
    LEGACY_METRICS_DIR,
    LEGACY_SUFFIX,
    LOG_FILE,
    TABLE_FILE,
    History,
    fold_log,
    legacy_row,
    points_of,
    read_histories,
    write_histories,
)
from gitruns.store.record import (
    LAYOUT_SCHEMA,
    MAX_METRIC_FILE_BYTES,
    RUN_FILE,
    RUNNING,
    record_lock,
)
from gitruns.store.run_record import RunRecord, read_run_record
from gitruns.utils.files import read_regular_file, read_small_text, write_atomic
from gitruns.utils.processes import process_alive
from gitruns.utils.yamlcodec import emit_record_yaml

logger = logging.getLogger(__name__)


@dataclass
class MigrationReport:
    """What :func:`migrate_runs` did, run by run."""

    migrated: list[Path] = field(default_factory=list)  # rewritten in the current layout
    folded: list[Path] = field(default_factory=list)  # an ended run's metric log made a table
    current: int = 0  # already in the current layout
    live: list[Path] = field(default_factory=list)  # still being written: left as they are
    failed: list[tuple[Path, str]] = field(default_factory=list)


def migrate_runs(
    runs_dir: Path, progress: Callable[[int, int], None] | None = None
) -> MigrationReport:
    """Bring every run under ``runs_dir`` to the current layout (schema 2), in place.

    Also folds the metric log of every ended run (a process killed mid-run
    leaves one) into its table. ``progress(done, total)`` is called after each run.

    Example::

        report = migrate_runs(Path("runs"))
        print(len(report.migrated), "runs migrated")
    """
    store = RunStore(runs_dir)
    run_dirs = list(store.run_dirs())
    report = MigrationReport()
    for done, run_dir in enumerate(run_dirs, start=1):
        try:
            outcome = migrate_run(run_dir, runs_dir)
        except (GitrunsError, OSError) as error:
            message = getattr(error, "message", None) or str(error)
            report.failed.append((run_dir, message))
            logger.warning("Could not migrate %s: %s", run_dir, message)
        else:
            if outcome == "migrated":
                report.migrated.append(run_dir)
            elif outcome == "folded":
                report.folded.append(run_dir)
            elif outcome == "live":
                report.live.append(run_dir)
            else:
                report.current += 1
        if progress is not None:
            progress(done, len(run_dirs))
    return report


def fold_ended_logs(runs_dir: Path) -> list[Path]:
    """Fold the metric log of every ended run into its table (a run whose process was
    killed, or one logged to by id after it ended, keeps one); returns those runs."""
    folded = []
    for run_dir in RunStore(runs_dir).run_dirs():
        if (run_dir / LOG_FILE).exists():
            try:
                if migrate_run(run_dir, runs_dir) in ("folded", "migrated"):
                    folded.append(run_dir)
            except (GitrunsError, OSError) as error:
                logger.warning("Left %s as it is: %s", run_dir, error)
    return folded


def migrate_run(run_dir: Path, runs_dir: Path) -> str:
    """Bring one run to the current layout; says what it did: ``"migrated"``,
    ``"folded"``, ``"live"`` (left alone) or ``"current"`` (nothing to do)."""
    with record_lock(run_dir):
        record = read_run_record(run_dir)
        if record.status == RUNNING and process_alive(record.process) is not False:
            return "live"
        if record.schema >= LAYOUT_SCHEMA:
            _remove_schema_1_files(run_dir)  # left by a migration killed after its switch
            if (run_dir / LOG_FILE).exists() and fold_log(run_dir):
                return "folded"
            return "current"
        _rewrite(record, run_dir, runs_dir)
        return "migrated"


class NotCarried(GitrunsError):
    """A schema-1 file that cannot be carried over; its run stays at schema 1."""


@dataclass
class Schema1Files:
    """Everything a schema-1 run holds that schema 2 keeps elsewhere, read whole."""

    histories: dict[str, History]
    requirements: str | None
    files: list[Path]  # each file read, to be removed once carried
    folders: list[Path]  # deepest first, removed when left empty


def read_schema_1_files(run_dir: Path) -> Schema1Files:
    """Read ``metrics/**.tsv`` and ``requirements.txt`` strictly: every file a regular
    one (hidden names too, no link followed), every line a value; else NotCarried."""
    histories: dict[str, History] = {}
    files: list[Path] = []
    folders: list[Path] = []
    metrics = run_dir / LEGACY_METRICS_DIR
    if os.path.lexists(metrics):
        _must_be(metrics, stat.S_ISDIR, "a folder")
        for folder, names, file_names in os.walk(metrics):  # never into a linked folder
            folders.append(Path(folder))
            for name in sorted(names):
                _must_be(Path(folder) / name, stat.S_ISDIR, "a folder")
            for name in sorted(file_names):
                path = Path(folder) / name
                relative = path.relative_to(metrics).as_posix()
                if not relative.endswith(LEGACY_SUFFIX):
                    raise NotCarried(f"{path} is not a metric file (*{LEGACY_SUFFIX})")
                histories[relative[: -len(LEGACY_SUFFIX)]] = _legacy_history(path)
                files.append(path)
    requirements = None
    legacy = run_dir / LEGACY_REQUIREMENTS_FILE
    if os.path.lexists(legacy):
        requirements = _text(legacy, MAX_REQUIREMENTS_BYTES)
        files.append(legacy)
    return Schema1Files(histories, requirements, files, folders[::-1])


def _must_be(path: Path, test: Callable[[int], bool], what: str) -> None:
    if not test(os.lstat(path).st_mode):
        raise NotCarried(f"{path} is not {what} (a link, fifo or device is never followed)")


def _text(path: Path, limit: int) -> str:
    try:
        return read_regular_file(path, limit).decode("utf-8")
    except UnicodeDecodeError:
        raise NotCarried(f"{path} is not UTF-8 text") from None
    except GitrunsError as error:
        raise NotCarried(error.message) from None


def _legacy_history(path: Path) -> History:
    rows: History = []
    lines = _text(path, MAX_METRIC_FILE_BYTES).split("\n")
    for number, line in enumerate(lines[1:], start=2):
        if not line and number == len(lines):
            continue  # the file's last newline
        try:
            rows.append(legacy_row(line))
        except ValueError:
            raise NotCarried(
                f"line {number} of {path} is not 'timestamp<TAB>step<TAB>value': {line[:80]!r}"
            ) from None
    return rows


def _rewrite(record: RunRecord, run_dir: Path, runs_dir: Path) -> None:
    try:
        old = read_schema_1_files(run_dir)
    except (NotCarried, OSError) as error:
        why = getattr(error, "message", None) or str(error)
        raise NotCarried(
            f"left at schema 1, nothing changed: {why}. gitruns still reads it; to migrate "
            "it, restore or remove that file (git checkout -- <file>), then run gitruns "
            "migrate again"
        ) from None
    if old.histories:
        write_histories(run_dir, points_of(old.histories))
    environment = dict(record.environment)
    environment.pop("packages", None)
    if old.requirements is not None:
        environment["requirements"] = store_requirements(runs_dir, old.requirements)
    _flush(run_dir, environment.get("requirements"), runs_dir)
    _check_carried(run_dir, runs_dir, old, environment.get("requirements"))
    record.environment = environment
    record.schema = LAYOUT_SCHEMA
    write_atomic(run_dir / RUN_FILE, emit_record_yaml(record.to_dict()))
    _flush(run_dir, None, runs_dir, RUN_FILE)
    _remove_carried(old)
    logger.info("Migrated %s to schema %d", run_dir, LAYOUT_SCHEMA)


def _flush(run_dir: Path, digest: str | None, runs_dir: Path, *names: str) -> None:
    """Make the new files durable before the old ones go."""
    paths = [run_dir / name for name in (names or (TABLE_FILE, LOG_FILE))]
    if digest:
        paths.append(runs_dir / ENVIRONMENTS_DIR / f"{digest}.txt")
    for path in paths:
        with contextlib.suppress(FileNotFoundError):
            descriptor = os.open(path, os.O_RDONLY | os.O_NOFOLLOW)
            try:
                os.fsync(descriptor)
            finally:
                os.close(descriptor)


def _check_carried(run_dir: Path, runs_dir: Path, old: Schema1Files, digest: str | None) -> None:
    """Read the new files back: every old value and the package list must be there."""
    carried = read_histories(run_dir, LAYOUT_SCHEMA)
    wanted = {key: sorted(map(_comparable, rows)) for key, rows in old.histories.items()}
    found = {key: sorted(map(_comparable, rows)) for key, rows in carried.items()}
    if wanted != found:
        raise NotCarried(
            f"the metric table written for {run_dir} did not read back equal to its "
            "schema-1 files; they are left as they are"
        )
    if old.requirements is not None:
        stored = read_small_text(
            runs_dir / ENVIRONMENTS_DIR / f"{digest}.txt", MAX_REQUIREMENTS_BYTES
        )
        if stored != old.requirements:
            raise NotCarried(f"the package list of {run_dir} did not read back equal")


def _comparable(row: tuple[int, int, float]) -> tuple[int, int, str]:
    return row[0], row[1], repr(row[2])  # NaN equals NaN as text


def _remove_carried(old: Schema1Files) -> None:
    for path in old.files:
        with contextlib.suppress(FileNotFoundError):
            path.unlink()
    for folder in old.folders:
        with contextlib.suppress(OSError):  # not empty: something arrived meanwhile
            folder.rmdir()


def _remove_schema_1_files(run_dir: Path) -> None:
    """Schema-1 files a migration killed after its switch left behind: removed only
    when the run's table holds every value they hold."""
    if not (
        os.path.lexists(run_dir / LEGACY_METRICS_DIR)
        or os.path.lexists(run_dir / LEGACY_REQUIREMENTS_FILE)
    ):
        return
    try:
        old = read_schema_1_files(run_dir)
        carried = read_histories(run_dir, LAYOUT_SCHEMA)
    except (NotCarried, OSError) as error:
        logger.warning("Left the schema-1 files of %s as they are: %s", run_dir, error)
        return
    for key, rows in old.histories.items():
        if not set(map(_comparable, rows)) <= set(map(_comparable, carried.get(key, []))):
            logger.warning(
                "Left the schema-1 files of %s as they are: metric %r holds values its "
                "table does not.",
                run_dir,
                key,
            )
            return
    _remove_carried(old)
