"""Running a plan: the command again in the checkout, its runs brought home, and the run
that stands for the original compared metric by metric."""

from __future__ import annotations

import logging
import math
import os
import re
import shlex
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from gitruns import system_tags
from gitruns.exceptions import GitrunsError
from gitruns.location import DEFAULT_FOLDER
from gitruns.query.ranking import is_timing
from gitruns.reproduce.plan import (
    LAUNCHERS,
    Drift,
    Plan,
    ReproduceError,
    environment_drift,
    plan_reproduction,
    why_not_rerunnable,
)
from gitruns.reproduce.sandbox import (
    apply_diff,
    checkout,
    installed_packages,
    link_data,
    recorded_python,
)
from gitruns.store.environments import ENVIRONMENTS_DIR
from gitruns.store.names import check_relative_path
from gitruns.store.record import EXPERIMENT_FILE
from gitruns.store.run_record import RunRecord, read_run_record
from gitruns.utils.files import has_link_on_path
from gitruns.workspace import Workspace

logger = logging.getLogger(__name__)

REPRODUCES_TAG = system_tags.REPRODUCES  # on the new run: the id of the run it reproduces
VERDICT_TAG = system_tags.REPRODUCTION_VERDICT  # on the new run: "reproduced" or "differs"


@dataclass
class MetricDelta:
    key: str
    old: float | None
    new: float | None
    within: bool

    @property
    def timing(self) -> bool:
        return is_timing(self.key)  # shown, never judged: no run takes the same time twice

    @property
    def delta(self) -> float | None:
        return None if self.old is None or self.new is None else self.new - self.old


@dataclass
class Reproduction:
    """What a reproduction did and found."""

    run_id: str
    verdict: str  # "reproduced", "differs", or "not run"
    drift: Drift
    explanation: str = ""
    worktree: Path | None = None  # kept when the run could not be run again
    command: list[str] = field(default_factory=list)
    new_run_id: str | None = None
    new_runs: list[str] = field(default_factory=list)  # copied into runs/
    left_out: list[str] = field(default_factory=list)  # logged by the command, not kept
    metrics: list[MetricDelta] = field(default_factory=list)
    params: list[tuple[str, str | None, str | None]] = field(default_factory=list)
    output: str = ""


# What Python prints when a script opens a file that is not there.
MISSING_FILE = re.compile(r"(?:FileNotFoundError|No such file or directory)[^\n]*?'([^'\n]+)'")


def last_lines(text: str, count: int = 25, limit: int = 4000) -> str:
    """The end of a program's output: whole lines, at most ``count`` and ``limit``
    characters (a line is never cut; one longer than the limit is shown from its end)."""
    kept: list[str] = []
    size = 0
    for line in reversed(text.rstrip().splitlines()):
        if len(kept) == count or (kept and size + len(line) + 1 > limit):
            break
        kept.append(line if len(line) <= limit else "..." + line[-limit:])
        size += len(line) + 1
    return "\n".join(reversed(kept))


def reproduce_run(
    runs_dir: Path,
    run_id: str,
    *,
    tolerance: float = 1e-6,
    data: tuple[Path, ...] = (),
    keep_worktree: bool = False,
    python: str | None = None,
    env: str = "current",
    command: str | None = None,
    accept_command: bool = False,
    keep_all: bool = False,
) -> Reproduction:
    """Run a recorded run again from its commit and diff (see the module's docstring).

    ``data`` names files or folders outside git (data sets) to link into the worktree
    at the same place; ``tolerance`` bounds each metric's difference, relative to its
    size above 1. ``env="recorded"`` runs the command in a new virtualenv holding the
    packages the run recorded (installed with uv when it is there, else pip) instead
    of this Python. A recorded command that is not this Python running a file of the
    commit is refused unless ``accept_command`` (the user saw it and said yes) or
    ``command`` gives the command to run instead. Of the runs the command logs, the one
    that stands for the original is copied into ``runs_dir``; the others (a script that
    logs a whole search logs it all again) are left out unless ``keep_all``.
    """
    plan = plan_reproduction(runs_dir, run_id, env=env, command=command)
    return run_plan(
        plan,
        runs_dir,
        tolerance=tolerance,
        data=data,
        keep_worktree=keep_worktree,
        python=python,
        accept_command=accept_command,
        keep_all=keep_all,
    )


def run_plan(
    plan: Plan,
    runs_dir: Path,
    *,
    tolerance: float = 1e-6,
    data: tuple[Path, ...] = (),
    keep_worktree: bool = False,
    python: str | None = None,
    accept_command: bool = False,
    keep_all: bool = False,
) -> Reproduction:
    """Carry out a :class:`Plan` the user has seen: check out, run again, compare."""
    record = plan.record
    reason = None if plan.own_command else why_not_rerunnable(record)
    if reason is None and not (plan.plain or plan.own_command or accept_command):
        raise ReproduceError(
            f"run {record.id} recorded a command gitruns would not record for a script of "
            f"its commit ({plan.why_not_plain}): {shlex.join(plan.command)}. Records come "
            "from anyone's branch, so it is not run unseen. Read it, then pass the command "
            "to run with --command (or answer yes at the prompt in a terminal)."
        )
    worktree = checkout(plan.repo_top, plan.commit, record.id)
    environment: Path | None = None
    result = Reproduction(record.id, "not run", plan.drift, worktree=worktree)
    try:
        if plan.diff:
            apply_diff(plan.diff, worktree, record.id)
        for path in (*data, *_recorded_data(plan, data)):
            link_data(plan.repo_top, worktree, path)
        if reason is not None:
            result.explanation = (
                f"run {record.id} cannot be run again: {reason}. Its code is in {worktree}."
            )
            keep_worktree = True
            return result
        if plan.env == "recorded":
            assert plan.requirements is not None  # the plan refused a run without one
            environment = Path(tempfile.mkdtemp(prefix=f"gitruns-env-{record.id[:8]}-"))
            python = recorded_python(environment, plan.requirements)
            result.drift = environment_drift(plan.requirements, installed_packages(python))
        _run_again(plan, worktree, runs_dir, python or sys.executable, tolerance, result, keep_all)
        return result
    finally:
        if environment is not None:
            shutil.rmtree(environment, ignore_errors=True)
        if not keep_worktree:
            shutil.rmtree(worktree, ignore_errors=True)
            result.worktree = None


def _recorded_data(plan: Plan, given: tuple[Path, ...]) -> list[Path]:
    """The files the run read that are in the work tree as it read them and were not
    given with --data: lent to the re-run as --data would."""
    top = plan.repo_top
    named = {os.path.abspath(path if path.is_absolute() else top / path) for path in given}
    return [
        Path(check.path)
        for check in plan.data
        if check.lendable and os.path.abspath(top / check.path) not in named
    ]


def _run_again(
    plan: Plan,
    worktree: Path,
    runs_dir: Path,
    python: str,
    tolerance: float,
    result: Reproduction,
    keep_all: bool = False,
) -> None:
    record = plan.record
    command = [os.path.expanduser(word) if word.startswith("~/") else word for word in plan.command]
    if command and command[0] in LAUNCHERS:
        command[0] = python
    where = _working_directory(worktree, record)
    entry_point = str(record.source.get("entry_point", ""))
    if where != worktree and entry_point in command:  # the command names it from the top
        at = command.index(entry_point)
        command[at] = os.path.relpath(worktree / entry_point, where)
    result.command = command
    worktree_runs = worktree / DEFAULT_FOLDER
    before = (
        {path.name for path in Workspace.at(worktree_runs).run_dirs()}
        if worktree_runs.exists()
        else set()
    )
    env = {
        key: value
        for key, value in os.environ.items()
        if key not in ("GITRUNS_DIR", "MLFLOW_TRACKING_URI")
    }
    logger.info("Running %s in %s", shlex.join(command), worktree)
    process = subprocess.run(command, cwd=where, env=env, capture_output=True, text=True)
    result.output = last_lines(process.stdout + process.stderr)
    if process.returncode != 0:
        missing = MISSING_FILE.search(process.stderr)
        not_lent = [check for check in plan.data if not check.lendable]
        if not_lent:
            hint = "Of the data the run read:\n" + "\n".join(
                f"- {check.path}: {check.describe()}" for check in not_lent
            )
        elif missing:
            hint = (
                f"It could not find {missing.group(1)}: a file git does not hold (data) is "
                "not in the checkout; pass it with --data PATH."
            )
        else:
            hint = (
                "Run it yourself in a checkout of that commit to see more, or pass another "
                "command with --command."
            )
        tail = last_lines(process.stderr or process.stdout)
        raise ReproduceError(
            f"the command of run {record.id} failed (exit {process.returncode}): "
            f"{shlex.join(command)}\nIts last lines:\n{tail}\n{hint}"
        )
    new_dirs = (
        [path for path in Workspace.at(worktree_runs).run_dirs() if path.name not in before]
        if worktree_runs.exists()
        else []
    )
    counterpart = _counterpart(record, [read_run_record(path) for path in new_dirs])
    for path in new_dirs:
        if keep_all or (counterpart is not None and path.name == counterpart.id):
            _adopt(path, worktree_runs, runs_dir)
            result.new_runs.append(path.name)
        else:
            result.left_out.append(path.name)
    if counterpart is None:
        result.explanation = (
            f"the command ran but logged no run like {record.id} (same name or params) "
            f"into {worktree_runs}"
        )
        return
    result.new_run_id = counterpart.id
    result.metrics = _metric_deltas(record, counterpart, tolerance)
    result.params = [
        (key, record.params.get(key), counterpart.params.get(key))
        for key in sorted(record.params.keys() | counterpart.params.keys())
        if record.params.get(key) != counterpart.params.get(key)
    ]
    same = all(delta.within or delta.timing for delta in result.metrics) and not result.params
    result.verdict = "reproduced" if same else "differs"
    Workspace.at(runs_dir).open_run(counterpart.id).set_tags(
        {REPRODUCES_TAG: record.id, VERDICT_TAG: result.verdict}
    )


def _working_directory(worktree: Path, record: RunRecord) -> Path:
    """Where the command ran, inside the checkout: a folder git holds at that commit,
    never a path leaving it (the record may come from anyone's branch)."""
    recorded = record.source.get("cwd")
    if not recorded:
        return worktree
    try:
        relative = check_relative_path(recorded, "working directory")
    except GitrunsError as error:
        raise ReproduceError(f"run {record.id}: {error.message}") from None
    where = worktree / relative
    if has_link_on_path(worktree, relative) or not where.is_dir():
        raise ReproduceError(
            f"run {record.id} ran in {relative}/, which its commit does not hold as a folder. "
            f"Run its command by hand: {record.source.get('command')}"
        )
    return where


def _adopt(run_dir: Path, worktree_runs: Path, runs_dir: Path) -> None:
    """Copy a run logged in the worktree into the user's runs/, with its experiment and
    package list if those are new there."""
    experiment = run_dir.parent.name
    target_experiment = runs_dir / experiment
    if not (target_experiment / EXPERIMENT_FILE).exists():
        target_experiment.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(run_dir.parent / EXPERIMENT_FILE, target_experiment / EXPERIMENT_FILE)
    shutil.copytree(run_dir, target_experiment / run_dir.name, symlinks=True)
    environments = worktree_runs / ENVIRONMENTS_DIR
    if environments.is_dir():
        for path in environments.iterdir():
            target = runs_dir / ENVIRONMENTS_DIR / path.name
            if not target.exists() and path.is_file() and not path.is_symlink():
                target.parent.mkdir(parents=True, exist_ok=True)
                shutil.copyfile(path, target)


def _counterpart(record: RunRecord, new: list[RunRecord]) -> RunRecord | None:
    """The new run that stands for the original: the same name, else the same params."""
    for candidate in new:
        if candidate.name == record.name and candidate.experiment == record.experiment:
            return candidate
    for candidate in new:
        if candidate.params == record.params and candidate.experiment == record.experiment:
            return candidate
    return new[0] if len(new) == 1 else None


def _metric_deltas(old: RunRecord, new: RunRecord, tolerance: float) -> list[MetricDelta]:
    deltas = []
    for key in sorted(old.metrics.keys() | new.metrics.keys()):
        before = old.metrics[key].last if key in old.metrics else None
        after = new.metrics[key].last if key in new.metrics else None
        deltas.append(MetricDelta(key, before, after, _close(before, after, tolerance)))
    return deltas


def _close(old: float | None, new: float | None, tolerance: float) -> bool:
    if old is None or new is None:
        return False
    if math.isnan(old) and math.isnan(new):
        return True
    return abs(new - old) <= tolerance * max(1.0, abs(old))


# The checkout holds a branch's files: its .gitattributes may name filter drivers
# (smudge/clean commands) and no hook may run there. Attributes in info/ outrank the
# tree's; "-filter" unsets every filter, "!diff"/"!merge" put back git's own.
