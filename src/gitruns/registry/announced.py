"""Registered models announced before their first version (MLflow's
``create_registered_model``), with their description and tags.

A model's versions and stages are git tags, and a tag needs a version to name. Until
its first version an announced model is kept in a file in the git directory
(``gitruns/announced-models.yaml``), where every process of this clone sees it; the
first version's tag then carries its description and tags into git, for other clones
and for GTO, and the entry goes. Writers hold the registry's lock.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from gitruns.store.record import now_ms
from gitruns.utils.files import read_small_text, write_atomic
from gitruns.utils.git import run_git
from gitruns.utils.yamlcodec import InvalidYaml, dump_yaml, load_yaml

logger = logging.getLogger(__name__)

ANNOUNCED_FILE = "gitruns/announced-models.yaml"
MAX_ANNOUNCED_BYTES = 4 * 1024 * 1024


@dataclass
class Announcement:
    """A model announced with no version yet."""

    description: str = ""
    tags: dict[str, str] = field(default_factory=dict)
    created_ms: int = field(default_factory=now_ms)
    updated_ms: int = 0

    def to_dict(self) -> dict[str, Any]:
        return {
            "description": self.description,
            "tags": dict(self.tags),
            "created_ms": self.created_ms,
            "updated_ms": self.updated_ms or self.created_ms,
        }

    @classmethod
    def from_dict(cls, data: Any) -> Announcement | None:
        if not isinstance(data, dict):
            return None
        tags = data.get("tags")
        if not isinstance(tags, dict):
            tags = {}
        created = data.get("created_ms")
        updated = data.get("updated_ms")
        return cls(
            description=str(data.get("description") or ""),
            tags={str(key): str(value) for key, value in tags.items()},
            created_ms=created if isinstance(created, int) else 0,
            updated_ms=updated if isinstance(updated, int) else 0,
        )


def announced_path(repo_top: Path) -> Path:
    common = run_git(["rev-parse", "--path-format=absolute", "--git-common-dir"], repo_top)
    return Path(common.decode().strip()) / ANNOUNCED_FILE


def read_announced(repo_top: Path) -> dict[str, Announcement]:
    """Every announced model of the repository; an unreadable file is reported and read
    as none, so the registry of tags is never blocked by it."""
    path = announced_path(repo_top)
    if not path.exists():
        return {}
    text = read_small_text(path, MAX_ANNOUNCED_BYTES)
    try:
        data = load_yaml(text) if text is not None else None
    except (ValueError, InvalidYaml) as error:
        logger.warning("Ignored %s, which does not read (%s); delete it.", path, error)
        return {}
    found = {}
    for name, entry in (data or {}).items() if isinstance(data, dict) else ():
        announcement = Announcement.from_dict(entry)
        if isinstance(name, str) and announcement is not None:
            found[name] = announcement
    return found


def write_announced(repo_top: Path, models: dict[str, Announcement]) -> None:
    path = announced_path(repo_top)
    path.parent.mkdir(parents=True, exist_ok=True)
    write_atomic(path, dump_yaml({name: entry.to_dict() for name, entry in sorted(models.items())}))
