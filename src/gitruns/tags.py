"""The registry's tag grammar: GTO's tag names, built and parsed in one place.

::

    NAME@vN.0.0        register version N (MLflow's integer version N)
    NAME@vN.0.0!       deregister it
    NAME#STAGE#K       assign STAGE to the version registered at the tagged commit
    NAME#STAGE!#K      unassign it
    NAME@deprecated    deprecate the model (``#K`` after the first time)

K is one more than the highest counter on any tag of NAME. NAME and STAGE
are lower-case letters, digits, ``-`` and ``/``, starting with a letter and
ending with a letter or digit: the grammar every GTO release accepts.
MLflow's stages map onto GTO's lower-case ones (Production ↔ production).
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass

from gitruns.exceptions import InvalidName

NAME = r"[a-z][a-z0-9\-/]*[a-z0-9]"
SEMVER = r"v(?P<major>0|[1-9]\d*)\.(?P<minor>0|[1-9]\d*)\.(?P<patch>0|[1-9]\d*)"
NAME_PATTERN = re.compile(rf"^{NAME}\Z")
TAG_PATTERN = re.compile(
    rf"^(?P<model>{NAME})"
    rf"(?:(?:#(?P<stage>{NAME})|@(?P<version>{SEMVER}))(?P<cancel>!?)|@(?P<deprecated>deprecated))"
    r"(?:#(?P<counter>[0-9]+))?\Z"
)

REGISTER, DEREGISTER, ASSIGN, UNASSIGN, DEPRECATE = (
    "register",
    "deregister",
    "assign",
    "unassign",
    "deprecate",
)

# MLflow's stages and GTO's names for them; any other GTO stage is an alias here.
MLFLOW_STAGES = {"staging": "Staging", "production": "Production", "archived": "Archived"}
NO_STAGE = "None"


@dataclass(frozen=True)
class TagName:
    """A parsed registry tag name."""

    model: str
    action: str
    version: str | None = None  # "v3.0.0"
    stage: str | None = None
    counter: int | None = None


def parse_tag_name(text: str) -> TagName | None:
    """The registry event a tag name stands for, or None for any other tag.

    >>> parse_tag_name("taxi#production#4")
    TagName(model='taxi', action='assign', version=None, stage='production', counter=4)
    """
    match = TAG_PATTERN.match(text)
    if match is None:
        return None
    counter = int(match["counter"]) if match["counter"] else None
    cancel = match["cancel"] == "!"
    if match["deprecated"]:
        return TagName(match["model"], DEPRECATE, counter=counter)
    if match["version"]:
        action = DEREGISTER if cancel else REGISTER
        return TagName(match["model"], action, version=match["version"], counter=counter)
    action = UNASSIGN if cancel else ASSIGN
    return TagName(match["model"], action, stage=match["stage"], counter=counter)


def check_model_name(name: object) -> str:
    """Return ``name`` if GTO accepts it as a model name; raise :class:`InvalidName`."""
    if not isinstance(name, str) or not NAME_PATTERN.match(name):
        raise InvalidName(
            f"model name {name!r} is not one git tags can carry in GTO's grammar: use "
            "lower-case letters, digits, '-' and '/', starting with a letter and ending "
            "with a letter or digit, e.g. 'nyc-taxi-regressor'."
        )
    return name


def gto_stage(stage: object) -> str | None:
    """GTO's stage name for an MLflow stage (any case) or a GTO stage; None for 'None'."""
    if not isinstance(stage, str):
        raise InvalidName(f"stage must be a string such as 'Production', got {stage!r}.")
    lowered = stage.strip().lower()
    if lowered == "none":
        return None
    if not NAME_PATTERN.match(lowered):
        raise InvalidName(
            f"stage {stage!r} is not a stage name: use Staging, Production, Archived or None, "
            "or a lower-case GTO stage such as 'dev'."
        )
    return lowered


def known_stage(stage: object, *, allow_custom: bool = False) -> str | None:
    """GTO's name for a stage a version may move to: MLflow's four (any case), or with
    ``allow_custom`` any GTO stage name; a clear error, with the closest known stage,
    for anything else (``prod`` is a typo far more often than a new stage)."""
    target = gto_stage(stage)
    if target is None or target in MLFLOW_STAGES or allow_custom:
        return target
    close = difflib.get_close_matches(target, [*MLFLOW_STAGES, "none"], n=1, cutoff=0.4)
    hint = f" Did you mean {close[0]!r}?" if close else ""
    raise InvalidName(
        f"{stage!r} is not a stage: use staging, production, archived or none.{hint} "
        "To use a stage of your own, pass --custom-stage (allow_custom=True in Python)."
    )


def mlflow_stage(stage: str | None) -> str:
    """MLflow's name for a GTO stage: 'production' -> 'Production'; other stages as they are."""
    if stage is None:
        return NO_STAGE
    return MLFLOW_STAGES.get(stage, stage)


def semver(version: int | str) -> str:
    """MLflow's integer version as GTO's: 3 -> 'v3.0.0'; a 'vX.Y.Z' passes through."""
    text = str(version)
    if re.fullmatch(SEMVER, text):
        return text
    if text.isdigit() and int(text) > 0:
        return f"v{int(text)}.0.0"
    raise InvalidName(f"version {version!r} is not a model version: pass 1, 2, 3... (or 'v1.2.0').")


def version_label(version: str) -> str:
    """GTO's version as MLflow shows it: 'v3.0.0' -> '3'; other versions keep their form."""
    match = re.fullmatch(SEMVER, version)
    if match and match["minor"] == "0" and match["patch"] == "0":
        return match["major"]
    return version.removeprefix("v")


def version_number(version: str) -> int:
    """The major number of a version, which orders MLflow's versions."""
    match = re.fullmatch(SEMVER, version)
    return int(match["major"]) if match else 0


def register_tag(model: str, version: str) -> str:
    return f"{model}@{version}"


def deregister_tag(model: str, version: str) -> str:
    return f"{model}@{version}!"


def assign_tag(model: str, stage: str, counter: int) -> str:
    return f"{model}#{stage}#{counter}"


def unassign_tag(model: str, stage: str, counter: int) -> str:
    return f"{model}#{stage}!#{counter}"


def deprecate_tag(model: str, counter: int | None) -> str:
    return f"{model}@deprecated" + (f"#{counter}" if counter is not None else "")
