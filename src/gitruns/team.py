"""A team's runs and registry meeting through one git remote: ``gitruns push`` and
``gitruns pull``.

A push is one pipeline, tried again until it lands:

1. the runs folder is committed (alone, as ``gitruns commit`` does);
2. the remote's branch and tags are fetched (its tags under
   ``refs/gitruns/remotes/<remote>/tags/``, never over this clone's own);
3. when the remote's branch moved on, it is merged in: runs never conflict (each
   is its own folder), and the clone's own commits, code included, are kept as they
   are, never rebased; a merge that does conflict (code both sides changed) is
   undone and the push stops, saying so;
4. registry tags this clone made that clash with the remote's (two clones both
   registered ``v3``) are set again above the remote's
   (:mod:`gitruns.registry.remote`), and the remote's tags are taken;
5. the branch and the new tags are pushed in one ``git push --atomic``: all of it
   lands or none. A push the remote refused because it moved on meanwhile goes back
   to 2, after a pause that doubles each time; any other refusal (a hook, no
   network, no access) stops it, and everything stays here, committed and tagged.

A pull is 2 to 4, then a report of what arrived (new runs per experiment, registry
changes), the search index brought up to date, and the site rebuilt if it was built.

Example::

    report = push(Path("runs"))
    for item in report.renumbered:
        print(f"{item.model} v{item.old_version} is v{item.new_version} now")
"""

from __future__ import annotations

import logging
import random
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from gitruns.exceptions import GitError, GitrunsError
from gitruns.registry.remote import Reconciled, Renamed, fetch_refspec, reconcile, unpushed
from gitruns.registry.state import TagEvent, read_events
from gitruns.registry.tags import ASSIGN, DEPRECATE, DEREGISTER, REGISTER
from gitruns.store.names import RUN_ID_PATTERN
from gitruns.store.record import RUN_FILE
from gitruns.store.repo import commit_runs, identity_env
from gitruns.utils.git import run_git, try_git
from gitruns.workspace import Workspace

logger = logging.getLogger(__name__)

MAX_ATTEMPTS = 12
FIRST_PAUSE_SECONDS = 0.2
LONGEST_PAUSE_SECONDS = 8.0
# What git says when a push lost a race: the remote moved on, or another push held a ref.
RACE_LOST = (
    "fetch first",
    "non-fast-forward",
    "already exists",
    "stale info",
    "cannot lock ref",
    "failed to update ref",
    "incorrect old value",
)
REFUSED_FOR_GOOD = ("hook declined", "permission", "denied", "protected branch")


class PushFailed(GitrunsError):
    """A remote that cannot be reached, or refused a push for a reason another try would
    not change; everything stays in this clone."""


class MergeConflict(GitrunsError):
    """The remote's branch and this one changed the same files: a person must merge."""


@dataclass
class Arrived:
    """What a pull (or the merge of a push) brought in."""

    runs: dict[str, int] = field(default_factory=dict)  # experiment -> new runs
    registry: list[str] = field(default_factory=list)  # "nyc v4 registered", ...

    @property
    def run_count(self) -> int:
        return sum(self.runs.values())


@dataclass
class PushReport:
    remote: str
    branch: str
    attempts: int = 0
    committed: str | None = None  # the commit of the runs, when there was anything new
    merged: bool = False  # the remote's branch was merged in
    tags: list[str] = field(default_factory=list)  # registry tags sent
    renumbered: list[Renamed] = field(default_factory=list)  # versions set above the remote's
    renamed: list[Renamed] = field(default_factory=list)  # every tag set again
    arrived: Arrived = field(default_factory=Arrived)


@dataclass
class PullReport:
    remote: str
    branch: str
    merged: bool = False
    renumbered: list[Renamed] = field(default_factory=list)
    renamed: list[Renamed] = field(default_factory=list)
    arrived: Arrived = field(default_factory=Arrived)
    site_pages: int | None = None  # pages written when the site was rebuilt


@dataclass
class Status:
    remote: str | None
    branch: str | None
    uncommitted: list[str]  # runs with changes git has not committed
    ahead: int | None  # commits the remote's branch lacks, as last fetched
    behind: int | None
    unpushed: list[TagEvent]


@dataclass(frozen=True)
class Target:
    """The clone, its remote and the branch they share."""

    workspace: Workspace
    top: Path
    remote: str
    branch: str

    @property
    def tracking(self) -> str:
        return f"refs/remotes/{self.remote}/{self.branch}"


def target(runs_dir: Path, remote: str | None = None, branch: str | None = None) -> Target:
    """Where this clone's runs go: the remote (the branch's upstream's, else ``origin``,
    else the only one) and the branch (the current one)."""
    workspace = Workspace.at(runs_dir)
    top = workspace.repo_top
    if top is None:
        raise GitError(
            f"{runs_dir} is not in a git repository, so there is no remote to share runs "
            "through. Run 'git init' and 'git remote add origin URL' first."
        )
    current = run_git(["symbolic-ref", "--quiet", "--short", "HEAD"], top, check=False)
    branch = branch or current.decode().strip()
    if not branch:
        raise GitError(
            "HEAD is detached (no branch is checked out), so there is no branch to push to. "
            "Check one out (git switch -c runs), or name the remote's branch with --branch."
        )
    remotes = run_git(["remote"], top).decode().split()
    if remote is None:
        upstream = run_git(["config", f"branch.{branch}.remote"], top, check=False)
        remote = upstream.decode().strip() or ("origin" if "origin" in remotes else "")
        if not remote and len(remotes) == 1:
            remote = remotes[0]
    if not remote or remote not in remotes:
        known = ", ".join(remotes) or "none"
        raise GitError(
            f"no remote {remote!r} in this repository (its remotes: {known}). Add one with "
            "'git remote add origin URL', or name one: gitruns push REMOTE."
            if remote
            else f"no remote to push to (this repository's remotes: {known}). Add one with "
            "'git remote add origin URL'."
        )
    return Target(workspace, top, remote, branch)


def push(
    runs_dir: Path,
    remote: str | None = None,
    *,
    branch: str | None = None,
    message: str | None = None,
    attempts: int = MAX_ATTEMPTS,
) -> PushReport:
    """Commit the runs, and send them and the registry's tags to the remote until they
    land (see the module's docstring); raises :class:`PushFailed` when the remote refuses
    for good, :class:`MergeConflict` when its branch cannot be merged without a person."""
    where = target(runs_dir, remote, branch)
    report = PushReport(where.remote, where.branch)
    if where.workspace.runs_dir.is_dir():  # none yet: the code and the registry still go
        report.committed = commit_runs(where.workspace.runs_dir, message)
    registry = where.workspace.registry
    last_error = ""
    for attempt in range(1, attempts + 1):
        report.attempts = attempt
        has_branch = _fetch(where)
        with registry.lock():
            if has_branch:
                arrived = _merge(where)
                report.merged |= arrived is not None
                if arrived is not None:
                    _add_arrived(report.arrived, arrived)
            reconciled = reconcile(where.top, where.remote)
            _add_renamed(report, reconciled)
            report.arrived.registry += _describe(where.top, reconciled.taken)
            sent = _tags_to_send(where, reconciled)
            refused = _send(where, sent)
        if refused is None:
            report.tags = sorted({*report.tags, *(tag.lstrip("+") for tag in sent)})
            _remember_sent(where, sent)
            logger.info("Pushed to %s/%s on attempt %d", where.remote, where.branch, attempt)
            return report
        last_error = refused
        if not any(reason in refused.lower() for reason in RACE_LOST) or any(
            reason in refused.lower() for reason in REFUSED_FOR_GOOD
        ):
            raise PushFailed(
                f"{where.remote} refused the push: {_last_lines(refused)}\nNothing was lost: "
                "the runs are committed here and the registry's tags are here. Fix what it "
                f"says, then run gitruns push again."
            )
        pause = min(LONGEST_PAUSE_SECONDS, FIRST_PAUSE_SECONDS * 2 ** (attempt - 1))
        logger.info("The remote moved on meanwhile; trying again in %.1f s", pause)
        time.sleep(pause * (0.5 + random.random()))
    raise PushFailed(
        f"{where.remote} kept moving on: {attempts} tries did not land "
        f"({_last_lines(last_error)}). Nothing was lost: the runs are committed and tagged "
        "here. Run gitruns push again."
    )


def pull(
    runs_dir: Path,
    remote: str | None = None,
    *,
    branch: str | None = None,
    site: Path | None = None,
) -> PullReport:
    """Bring the remote's runs and registry here, and say what arrived; the search
    index is brought up to date, and ``site`` (a built site's folder) rebuilt."""
    where = target(runs_dir, remote, branch)
    report = PullReport(where.remote, where.branch)
    has_branch = _fetch(where)
    with where.workspace.registry.lock():
        if has_branch:
            arrived = _merge(where)
            report.merged = arrived is not None
            if arrived is not None:
                _add_arrived(report.arrived, arrived)
        reconciled = reconcile(where.top, where.remote)
        _add_renamed(report, reconciled)
        report.arrived.registry += _describe(where.top, reconciled.taken)
    workspace = Workspace.at(where.workspace.runs_dir)
    for index in workspace.indexes(workspace.experiment_ids()):
        index.refresh()
    if site is not None and site.is_dir():
        from gitruns.site import build_site

        report.site_pages = build_site(workspace.runs_dir, site).written
    return report


def status(runs_dir: Path, remote: str | None = None) -> Status:
    """What this clone has that the remote did not, as last fetched (nothing is fetched)."""
    workspace = Workspace.at(runs_dir)
    top = workspace.repo_top
    if top is None:
        raise GitError(f"{runs_dir} is not in a git repository.")
    relative = workspace.runs_dir.resolve().relative_to(top.resolve()).as_posix()
    changed = run_git(
        ["status", "--porcelain", "--untracked-files=all", "--", relative], top
    ).decode()
    runs = set()
    for line in changed.splitlines():
        parts = line[3:].removeprefix(relative + "/").split("/")
        if len(parts) >= 2 and RUN_ID_PATTERN.match(parts[1]):
            runs.add(parts[1])
    folders = sorted(runs)
    try:
        where = target(runs_dir, remote)
    except GitError:
        return Status(None, None, folders, None, None, [])
    ahead = behind = None
    if run_git(["rev-parse", "--verify", "--quiet", where.tracking], top, check=False).strip():
        counts = run_git(
            ["rev-list", "--left-right", "--count", f"HEAD...{where.tracking}"], top
        ).split()
        ahead, behind = int(counts[0]), int(counts[1])
    return Status(where.remote, where.branch, folders, ahead, behind, unpushed(top, where.remote))


def registry_not_pushed(runs_dir: Path) -> tuple[str, list[TagEvent]] | None:
    """The remote, and the registry changes it did not hold when last fetched; None
    when there is no remote to push to."""
    try:
        where = target(runs_dir)
    except GitError:
        return None
    return where.remote, unpushed(where.top, where.remote)


# -- the steps -------------------------------------------------------------------------


def _fetch(where: Target) -> bool:
    """Fetch the remote's tags, and its branch when it has one (False when not yet)."""
    heads = try_git(["ls-remote", "--heads", where.remote, f"refs/heads/{where.branch}"], where.top)
    refspecs = [fetch_refspec(where.remote)]
    has_branch = heads.returncode == 0 and bool(heads.output.strip())
    if has_branch:
        refspecs.append(f"+refs/heads/{where.branch}:{where.tracking}")
    done = try_git(["fetch", "--quiet", "--no-tags", "--prune", where.remote, *refspecs], where.top)
    if done.returncode != 0:
        raise PushFailed(
            f"could not reach {where.remote}: {_last_lines(done.output)}\nNothing was lost: "
            "the runs and the registry's tags are here. Check the remote's address (git remote "
            "-v) and the network, then try again."
        )
    return has_branch


def _merge(where: Target) -> Arrived | None:
    """Merge the remote's branch when it has commits this one lacks; what it brought."""
    top = where.top
    behind = run_git(["rev-list", "--count", f"HEAD..{where.tracking}"], top).strip()
    if behind == b"0":
        return None
    before = run_git(["rev-parse", "HEAD"], top).decode().strip()
    done = try_git(
        [
            "merge",
            "--quiet",
            "--no-edit",
            "-m",
            f"Merge runs from {where.remote}/{where.branch}",
            where.tracking,
        ],
        top,
        env=identity_env(top),
    )
    now = run_git(["rev-parse", "HEAD"], top).decode().strip()
    if now == before:  # git refused, or stopped on a conflict
        conflicted = run_git(["diff", "--name-only", "--diff-filter=U"], top).decode().split()
        if conflicted:
            run_git(["merge", "--abort"], top, check=False)
        files = ", ".join(conflicted[:10]) or "(see git's message)"
        raise MergeConflict(
            f"{where.remote}/{where.branch} and this branch changed the same files ({files}), "
            f"so they cannot be merged without you: run 'git pull {where.remote} "
            f"{where.branch}', settle them, commit, then run gitruns push again. Your commits "
            f"and runs are as they were. {done.output.strip()[-300:]}"
        )
    logger.info("Merged %s/%s into %s", where.remote, where.branch, where.branch)
    return _runs_between(where, before, now)


def _runs_between(where: Target, before: str, after: str) -> Arrived:
    """The runs the commits between ``before`` and ``after`` added, per experiment."""
    runs_dir = where.workspace.runs_dir.resolve().relative_to(where.top.resolve()).as_posix()
    records = f"{runs_dir}/*/*/{RUN_FILE}"
    added = run_git(
        ["diff", "--name-only", "--diff-filter=A", before, after, "--", records], where.top
    ).decode()
    per_experiment = Counter(
        path.split("/")[-3] for path in added.splitlines() if path.endswith(f"/{RUN_FILE}")
    )
    return Arrived(runs=dict(per_experiment))


def _tags_to_send(where: Target, reconciled: Reconciled) -> list[str]:
    unsent = {event.tag for event in unpushed(where.top, where.remote)}
    forced = set(reconciled.to_force)
    return [f"+{tag}" if tag in forced else tag for tag in sorted(unsent | forced)]


def _send(where: Target, tags: list[str]) -> str | None:
    """Push the branch and ``tags`` at once; None when it landed, else git's words."""
    refspecs = [f"HEAD:refs/heads/{where.branch}"] + [
        f"{'+' if tag.startswith('+') else ''}refs/tags/{tag.lstrip('+')}" for tag in tags
    ]
    command = ["push", "--porcelain", "--atomic", where.remote, *refspecs]
    done = try_git(command, where.top)
    if done.returncode == 0:
        return None
    if "does not support --atomic" in done.output:  # an old server: the refs one by one
        done = try_git([word for word in command if word != "--atomic"], where.top)
        return None if done.returncode == 0 else done.output
    return done.output


def _remember_sent(where: Target, tags: list[str]) -> None:
    """What landed is what the remote holds now: no fetch needed to know it."""
    head = run_git(["rev-parse", "HEAD"], where.top).decode().strip()
    run_git(["update-ref", where.tracking, head], where.top)
    prefix = f"refs/gitruns/remotes/{where.remote}/tags/"
    for tag in tags:
        name = tag.lstrip("+")
        oid = run_git(["rev-parse", f"refs/tags/{name}"], where.top).decode().strip()
        run_git(["update-ref", prefix + name, oid], where.top)


def _add_renamed(report: PushReport | PullReport, reconciled: Reconciled) -> None:
    report.renamed += reconciled.renamed
    report.renumbered += reconciled.versions_renumbered


def _add_arrived(total: Arrived, arrived: Arrived) -> None:
    for experiment, count in arrived.runs.items():
        total.runs[experiment] = total.runs.get(experiment, 0) + count


def _describe(top: Path, tags: list[str]) -> list[str]:
    """Registry tags, as the changes they stand for."""
    events = {event.tag: event for event in read_events(top)}
    said = []
    for tag in tags:
        event = events.get(tag)
        if event is None:
            continue
        name, version = event.name, event.version
        if name.action == REGISTER:
            said.append(f"{name.model} v{version} registered by {event.tagger}")
        elif name.action == DEREGISTER:
            said.append(f"{name.model} v{version} deregistered")
        elif name.action == DEPRECATE:
            said.append(f"{name.model} deprecated")
        else:
            verb = "to" if name.action == ASSIGN else "out of"
            said.append(f"{name.model} v{version} {verb} {name.stage}" if version else tag)
    return said


def _last_lines(text: str, count: int = 6) -> str:
    return "\n".join(text.strip().splitlines()[-count:])
