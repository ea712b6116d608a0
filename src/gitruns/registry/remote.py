"""The registry across clones: one meaning for every tag once they meet on a remote.

Two clones that register a version of one model at the same time both make
``NAME@v3.0.0`` (and the same stage counter ``NAME#production#5``) on different
commits; only one can land. Before a push (and after a fetch), the tags this clone
made that the remote does not hold are set again above the remote's: versions numbered
from the remote's highest plus one, counters likewise, each a second after the remote's
last tag of that model (GTO orders by time), so every clone reads the same registry
as ``gto show`` reads the remote. Tags the remote holds and this clone does not are
taken as they are.

What the remote holds is kept, as last fetched, under ``refs/gitruns/remotes/<remote>/
tags/``: a fetch there never touches the clone's own tags, and what is not yet pushed
is the difference.
"""

from __future__ import annotations

import dataclasses
import logging
import re
import time
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

from gitruns.registry.operations import commit_on_head
from gitruns.registry.state import TagEvent, read_events
from gitruns.registry.tags import (
    ASSIGN,
    DEPRECATE,
    REGISTER,
    UNASSIGN,
    deprecate_tag,
    semver,
    tag_name,
    version_label,
    version_number,
)
from gitruns.utils.git import run_git

logger = logging.getLogger(__name__)


def remote_tags_ref(remote: str) -> str:
    """Where a remote's tags are kept, as last fetched."""
    return f"refs/gitruns/remotes/{remote}/tags/"


def fetch_refspec(remote: str) -> str:
    return f"+refs/tags/*:{remote_tags_ref(remote)}*"


@dataclass(frozen=True)
class Renamed:
    """A tag of this clone made again under another name, so it means one thing."""

    model: str
    old: str
    new: str
    old_version: str | None = None  # MLflow's label, when a registration was renumbered
    new_version: str | None = None


@dataclass
class Reconciled:
    """What :func:`reconcile` did, and what a push must send."""

    renamed: list[Renamed] = field(default_factory=list)
    taken: list[str] = field(default_factory=list)  # the remote's tags, new here
    to_push: list[str] = field(default_factory=list)  # tags the remote lacks
    to_force: list[str] = field(default_factory=list)  # registrations whose details changed here

    @property
    def versions_renumbered(self) -> list[Renamed]:
        return [item for item in self.renamed if item.old_version is not None]


def unpushed(repo_top: Path, remote: str) -> list[TagEvent]:
    """The registry tags of this clone the remote did not hold when last fetched."""
    theirs = {event.tag: event.oid for event in read_events(repo_top, remote_tags_ref(remote))}
    return [event for event in read_events(repo_top) if theirs.get(event.tag) != event.oid]


def reconcile(repo_top: Path, remote: str) -> Reconciled:
    """Make this clone's registry tags agree with the remote's, as last fetched: the
    remote's are taken, this clone's own are set again above them where they clash.
    Call it with the registry's lock held, after fetching the remote's tags."""
    mine = read_events(repo_top)
    theirs = {event.tag: event for event in read_events(repo_top, remote_tags_ref(remote))}
    result = Reconciled()
    pending: dict[str, list[TagEvent]] = defaultdict(list)
    for event in mine:
        other = theirs.get(event.tag)
        if other is None:
            pending[event.name.model].append(event)
        elif other.oid == event.oid:
            continue
        elif _same_registration(event, other):  # its details changed on one side
            if _details_time(event) > _details_time(other):
                result.to_force.append(event.tag)
            else:
                _point_tag(repo_top, event.tag, other.oid)
                result.taken.append(event.tag)
        else:
            pending[event.name.model].append(event)
    by_model: dict[str, list[TagEvent]] = defaultdict(list)
    for event in theirs.values():
        by_model[event.name.model].append(event)
    for model, events in pending.items():
        kept, renamed = _set_above(repo_top, model, events, by_model.get(model, []))
        result.renamed += renamed
        result.to_push += kept
    own = {event.tag for event in read_events(repo_top)}
    for tag, event in theirs.items():
        if tag not in own:
            _point_tag(repo_top, tag, event.oid)
            result.taken.append(tag)
    return result


def _same_registration(mine: TagEvent, theirs: TagEvent) -> bool:
    """Whether two tags of one name are one registration, rewritten with new details
    (a description, a tag) on one side: same commit, tagger and moment of making."""
    return (
        mine.name.action == REGISTER
        and mine.commit == theirs.commit
        and mine.email == theirs.email
        and mine.time_ms == theirs.time_ms
    )


def _details_time(event: TagEvent) -> int:
    return max(event.changed_ms, event.model_changed_ms)


def _set_above(
    repo_top: Path, model: str, events: list[TagEvent], remote_events: list[TagEvent]
) -> tuple[list[str], list[Renamed]]:
    """This clone's unpushed tags of ``model``, set above the remote's where they clash:
    (the tags to push, what was renamed)."""
    top_version = max((version_number(e.name.version or "") for e in remote_events), default=0)
    top_counter = max((e.name.counter or 0 for e in remote_events), default=0)
    last_time = max((e.time for e in remote_events), default=0)
    taken = {e.tag for e in remote_events}
    clash = any(
        event.tag in taken
        or event.time <= last_time
        or (event.name.counter is not None and event.name.counter <= top_counter)
        or (event.name.action == REGISTER and _number(event) <= top_version)
        for event in events
    )
    if not clash:
        return [event.tag for event in events], []
    taken_commits = {e.commit for e in remote_events if e.name.action == REGISTER}
    versions: dict[str, str] = {}  # old -> new, GTO's form
    for event in sorted(
        (e for e in events if e.name.action == REGISTER),
        key=lambda e: version_number(e.name.version or ""),
    ):
        top_version += 1
        versions[event.name.version or ""] = semver(top_version)
    moved: dict[str, str] = {}  # a commit a remote version holds -> a new one for ours
    renamed: list[Renamed] = []
    moment = max(last_time + 1, int(time.time()) - len(events))
    for event in events:  # in the order they were made here
        name = event.name
        commit = event.commit
        if commit in taken_commits:  # GTO finds a version by its commit: ours needs its own
            commit = moved.get(commit) or moved.setdefault(commit, _new_commit(repo_top, event))
        version = versions.get(name.version or "", name.version)
        counter = name.counter
        if name.action in (ASSIGN, UNASSIGN) or (
            name.action == DEPRECATE and (counter or deprecate_tag(model, None) in taken)
        ):
            top_counter += 1
            counter = top_counter
        new_tag = tag_name(dataclasses.replace(name, version=version, counter=counter))
        message = _renumbered_message(event.message, versions)
        _make_tag(repo_top, new_tag, commit, message, event, moment)
        moment += 1
        if new_tag != event.tag:
            run_git(["tag", "-d", event.tag], repo_top)
        changed_version = name.action == REGISTER and version != name.version
        renamed.append(
            Renamed(
                model,
                event.tag,
                new_tag,
                version_label(name.version or "") if changed_version else None,
                version_label(version or "") if changed_version else None,
            )
        )
        logger.info("Registry tag %s is %s now: the remote held its place.", event.tag, new_tag)
    return [item.new for item in renamed], renamed


def _number(event: TagEvent) -> int:
    return version_number(event.name.version or "")


def _renumbered_message(message: str, versions: dict[str, str]) -> str:
    """A tag's message with the versions it names renumbered: its headline ("Register m
    version 3", "m v3: production") and its document's ``version``."""
    labels = {version_label(old): version_label(new) for old, new in versions.items()}
    if not labels:
        return message

    def swap(match: re.Match[str]) -> str:
        return match[1] + labels.get(match[2], match[2])

    headline, separator, body = message.partition("\n\n")
    headline = re.sub(r"(\bversion |\bv)(\d+)\b", swap, headline)
    body = re.sub(r"(?m)^(version: ['\"]?)(\d+)", swap, body)
    return headline + separator + body


def _make_tag(
    repo_top: Path, tag: str, commit: str, message: str, event: TagEvent, moment: int
) -> None:
    env = {
        "GIT_COMMITTER_NAME": event.tagger,
        "GIT_COMMITTER_EMAIL": event.email,
        "GIT_COMMITTER_DATE": f"{moment} +0000",
    }
    run_git(["tag", "-f", "-a", tag, "-m", message, commit], repo_top, env=env)


def _new_commit(repo_top: Path, event: TagEvent) -> str:
    """An empty commit on HEAD for a version whose commit a remote version holds already."""
    message = f"Register {event.name.model} again above the remote's versions"
    env = {
        "GIT_AUTHOR_NAME": event.tagger,
        "GIT_AUTHOR_EMAIL": event.email,
        "GIT_COMMITTER_NAME": event.tagger,
        "GIT_COMMITTER_EMAIL": event.email,
    }
    return commit_on_head(repo_top, message, env)


def _point_tag(repo_top: Path, tag: str, oid: str) -> None:
    run_git(["update-ref", f"refs/tags/{tag}", oid], repo_top)
