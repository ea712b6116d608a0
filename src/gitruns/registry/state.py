"""The registry's state, read from its tags alone: the events (one per tag, with who,
when and the YAML document of its message) folded into each model's versions, stages,
aliases, description and tags."""

from __future__ import annotations

import functools
import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from gitruns.exceptions import GitrunsError
from gitruns.registry.tags import (
    ASSIGN,
    DEPRECATE,
    DEREGISTER,
    MLFLOW_STAGES,
    REGISTER,
    UNASSIGN,
    TagName,
    alias_from_stage,
    mlflow_stage,
    parse_tag_name,
    semver,
    version_label,
    version_number,
)
from gitruns.utils.git import run_git
from gitruns.utils.yamlcodec import InvalidYaml, load_yaml

logger = logging.getLogger(__name__)

_RECORD_END = "\x00--gitruns-tag-end--\x00"  # what git prints for the format's end below
_RECORD_END_FORMAT = "%00--gitruns-tag-end--%00"
_FORMAT = "%00".join(
    [
        "%(refname)",
        "%(objectname)",
        "%(objecttype)",
        "%(*objectname)",
        "%(taggername)",
        "%(taggeremail)",
        "%(taggerdate:raw)",
        "%(contents)",
    ]
)


class ModelNotFound(GitrunsError):
    error_code = "RESOURCE_DOES_NOT_EXIST"


class VersionNotFound(GitrunsError):
    error_code = "RESOURCE_DOES_NOT_EXIST"


@dataclass(frozen=True)
class TagEvent:
    """One registry tag: what it says, where it points, who made it and when."""

    tag: str
    name: TagName
    commit: str
    tagger: str
    email: str
    date: str  # git's raw form: "1732440000 +0100"
    message: str
    oid: str = ""  # the tag object's id: two tags of one name are one event when it matches

    @property
    def time(self) -> int:
        return int(self.date.split()[0])

    @property
    def version(self) -> str:
        """MLflow's label of the version the event is about ('3'): the tag's own, else the
        one its message names (a stage's tag points at a commit, not a version); '' for none."""
        if self.name.version:
            return version_label(self.name.version)
        said = self.info.get("version")
        return "" if said is None else str(said)

    @property
    def time_ms(self) -> int:
        """When it was made, in milliseconds: what the message says (a tag's own time is
        in seconds, and kept a second after the model's last one for GTO), else its time."""
        said = self.info.get("at_ms")
        return said if isinstance(said, int) and not isinstance(said, bool) else self.time * 1000

    @property
    def changed_ms(self) -> int:
        """When the version's details in its message last changed (description, tags), or 0."""
        return self._stamp("changed_ms")

    @property
    def model_changed_ms(self) -> int:
        """When the model's details its message carries last changed, or 0."""
        return self._stamp("model_changed_ms")

    def _stamp(self, key: str) -> int:
        said = self.info.get(key)
        return said if isinstance(said, int) and not isinstance(said, bool) else 0

    @functools.cached_property
    def info(self) -> dict[str, Any]:
        """The YAML document after the message's first line (gitruns' own tags), else {}."""
        _headline, _, body = self.message.partition("\n\n")
        try:
            document = load_yaml(body)
        except InvalidYaml:
            return {}
        return document if isinstance(document, dict) else {}


@dataclass
class StageChange:
    """A stage given to or taken from a version: the history ``models history`` shows."""

    stage: str
    assigned: bool
    version: str
    tagger: str
    time: int
    tag: str


@dataclass
class VersionState:
    """One version of a model, as its tags describe it."""

    model: str
    version: str  # GTO's: "v3.0.0"
    commit: str
    tag: str
    registered_by: str
    registered_at: int  # seconds since the epoch
    info: dict[str, Any]
    deregistered: bool = False
    stages: dict[str, int] = field(default_factory=dict)  # active stage -> when assigned
    updated_at: int = 0
    registered_ms: int = 0  # the same two, in milliseconds (MLflow's timestamps)
    updated_ms: int = 0

    @property
    def label(self) -> str:
        """MLflow's version: '3'."""
        return version_label(self.version)

    @property
    def run_id(self) -> str | None:
        return self.info.get("run_id")

    @property
    def path(self) -> str:
        return str(self.info.get("path") or "model")

    @property
    def source(self) -> str | None:
        """Where the version's model is: what its caller gave, else its run's folder."""
        given = self.info.get("source")
        if given:
            return str(given)
        return f"runs:/{self.run_id}/{self.path}" if self.run_id else None

    @property
    def description(self) -> str:
        return str(self.info.get("description") or "")

    @property
    def current_stage(self) -> str:
        """MLflow's single stage: the latest of Staging, Production, Archived it holds."""
        held = [stage for stage in self.stages if stage in MLFLOW_STAGES]
        return mlflow_stage(max(held, key=self.stages.__getitem__)) if held else "None"

    @property
    def tags(self) -> dict[str, str]:
        """MLflow's model-version tags, kept in the registration tag's message."""
        tags = self.info.get("tags")
        return {str(k): str(v) for k, v in tags.items()} if isinstance(tags, dict) else {}

    @property
    def aliases(self) -> list[str]:
        """The aliases it holds, as they were given (their tags may carry them encoded)."""
        return sorted(
            alias_from_stage(stage) for stage in self.stages if stage not in MLFLOW_STAGES
        )


@dataclass
class ModelState:
    """A registered model: its versions, stage history and description."""

    name: str
    versions: dict[str, VersionState] = field(default_factory=dict)
    history: list[StageChange] = field(default_factory=list)
    deprecated: bool = False
    description: str = ""
    tags: dict[str, str] = field(default_factory=dict)  # MLflow's registered-model tags
    created_at: int = 0
    updated_at: int = 0
    created_ms: int = 0  # the same two, in milliseconds (MLflow's timestamps)
    updated_ms: int = 0
    last_time: int = 0  # the latest tag time, to keep new tags after it
    last_counter: int = 0
    announced: bool = False  # made with no version yet: not in git's tags until its first

    def live_versions(self) -> list[VersionState]:
        """Versions not deregistered, oldest first."""
        live = [state for state in self.versions.values() if not state.deregistered]
        return sorted(live, key=lambda state: version_number(state.version))

    def version(self, version: int | str) -> VersionState:
        state = self.versions.get(semver(version))
        if state is None or state.deregistered:
            known = ", ".join(v.label for v in self.live_versions()) or "none"
            raise VersionNotFound(
                f"Model Version (name={self.name}, version={version}) not found (versions: "
                f"{known}). "
                f"See them with 'gitruns models show {self.name}'."
            )
        return state

    def holders(self, stage: str) -> list[VersionState]:
        return [state for state in self.live_versions() if stage in state.stages]

    def stage_holders(self) -> dict[str, VersionState]:
        """Each stage with its newest holder: what GTO's ``gto show`` reports per stage."""
        current: dict[str, VersionState] = {}
        for state in self.live_versions():
            for stage in state.stages:
                current[stage] = state
        return dict(sorted(current.items()))


TAGS = "refs/tags/"


def read_events(repo_top: Path, refs: str = TAGS) -> list[TagEvent]:
    """Every registry tag of the repository, in the order the registry applies them:
    one ``git for-each-ref``; lightweight tags and other tags are left out, as GTO does.
    ``refs`` reads the tags kept under another prefix (a remote's, as last fetched)."""
    output = run_git(
        ["for-each-ref", f"--format={_FORMAT}{_RECORD_END_FORMAT}", refs], repo_top
    ).decode("utf-8", errors="replace")
    events = []
    for record in output.split(_RECORD_END):
        fields = record.lstrip("\n").split("\x00")
        if len(fields) != 8:
            continue
        ref, oid, kind, commit, tagger, email, date, message = fields
        tag = ref.removeprefix(refs)
        name = parse_tag_name(tag)
        if name is None or kind != "tag" or not date:
            continue
        events.append(
            TagEvent(tag, name, commit, tagger, email.strip("<>"), date, message.strip(), oid)
        )
    return sorted(
        events, key=lambda e: (e.time, -1 if e.name.counter is None else e.name.counter, e.tag)
    )


def apply_event(model: ModelState, event: TagEvent) -> None:
    """Fold one tag into the model's state."""
    name = event.name
    model.created_at = model.created_at or event.time
    model.updated_at = event.time
    model.created_ms = model.created_ms or event.time_ms
    model.updated_ms = max(
        model.updated_ms, event.time_ms, event.changed_ms, event.model_changed_ms
    )
    model.last_time = max(model.last_time, event.time)
    model.last_counter = max(model.last_counter, name.counter or 0)
    if name.action == DEPRECATE:
        model.deprecated = True
        return
    model.deprecated = False
    if name.action == REGISTER and name.version:
        info = event.info
        model.versions[name.version] = VersionState(
            model=model.name,
            version=name.version,
            commit=event.commit,
            tag=event.tag,
            registered_by=event.tagger,
            registered_at=event.time,
            info=info,
            updated_at=event.time,
            registered_ms=event.time_ms,
            updated_ms=max(event.time_ms, event.changed_ms),
        )
        if info.get("model_description"):
            model.description = str(info["model_description"])
        if isinstance(info.get("model_tags"), dict):
            model.tags = {str(k): str(v) for k, v in info["model_tags"].items()}
        return
    if name.action == DEREGISTER and name.version in model.versions:
        state = model.versions[name.version]
        state.deregistered = True
        state.stages.clear()
        return
    if name.action in (ASSIGN, UNASSIGN) and name.stage:
        at_commit = [
            v for v in model.versions.values() if v.commit == event.commit and not v.deregistered
        ]
        if not at_commit:
            logger.debug("Stage tag %s points at no registered version", event.tag)
            return
        state = at_commit[-1]
        if name.action == ASSIGN:
            state.stages[name.stage] = event.time
        else:
            state.stages.pop(name.stage, None)
        state.updated_at = event.time
        state.updated_ms = max(state.updated_ms, event.time_ms)
        model.history.append(
            StageChange(
                name.stage, name.action == ASSIGN, state.label, event.tagger, event.time, event.tag
            )
        )
