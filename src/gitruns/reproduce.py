"""``gitruns runs reproduce ID``: run a recorded run again from its code, and compare.

A run records what made it: the commit, the uncommitted diff, the command and
the installed packages. Reproducing it is one pipeline:

1. a temporary checkout of the run's commit, with ``code.diff`` applied: a clone
   that shares the repository's objects, so the user's work tree, index, branches
   and tags are not touched, not even by a script that registers a model;
2. the environment compared with the recorded one (packages added, removed or at
   another version);
3. the recorded command run again in the checkout, with this Python; its runs are
   logged there, as the original was in its tree, so they record that code
   version, then copied into the user's ``runs/``;
4. the new run that stands for the original (same name, else same params) is
   compared metric by metric, and tagged with the run it reproduces and the verdict.

A run that cannot be run again (a notebook, an interactive session, a killed run)
gets the checkout with its code and an explanation, so the user can go on by hand.

A record may come from anyone's branch, so nothing runs before it is seen:
:func:`plan_reproduction` says what would run (command, commit, the diff's files,
the environment), and only a command gitruns itself records for a script (this
Python running a file the commit holds, with its arguments) runs without the
user's word; any other needs ``command=`` (the user's own) or ``accept_command``.
The checkout runs no hook or filter, and a recorded package list is installed
only when every line is a plain requirement.

Example::

    result = reproduce_run(Path("runs"), "01a20b10edf1")
    print(result.verdict, [(m.key, m.old, m.new) for m in result.metrics])
"""

from __future__ import annotations

import logging
import math
import os
import shlex
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from gitruns import system_tags
from gitruns.exceptions import GitError, GitrunsError
from gitruns.location import DEFAULT_FOLDER
from gitruns.query.ranking import is_timing
from gitruns.redact import NOTE_PREFIX
from gitruns.store.capture import capture_environment
from gitruns.store.environments import ENVIRONMENTS_DIR, read_requirements
from gitruns.store.names import check_relative_path
from gitruns.store.record import DIFF_FILE, EXPERIMENT_FILE, FINISHED, RunRecord, read_run_record
from gitruns.utils.files import has_link_on_path, read_small_text
from gitruns.utils.git import run_git
from gitruns.workspace import Workspace

logger = logging.getLogger(__name__)

REPRODUCES_TAG = system_tags.REPRODUCES  # on the new run: the id of the run it reproduces
VERDICT_TAG = system_tags.REPRODUCTION_VERDICT  # on the new run: "reproduced" or "differs"
REDACTED = "[REDACTED]"
MAX_DIFF_BYTES = 8 * 1024 * 1024


class ReproduceError(GitrunsError):
    """A run that cannot be reproduced as recorded; the message says why and what to do."""


@dataclass
class Drift:
    """Packages that differ between the recorded environment and this one."""

    added: dict[str, str] = field(default_factory=dict)  # here, not recorded
    removed: dict[str, str] = field(default_factory=dict)  # recorded, not here
    changed: dict[str, tuple[str, str]] = field(default_factory=dict)  # (recorded, here)
    recorded: bool = True  # False when the run recorded no package list

    @property
    def empty(self) -> bool:
        return not (self.added or self.removed or self.changed)


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
    new_runs: list[str] = field(default_factory=list)
    metrics: list[MetricDelta] = field(default_factory=list)
    params: list[tuple[str, str | None, str | None]] = field(default_factory=list)
    output: str = ""


def reproduce_command(run_id: str) -> str:
    return f"gitruns runs reproduce {run_id}"


def packages(requirements: str) -> dict[str, str]:
    """``name==version`` lines as {canonical name: version}."""
    found = {}
    for line in requirements.splitlines():
        name, separator, version = line.strip().partition("==")
        if separator and name and not name.startswith(("#", "-")):
            found[name.lower().replace("_", "-").replace(".", "-")] = version.strip()
    return found


def environment_drift(recorded: str | None, current: str) -> Drift:
    if recorded is None:
        return Drift(recorded=False)
    old, new = packages(recorded), packages(current)
    return Drift(
        added={name: new[name] for name in sorted(new.keys() - old.keys())},
        removed={name: old[name] for name in sorted(old.keys() - new.keys())},
        changed={
            name: (old[name], new[name])
            for name in sorted(old.keys() & new.keys())
            if old[name] != new[name]
        },
    )


def why_not_rerunnable(record: RunRecord) -> str | None:
    """Why the recorded command cannot be run again, or None when it can."""
    source = record.source or {}
    if source.get("type") == "NOTEBOOK":
        where = source.get("entry_point") or "a notebook"
        return f"it ran in a notebook ({where}); run its cells from the worktree"
    if not source.get("entry_point") or not source.get("command"):
        return "it ran in an interactive session (or python -c), so there is no script to run"
    if source.get("redacted"):
        return (
            "its command line held secrets, which were left out of the record; run it by "
            f"hand with them: {source['command']}"
        )
    if record.status != FINISHED:
        return (
            f"it ended {record.status}, so its metrics are not those of a whole run; "
            f"run its command by hand: {source['command']}"
        )
    return None


@dataclass
class Plan:
    """What a reproduction would do, shown to the user before anything runs."""

    record: RunRecord
    run_dir: Path
    repo_top: Path
    commit: str
    diff: str
    diff_files: list[str]
    command: list[str]  # as recorded (or as the user gave it); "python" is this Python
    plain: bool  # a command gitruns records for a script the commit holds
    why_not_plain: str
    own_command: bool  # the user gave the command
    env: str  # "current" or "recorded"
    requirements: str | None  # the recorded package list
    drift: Drift

    @property
    def run_id(self) -> str:
        return self.record.id

    def describe(self) -> list[tuple[str, str]]:
        """The plan as (what, value) lines, for a terminal or a log."""
        size = len(self.diff.encode("utf-8"))
        diff = (
            f"{len(self.diff_files)} file(s), {size:,} bytes: {', '.join(self.diff_files)}"
            if self.diff
            else "none (the commit as it is)"
        )
        packages = len(_plain_requirements(self.requirements or "", strict=False))
        environment = (
            f"a new virtualenv of the {packages} packages the run recorded"
            if self.env == "recorded"
            else f"this Python ({sys.executable})"
        )
        cwd = self.record.source.get("cwd") if self.record.source else None
        return [
            ("run", self.run_id),
            ("commit", self.commit),
            ("diff applied", diff),
            ("command", shlex.join(self.command) if self.command else "(none recorded)"),
            ("runs in", f"{cwd}/ of the checkout" if cwd else "the checkout's top"),
            ("environment", environment),
        ]


def plan_reproduction(
    runs_dir: Path, run_id: str, *, env: str = "current", command: str | None = None
) -> Plan:
    """What reproducing ``run_id`` would run; nothing is run or checked out.

    ``command`` replaces the recorded command (the user's own, so it needs no other
    consent). Raises :class:`ReproduceError` when the run cannot be reproduced at all.
    """
    if env not in ("current", "recorded"):
        raise ReproduceError(f"env must be 'current' or 'recorded', not {env!r}.")
    workspace = Workspace.at(runs_dir)
    record, run_dir = workspace.load_run(run_id)
    repo_top = workspace.repo_top
    if repo_top is None:
        raise ReproduceError(
            f"{runs_dir} is not in a git repository, so there is no code to check out."
        )
    commit = (record.git or {}).get("commit")
    if not commit:
        raise ReproduceError(
            f"run {record.id} recorded no commit (it ran outside git), so its code is not known."
        )
    try:
        run_git(["cat-file", "-e", f"{commit}^{{commit}}"], repo_top)
    except GitError:
        raise ReproduceError(
            f"commit {commit[:12]} of run {record.id} is not in this repository. Fetch it "
            "(git fetch --all), then reproduce again."
        ) from None
    diff = _diff_to_apply(run_dir, record.id)
    requirements = read_requirements(runs_dir, record, run_dir)
    if env == "recorded":
        if requirements is None:
            raise ReproduceError(
                f"run {record.id} recorded no package list, so its environment cannot be "
                "built again. Reproduce it with --env current."
            )
        _plain_requirements(requirements)  # refused now, before anything is checked out
    recorded = str((record.source or {}).get("command") or "")
    try:
        words = shlex.split(command if command is not None else recorded)
    except ValueError as error:
        raise ReproduceError(
            f"the command {'given' if command is not None else 'of run ' + record.id} cannot "
            f"be read as a command line ({error}). Pass one with --command."
        ) from None
    why = "" if command is not None else _why_not_plain(record, words, repo_top, commit)
    return Plan(
        record=record,
        run_dir=run_dir,
        repo_top=repo_top,
        commit=commit,
        diff=diff,
        diff_files=_diff_files(diff),
        command=words,
        plain=not why,
        why_not_plain=why,
        own_command=command is not None,
        env=env,
        requirements=requirements,
        drift=environment_drift(requirements, capture_environment().requirements),
    )


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
) -> Reproduction:
    """Run a recorded run again from its commit and diff (see the module's docstring).

    ``data`` names files or folders outside git (data sets) to link into the worktree
    at the same place; ``tolerance`` bounds each metric's difference, relative to its
    size above 1. ``env="recorded"`` runs the command in a new virtualenv holding the
    packages the run recorded (installed with uv when it is there, else pip) instead
    of this Python. A recorded command that is not this Python running a file of the
    commit is refused unless ``accept_command`` (the user saw it and said yes) or
    ``command`` gives the command to run instead.
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
    worktree = _checkout(plan.repo_top, plan.commit, record.id)
    environment: Path | None = None
    result = Reproduction(record.id, "not run", plan.drift, worktree=worktree)
    try:
        if plan.diff:
            _apply(plan.diff, worktree, record.id)
        for path in data:
            _link_data(plan.repo_top, worktree, path)
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
            result.drift = environment_drift(plan.requirements, _packages_of(python))
        _run_again(plan, worktree, runs_dir, python or sys.executable, tolerance, result)
        return result
    finally:
        if environment is not None:
            shutil.rmtree(environment, ignore_errors=True)
        if not keep_worktree:
            shutil.rmtree(worktree, ignore_errors=True)
            result.worktree = None


LAUNCHERS = ("python", "python3")


def _why_not_plain(record: RunRecord, words: list[str], repo_top: Path, commit: str) -> str:
    """Why a recorded command is not one gitruns records for a script ("" when it is):
    ``python <a file the commit holds> [arguments...]``, the file being the run's
    recorded entry point."""
    if len(words) < 2 or words[0] not in LAUNCHERS:
        return "it does not start with python and a script"
    entry_point = str((record.source or {}).get("entry_point") or "")
    if words[1] != entry_point:
        return f"it runs {words[1]!r}, not the run's entry point {entry_point!r}"
    try:
        check_relative_path(entry_point, "entry point")
    except GitrunsError:
        return f"its entry point {entry_point!r} is not a path inside the repository"
    kind = run_git(["cat-file", "-t", f"{commit}:{entry_point}"], repo_top, check=False)
    if kind.strip() != b"blob":
        return f"its commit holds no file {entry_point!r}"
    return ""


def _diff_files(diff: str) -> list[str]:
    files = []
    for line in diff.splitlines():
        if line.startswith("diff --git "):
            _, _, names = line.partition(" b/")
            files.append(names or line[len("diff --git ") :])
    return files


# A requirement line as pip reads it from a file may also be an option (--index-url,
# -e, -r, --find-links), a URL, a VCS spec or a local path: each can make pip fetch
# or run code from anywhere. Only names, versions, extras and markers go through.
def _plain_requirements(requirements: str, *, strict: bool = True) -> list[str]:
    """The lines of a recorded package list, each a plain PEP 508 requirement; with
    ``strict``, any other line is refused naming it."""
    from packaging.requirements import InvalidRequirement, Requirement

    plain = []
    for number, raw in enumerate(requirements.splitlines(), start=1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        try:
            requirement = Requirement(line)
            refused = requirement.url is not None or line.startswith("-")
        except InvalidRequirement:
            refused = True
        if refused:
            if strict:
                raise ReproduceError(
                    f"line {number} of the run's package list is not a plain requirement "
                    f"(name==version): {line[:200]!r}. Options, URLs, VCS specs and paths are "
                    "never handed to pip from a record. Reproduce with --env current."
                )
            continue
        plain.append(line)
    return plain


def recorded_python(folder: Path, requirements: str) -> str:
    """A new virtualenv in ``folder`` holding the recorded packages; its Python.

    gitruns itself, when this one was installed from a folder (a clone, as in
    development), is installed from that folder: such a version is on no index.
    """
    lines = _plain_requirements(requirements)
    subprocess.run([sys.executable, "-m", "venv", str(folder)], check=True, capture_output=True)
    python = folder / "bin" / "python"
    wanted = folder / "requirements.txt"
    wanted.write_text(_installable("\n".join(lines) + "\n"))
    uv = shutil.which("uv")
    command = (
        [uv, "pip", "install", "--python", str(python), "-r", str(wanted)]
        if uv
        else [str(python), "-m", "pip", "install", "--quiet", "-r", str(wanted)]
    )
    logger.info("Building the recorded environment: %s", shlex.join(command))
    done = subprocess.run(command, capture_output=True, text=True)
    if done.returncode != 0:
        raise ReproduceError(
            "the packages the run recorded could not be installed in a new virtualenv "
            f"({'uv' if uv else 'pip'} said: {(done.stderr or done.stdout).strip()[-800:]}). "
            "Reproduce with --env current, and read the drift table instead."
        )
    return str(python)


def _packages_of(python: str) -> str:
    """The package list another Python's environment would record."""
    code = (
        "from gitruns.store.capture import capture_environment as c; "
        "print(c().requirements, end='')"
    )
    done = subprocess.run([python, "-c", code], capture_output=True, text=True, check=True)
    return done.stdout


def _installable(requirements: str) -> str:
    """The recorded list, with gitruns from the folder this one came from when it was
    installed from one."""
    import json
    from importlib import metadata
    from urllib.parse import unquote, urlsplit

    try:
        direct = json.loads(metadata.distribution("gitruns").read_text("direct_url.json") or "{}")
    except (metadata.PackageNotFoundError, ValueError):
        direct = {}
    source = direct.get("url", "")
    if not source.startswith("file://"):
        return requirements
    folder = unquote(urlsplit(source).path)
    lines = [
        folder if line.lower().startswith("gitruns==") else line
        for line in requirements.splitlines()
    ]
    return "\n".join(lines) + "\n"


def _diff_to_apply(run_dir: Path, run_id: str) -> str:
    path = run_dir / DIFF_FILE
    if not path.exists():
        return ""
    text = read_small_text(path, MAX_DIFF_BYTES)
    if text is None:
        raise ReproduceError(f"{path} cannot be read as text; restore it from git.")
    notes = [line for line in text.splitlines() if line.startswith(NOTE_PREFIX)]
    if REDACTED in text:
        raise ReproduceError(
            f"the diff of run {run_id} had secrets redacted ({REDACTED}), so applying it "
            "would not give the code that ran. Put the secrets back by hand: check out its "
            "commit, apply code.diff and edit the redacted lines."
        )
    if any("diff cut" in note for note in notes):
        raise ReproduceError(
            f"the diff of run {run_id} was cut (it was over the size gitruns keeps), so the "
            "code that ran is not all recorded. Commit such changes before a run."
        )
    for note in notes:
        logger.warning("Run %s: %s", run_id, note.removeprefix(NOTE_PREFIX).strip())
    return "".join(
        line for line in text.splitlines(keepends=True) if not line.startswith(NOTE_PREFIX)
    )


def _apply(diff: str, worktree: Path, run_id: str) -> None:
    result = subprocess.run(
        ["git", "apply", "--whitespace=nowarn", "-"],
        cwd=worktree,
        input=diff.encode("utf-8"),
        capture_output=True,
    )
    if result.returncode != 0:
        raise ReproduceError(
            f"the uncommitted changes of run {run_id} (code.diff) no longer apply to its "
            f"commit: {result.stderr.decode(errors='replace').strip()[:500]}"
        )


def _link_data(repo_top: Path, worktree: Path, path: Path) -> None:
    """Make a file or folder of the work tree (data outside git) visible in the worktree."""
    source = (repo_top / path).resolve() if not path.is_absolute() else path.resolve()
    try:
        relative = source.relative_to(repo_top.resolve())
    except ValueError:
        raise ReproduceError(
            f"{path} is not inside {repo_top}; pass data inside the repository."
        ) from None
    if not source.exists():
        raise ReproduceError(f"{path} does not exist; pass the data the run read.")
    target = worktree / relative
    if target.exists():
        return  # git holds it at that commit
    target.parent.mkdir(parents=True, exist_ok=True)
    target.symlink_to(source, target_is_directory=source.is_dir())


def _run_again(
    plan: Plan,
    worktree: Path,
    runs_dir: Path,
    python: str,
    tolerance: float,
    result: Reproduction,
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
    result.output = (process.stdout + process.stderr)[-4000:]
    if process.returncode != 0:
        raise ReproduceError(
            f"the command of run {record.id} failed ({shlex.join(command)}, exit "
            f"{process.returncode}):\n{result.output[-1500:]}"
        )
    new_dirs = (
        [path for path in Workspace.at(worktree_runs).run_dirs() if path.name not in before]
        if worktree_runs.exists()
        else []
    )
    for path in new_dirs:
        _adopt(path, worktree_runs, runs_dir)
        result.new_runs.append(path.name)
    counterpart = _counterpart(record, [read_run_record(path) for path in new_dirs])
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
CHECKOUT_ATTRIBUTES = "* -filter !diff !merge\n"
NO_HOOKS = ["-c", f"core.hooksPath={os.devnull}"]


def _checkout(repo_top: Path, commit: str, run_id: str) -> Path:
    """A clone of the repository at ``commit``, sharing its objects (no copy), with the
    user's remote (so runs record where the code lives, not this folder); private
    (mkdtemp's 0700), running no hook and no filter driver."""
    folder = Path(tempfile.mkdtemp(prefix=f"gitruns-reproduce-{run_id[:8]}-"))
    try:
        run_git(
            [
                *NO_HOOKS,
                "clone",
                "--quiet",
                "--shared",
                "--no-checkout",
                "--template=",
                str(repo_top),
                str(folder),
            ],
            repo_top,
        )
        run_git(["config", "core.hooksPath", os.devnull], folder)
        info = folder / ".git" / "info"
        info.mkdir(exist_ok=True)
        (info / "attributes").write_text(CHECKOUT_ATTRIBUTES)
        run_git([*NO_HOOKS, "checkout", "--quiet", "--detach", commit], folder)
        remote = run_git(["remote", "get-url", "origin"], repo_top, check=False).decode().strip()
        if remote:
            run_git(["remote", "set-url", "origin", remote], folder)
        else:
            run_git(["remote", "remove", "origin"], folder)
    except BaseException:
        shutil.rmtree(folder, ignore_errors=True)
        raise
    return folder
