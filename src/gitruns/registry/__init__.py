"""The model registry: versions, stages and aliases as annotated git tags, in GTO's names.

- :mod:`~gitruns.registry.tags`: the tag grammar (GTO's), alone;
- :mod:`~gitruns.registry.state`: events read from the tags, folded into models and versions;
- :mod:`~gitruns.registry.operations`: :class:`Registry`, which reads and writes them;
- :mod:`~gitruns.registry.uris`: ``runs:/`` and ``models:/`` URIs.
"""

from __future__ import annotations

from gitruns.registry.operations import Registry
from gitruns.registry.state import (
    ModelNotFound,
    ModelState,
    StageChange,
    TagEvent,
    VersionNotFound,
    VersionState,
)
from gitruns.registry.uris import locate_model, resolve_version, split_runs_uri

__all__ = [
    "ModelNotFound",
    "ModelState",
    "Registry",
    "StageChange",
    "TagEvent",
    "VersionNotFound",
    "VersionState",
    "locate_model",
    "resolve_version",
    "split_runs_uri",
]
