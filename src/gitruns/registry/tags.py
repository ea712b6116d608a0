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

A model name outside that grammar (MLflow's docs say ``my_ml_model`` and
``SklearnLinearRegression``) goes into tags encoded, reversibly:
``mlflow-b32-`` and the name's UTF-8 bytes in lower-case base32
(``my_ml_model`` -> ``mlflow-b32-nv4v63lmnrpw233emvwa``); gitruns reads it back,
and the registration's message holds the name as given.
"""

from __future__ import annotations

import base64
import binascii
import re
from dataclasses import dataclass

from gitruns.exceptions import InvalidName
from gitruns.utils.words import closest

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


ENCODED_PREFIX = "mlflow-b32-"
MAX_MODEL_NAME_LENGTH = 256


def tag_model(name: str) -> str:
    """A model's name as its tags carry it: itself when GTO's grammar holds it, else
    encoded (see the module's docstring)."""
    if NAME_PATTERN.match(name) and not name.startswith(ENCODED_PREFIX):
        return name
    encoded = base64.b32encode(name.encode("utf-8")).decode("ascii").rstrip("=").lower()
    return ENCODED_PREFIX + encoded


# Aliases that would read as one of MLflow's stages, or as its keywords, in GTO's grammar.
STAGE_LIKE_ALIASES = frozenset({*MLFLOW_STAGES, "none", "latest"})


def alias_stage(alias: str) -> str:
    """The GTO stage an alias is kept as: the alias itself when GTO's grammar holds it and
    it cannot be taken for a stage, else encoded as model names are (so 'Production' and
    'latest' are aliases like any other, and aliases are case-sensitive, as in MLflow)."""
    if alias.lower() in STAGE_LIKE_ALIASES:
        encoded = base64.b32encode(alias.encode("utf-8")).decode("ascii").rstrip("=").lower()
        return ENCODED_PREFIX + encoded
    return tag_model(alias)


def alias_from_stage(stage: str) -> str:
    """The alias a stage holds (the inverse of :func:`alias_stage`)."""
    name = _decoded(stage)
    return name if name is not None and alias_stage(name) == stage else model_from_tag(stage)


def _decoded(text: str) -> str | None:
    if not text.startswith(ENCODED_PREFIX):
        return None
    body = text[len(ENCODED_PREFIX) :].upper()
    try:
        return base64.b32decode(body + "=" * (-len(body) % 8)).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError, ValueError):
        return None


def model_from_tag(text: str) -> str:
    """The model's name from its tags' form (the inverse of :func:`tag_model`)."""
    name = _decoded(text)  # None: not one gitruns wrote, a plain name that starts so
    return name if name is not None and tag_model(name) == text else text


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
    model = model_from_tag(match["model"])
    if match["deprecated"]:
        return TagName(model, DEPRECATE, counter=counter)
    if match["version"]:
        action = DEREGISTER if cancel else REGISTER
        return TagName(model, action, version=match["version"], counter=counter)
    action = UNASSIGN if cancel else ASSIGN
    return TagName(model, action, stage=match["stage"], counter=counter)


def check_model_name(name: object) -> str:
    """Return ``name`` if it can name a registered model; raise :class:`InvalidName`.

    Any name MLflow takes: text of 1 to 256 characters, not only spaces, without
    control characters. Names outside GTO's grammar are encoded in the tags.
    """
    if (
        not isinstance(name, str)
        or not name.strip()
        or len(name) > MAX_MODEL_NAME_LENGTH
        or any(ord(character) < 32 or ord(character) == 127 for character in name)
    ):
        raise InvalidName(
            f"model name {name!r} cannot name a registered model: use text of 1 to "
            f"{MAX_MODEL_NAME_LENGTH} characters without control characters, e.g. "
            "'nyc-taxi-regressor' (which GTO's tools read as it is)."
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
    close = closest(target, [*MLFLOW_STAGES, "none"], cutoff=0.4)
    hint = f" Did you mean {close!r}?" if close else ""
    raise InvalidName(
        f"{stage!r} is not a stage: use staging, production, archived or none.{hint} "
        "To use a stage of your own, pass --custom-stage (allow_custom=True in Python)."
    )


def mlflow_stage(stage: str | None) -> str:
    """MLflow's name for a GTO stage: 'production' -> 'Production'; other stages as they are."""
    if stage is None:
        return NO_STAGE
    return MLFLOW_STAGES.get(stage) or alias_from_stage(stage)


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
    return f"{tag_model(model)}@{version}"


def deregister_tag(model: str, version: str) -> str:
    return f"{tag_model(model)}@{version}!"


def assign_tag(model: str, stage: str, counter: int) -> str:
    return f"{tag_model(model)}#{stage}#{counter}"


def unassign_tag(model: str, stage: str, counter: int) -> str:
    return f"{tag_model(model)}#{stage}!#{counter}"


def deprecate_tag(model: str, counter: int | None) -> str:
    return f"{tag_model(model)}@deprecated" + (f"#{counter}" if counter is not None else "")


def tag_name(name: TagName) -> str:
    """The tag that says what ``name`` says: :func:`parse_tag_name` the other way round.

    >>> tag_name(TagName("taxi", ASSIGN, stage="production", counter=4))
    'taxi#production#4'
    """
    if name.action == DEPRECATE:
        return deprecate_tag(name.model, name.counter)
    if name.action in (REGISTER, DEREGISTER):
        assert name.version is not None
        versioned = register_tag if name.action == REGISTER else deregister_tag
        tag = versioned(name.model, name.version)
        return tag if name.counter is None else f"{tag}#{name.counter}"
    assert name.stage is not None and name.counter is not None
    staged = assign_tag if name.action == ASSIGN else unassign_tag
    return staged(name.model, name.stage, name.counter)
