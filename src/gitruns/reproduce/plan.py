"""What a reproduction would run, seen before anything runs: the command, the commit,
the diff's files, the environment, and whether the command is one gitruns itself records
for a script of that commit."""

from __future__ import annotations

import contextlib
import logging
import re
import shlex
import sys
from dataclasses import dataclass, field
from pathlib import Path

from gitruns.exceptions import GitError, GitrunsError
from gitruns.redact import NOTE_PREFIX
from gitruns.store.capture import capture_environment
from gitruns.store.environments import read_requirements
from gitruns.store.names import check_relative_path
from gitruns.store.reads import file_digest, input_sources
from gitruns.store.record import DIFF_FILE, FINISHED
from gitruns.store.run_record import RunRecord
from gitruns.utils.files import has_link_on_path, read_small_text
from gitruns.utils.git import run_git
from gitruns.workspace import Workspace

logger = logging.getLogger(__name__)

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


def reproduce_command(run_id: str, data: list[str] | None = None) -> str:
    """The command that reproduces a run, lending it the data it read (``--data``)."""
    lent = [word for path in data or [] for word in ("--data", path)]
    return shlex.join(["gitruns", "runs", "reproduce", run_id, *lent])


def data_sources(record: RunRecord, repo_top: Path | None = None) -> list[str]:
    """The files a re-run of the run may need that git may not hold: those it recorded
    reading (``data_files``) and those its datasets came from (``log_input``), as clean
    paths inside the repository. A record can come from anyone's branch, so a path that
    would leave the repository is left out, never lent."""
    found = set(input_sources(record.inputs, repo_top))
    for entry in record.data_files:
        with contextlib.suppress(GitrunsError):
            found.add(check_relative_path(entry.get("path"), "data file"))
    return sorted(found)


SAME, CHANGED, MISSING, UNCHECKED = "same", "changed", "missing", "unchecked"


@dataclass(frozen=True)
class DataCheck:
    """A file the run read, as it is in the work tree now."""

    path: str  # inside the repository
    recorded: tuple[int, str] | None  # (size, sha256) when the run ended; None: not kept
    now: tuple[int, str] | None  # None: not in the work tree
    through_link: bool  # a part of its path in the work tree is a link

    @property
    def state(self) -> str:
        if self.now is None:
            return MISSING
        if self.recorded is None:
            return UNCHECKED
        return SAME if self.now == self.recorded else CHANGED

    @property
    def lendable(self) -> bool:
        """Lent to the re-run unasked: the bytes the run read (through a link too, since
        only who holds them can name their digest), or an older record's dataset source
        that no link leads out of."""
        return self.state == SAME or (self.state == UNCHECKED and not self.through_link)

    def describe(self) -> str:
        """What this file is now, and what to do when it is not the run's."""
        recorded = _size_and_digest(self.recorded)
        if self.state == SAME:
            return f"as the run read it ({recorded}): lent"
        if self.state == UNCHECKED:
            if self.through_link:
                return "a dataset source reached through a link: pass it with --data to lend it"
            return "a dataset source (the run kept no digest of it): lent as it is now"
        if self.state == MISSING:
            was = f" ({recorded})" if recorded else ""
            return (
                f"not in the work tree: put the file the run read{was} back at {self.path}, "
                "then reproduce again"
            )
        assert self.now is not None
        return (
            f"changed since the run read it ({recorded}; now {_size_and_digest(self.now)}): "
            "not lent. Put the run's file back, or pass --data "
            f"{self.path} to re-run on it as it is now"
        )


def _size_and_digest(found: tuple[int, str] | None) -> str:
    if not found:
        return ""
    return f"{found[0]:,} bytes" + (f", sha256 {found[1][:12]}" if found[1] else "")


def check_data(record: RunRecord, repo_top: Path) -> list[DataCheck]:
    """Each file the run read, compared (size and SHA-256) with the work tree's."""
    recorded: dict[str, tuple[int, str]] = {}
    for entry in record.data_files:
        size, digest = entry.get("size"), entry.get("sha256")
        if isinstance(size, int) and isinstance(digest, str) and SHA256.match(digest):
            with contextlib.suppress(GitrunsError):
                recorded[check_relative_path(entry.get("path"), "data file")] = (size, digest)
    checks = []
    for path in data_sources(record, repo_top):
        here = repo_top / path
        now = None
        if here.is_file():  # hashed only when its size could be the run's
            size = here.stat().st_size
            same_size = path not in recorded or recorded[path][0] == size
            now = file_digest(here) if same_size else (size, "")
        checks.append(DataCheck(path, recorded.get(path), now, has_link_on_path(repo_top, path)))
    return checks


SHA256 = re.compile(r"\A[0-9a-f]{64}\Z")


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
    data: list[DataCheck] = field(default_factory=list)  # the files the run read

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
        packages = len(plain_requirements(self.requirements or "", strict=False))
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
            *((f"data {check.path}", check.describe()) for check in self.data),
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
        plain_requirements(requirements)  # refused now, before anything is checked out
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
        data=check_data(record, repo_top),
    )


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
def plain_requirements(requirements: str, *, strict: bool = True) -> list[str]:
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
