"""Rewriting run folders in the current layout, one run at a time, in place.

Schema 1 kept a file per metric (``metrics/<key>.tsv``) and a package list
(``requirements.txt``) in every run folder; schema 2 keeps one metric table
and a digest naming a package list stored once under ``runs/_environments/``.

A run moves over atomically: the new files are written first, then ``run.yaml``
is replaced with one saying ``schema: 2`` (the switch readers go by), and only
then are the old files removed. A migration killed at any instant leaves a
run that reads whole, under one schema or the other; running it again finishes
the job. Runs a live process is still writing are left for later.
"""

from __future__ import annotations

import contextlib
import logging
import shutil
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from gitruns.capture import process_alive
from gitruns.environments import LEGACY_REQUIREMENTS_FILE, read_requirements, store_requirements
from gitruns.exceptions import GitrunsError
from gitruns.history import (
    LEGACY_METRICS_DIR,
    LOG_FILE,
    fold_log,
    points_of,
    read_histories,
    write_histories,
)
from gitruns.record import (
    LAYOUT_SCHEMA,
    RUN_FILE,
    RUNNING,
    RunRecord,
    emit_record_yaml,
    read_run_record,
    record_lock,
    write_atomic,
)
from gitruns.store import RunStore

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


def _rewrite(record: RunRecord, run_dir: Path, runs_dir: Path) -> None:
    histories = read_histories(run_dir, record.schema)
    requirements = read_requirements(runs_dir, record, run_dir)
    if histories:
        write_histories(run_dir, points_of(histories))
    environment = dict(record.environment)
    environment.pop("packages", None)
    if requirements is not None:
        environment["requirements"] = store_requirements(runs_dir, requirements)
    record.environment = environment
    record.schema = LAYOUT_SCHEMA
    write_atomic(run_dir / RUN_FILE, emit_record_yaml(record.to_dict()))
    _remove_schema_1_files(run_dir)
    logger.info("Migrated %s to schema %d", run_dir, LAYOUT_SCHEMA)


def _remove_schema_1_files(run_dir: Path) -> None:
    metrics = run_dir / LEGACY_METRICS_DIR
    if metrics.is_dir() and not metrics.is_symlink():
        shutil.rmtree(metrics)
    with contextlib.suppress(FileNotFoundError):
        (run_dir / LEGACY_REQUIREMENTS_FILE).unlink()
