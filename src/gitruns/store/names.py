"""Name grammars, in one place: keys, run ids, experiment slugs, artifact paths.

Keys (params, metrics, tags) follow MLflow's rules, so code that logs into
MLflow logs into gitruns unchanged: alphanumerics, ``_ - . space /``, at most
250 characters, no ``..``, not absolute. A metric key also names a file
(``metrics/<key>.tsv``), which is why the path rules matter.
"""

from __future__ import annotations

import base64
import binascii
import functools
import hashlib
import posixpath
import random
import re
import unicodedata

from gitruns.exceptions import InvalidName, InvalidPath, InvalidValue, RunNotFound

MAX_KEY_LENGTH = 250
MAX_NAME_LENGTH = 250
MAX_EXPERIMENT_NAME_LENGTH = 500
MAX_SLUG_LENGTH = 64
MAX_PARAM_VALUE_LENGTH = 6000
MAX_TAG_VALUE_LENGTH = 8000
DEFAULT_EXPERIMENT_NAME = "Default"  # MLflow's, and the folder ``default``
DEFAULT_EXPERIMENT_FOLDER = "default"
DEFAULT_EXPERIMENT_ID = "0"  # the Default experiment's id in MLflow's API

# Anchored with \Z, not $: '$' also matches before a trailing newline.
KEY_PATTERN = re.compile(r"^[\w\-. /:]+\Z")  # MLflow's, colons included
RUN_ID_PATTERN = re.compile(r"^[0-9a-f]{32}\Z")
RUN_ID_PREFIX_PATTERN = re.compile(r"^[0-9a-f]{1,32}\Z")
SLUG_PATTERN = re.compile(r"^[a-z0-9](?:[a-z0-9-]*[a-z0-9])?\Z")
# A logged model (MLflow 3's LoggedModel) lives at artifacts/<name>/ of its run, and its id
# says where: m-<run id>-<name in lower-case base32, unpadded>.
LOGGED_MODEL_ID_PATTERN = re.compile(r"^m-(?P<run_id>[0-9a-f]{32})-(?P<name>[a-z2-7]+)\Z")
_NOT_SLUG_CHARACTERS = re.compile(r"[^a-z0-9]+")
_WINDOWS_DRIVE = re.compile(r"^[A-Za-z]:")


def _is_clean_relative_path(path: str) -> bool:
    """True when ``path`` is relative and already in normal form (no ``..``, ``.``, ``//``)."""
    normal = posixpath.normpath(path)
    return not (
        normal != path
        or normal in (".", "..")
        or normal.startswith("../")
        or normal.startswith("/")
    )


def check_key(key: object, kind: str = "key") -> str:
    """Return ``key`` if it is a valid param, metric or tag key; raise :class:`InvalidName`.

    >>> check_key("validation-rmse")
    'validation-rmse'
    """
    if not isinstance(key, str):
        raise InvalidName(
            f"{kind} must be a string, got {type(key).__name__} {key!r}. Pass the name as a str."
        )
    return _check_key_text(key, kind)


# Cached: a training loop logs the same few keys many times.
@functools.lru_cache(maxsize=4096)
def _check_key_text(key: str, kind: str) -> str:
    if not key:
        raise InvalidName(f"{kind} is empty. Give it a name such as 'rmse'.")
    if len(key) > MAX_KEY_LENGTH:
        raise InvalidName(
            f"{kind} {key[:40]!r}... is {len(key)} characters long; "
            f"the limit is {MAX_KEY_LENGTH}. Use a shorter name."
        )
    if not KEY_PATTERN.match(key):
        raise InvalidName(
            f"{kind} {key!r} has characters outside letters, digits, '_', '-', '.', ' ', ':' "
            "and '/'. "
            "Rename it using only those."
        )
    if not _is_clean_relative_path(key):
        raise InvalidName(
            f"{kind} {key!r} is not a clean relative name: it may not start with '/', "
            "contain '..' or '.' as a part, repeat '/', or end with '/'. "
            "Write it like 'train/loss'."
        )
    return key


def check_text_name(name: object, kind: str, max_length: int = MAX_NAME_LENGTH) -> str:
    """Return ``name`` if it is a usable run or experiment name; raise :class:`InvalidName`."""
    if not isinstance(name, str):
        raise InvalidName(
            f"{kind} must be a string, got {type(name).__name__} {name!r}. Pass the name as a str."
        )
    if not name.strip():
        raise InvalidName(f"{kind} is empty. Give it a name such as 'nyc-taxi'.")
    if "\x00" in name:
        raise InvalidName(f"{kind} {name!r} contains a NUL character. Remove it.")
    if len(name) > max_length:
        raise InvalidName(
            f"{kind} {name[:40]!r}... is {len(name)} characters long; "
            f"the limit is {max_length}. Use a shorter name."
        )
    return name


def check_experiment_name(name: object) -> str:
    """Return ``name`` if it can name an experiment (the one limit is
    :data:`MAX_EXPERIMENT_NAME_LENGTH`); raise :class:`InvalidName` (in MLflow's words
    where MLflow's own checks would refuse it)."""
    if name is None or name == "":
        raise InvalidName(f"Invalid experiment name: '{name}'. Give it a name such as 'nyc-taxi'.")
    if not isinstance(name, str):
        raise InvalidName(
            f"Invalid experiment name: {str(name)[:80]}. Expects a string. Pass the name as a "
            "str, e.g. 'nyc-taxi'."
        )
    return check_text_name(name, "experiment name", max_length=MAX_EXPERIMENT_NAME_LENGTH)


def experiment_folder(name: str) -> str:
    """The folder of the experiment called ``name``, from the name alone.

    The slug when the name *is* its slug (``nyc-taxi``), else the slug plus a
    digest of the name (``My Exp`` -> ``my-exp-1b2c3d4e``). Two names never
    share a folder, and every branch that creates an experiment picks the same
    one, so branches merge without a conflict. MLflow's ``Default`` keeps
    ``default``; a name spelt ``default``, or all digits (a number is an MLflow id,
    as ``"0"`` is Default's), takes the digest form instead.

    >>> experiment_folder("nyc-taxi"), experiment_folder("Default")
    ('nyc-taxi', 'default')
    """
    slug = slugify(name)
    if (
        name == slug and name != "default" and not name.isdigit()
    ) or name == DEFAULT_EXPERIMENT_NAME:
        return slug
    return digest_folder(name)


def digest_folder(name: str) -> str:
    """The slug of ``name`` and a digest of it: the folder of a name that is not its own
    slug, and of one whose slug folder holds an experiment renamed from it."""
    return f"{slugify(name)[:55]}-{name_digest(name)}"


def public_experiment_id(folder: str) -> str:
    """The id MLflow's API gives an experiment kept in ``folder``: ``"0"`` for the Default
    experiment (its folder stays ``default``), the folder name for every other one."""
    return DEFAULT_EXPERIMENT_ID if folder == DEFAULT_EXPERIMENT_FOLDER else folder


def check_run_id_prefix(prefix: object) -> str:
    """Return ``prefix`` lower-cased if it can name a run (1 to 32 hex digits)."""
    if not isinstance(prefix, str) or not RUN_ID_PREFIX_PATTERN.match(prefix.lower()):
        # Such an id can name no run folder: not found, as MLflow says of an unknown id.
        raise RunNotFound(
            f"Run '{str(prefix)[:80]}' not found: it is not a run id (run ids are 32 "
            "hexadecimal characters, and any unique prefix of one names it). List runs with "
            "'gitruns runs list'."
        )
    return prefix.lower()


def slugify(name: str) -> str:
    """The folder name for an experiment: lower-case ASCII letters, digits and dashes.

    Deterministic, so two branches that create the same experiment make the same folder.

    >>> slugify("NYC Taxi: duration (v2)")
    'nyc-taxi-duration-v2'
    """
    ascii_name = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode()
    slug = _NOT_SLUG_CHARACTERS.sub("-", ascii_name.lower()).strip("-")
    slug = slug[:MAX_SLUG_LENGTH].rstrip("-")
    return slug or f"experiment-{name_digest(name)}"


def name_digest(name: str) -> str:
    """A short, stable digest of a name, to tell apart names with the same slug."""
    return hashlib.sha1(name.encode("utf-8")).hexdigest()[:8]


def check_relative_path(path: object, kind: str = "artifact path") -> str:
    """Return ``path`` as a clean relative POSIX path inside its folder; raise :class:`InvalidPath`.

    Rejects anything that could leave the run's folder or read differently on
    another machine: absolute paths, ``..``, drive letters, backslashes, NUL.

    >>> check_relative_path("plots/loss.png")
    'plots/loss.png'
    """
    if not isinstance(path, str):
        raise InvalidPath(
            f"{kind} must be a string, got {type(path).__name__} {path!r}. "
            "Pass a relative path such as 'plots/loss.png'."
        )
    if "\x00" in path:
        raise InvalidPath(f"{kind} {path!r} contains a NUL character. Remove it.")
    if "\\" in path or _WINDOWS_DRIVE.match(path):
        raise InvalidPath(
            f"{kind} {path!r} uses a backslash or a drive letter. "
            "Use forward slashes and a relative path such as 'plots/loss.png'."
        )
    stripped = path.strip("/") if not path.startswith("/") else path
    normal = posixpath.normpath(stripped) if stripped else ""
    if path.startswith("/") or normal in ("", ".", "..") or normal.startswith("../"):
        raise InvalidPath(
            f"{kind} {path!r} would leave the run's folder or names no file. "
            "Give a path relative to the run's artifacts, such as 'plots/loss.png'."
        )
    return normal


_ADJECTIVES = (
    "amber",
    "bold",
    "brisk",
    "calm",
    "clever",
    "crisp",
    "daring",
    "eager",
    "fancy",
    "gentle",
    "glad",
    "golden",
    "honest",
    "humble",
    "jolly",
    "keen",
    "lively",
    "lucky",
    "merry",
    "nimble",
    "patient",
    "polite",
    "proud",
    "quiet",
    "rapid",
    "silent",
    "sleek",
    "smooth",
    "steady",
    "sunny",
    "swift",
    "tidy",
    "vivid",
    "warm",
    "wise",
    "witty",
    "zesty",
)
_NOUNS = (
    "badger",
    "bass",
    "bear",
    "crane",
    "deer",
    "dove",
    "eel",
    "falcon",
    "finch",
    "fox",
    "gull",
    "hare",
    "hawk",
    "heron",
    "ibis",
    "jay",
    "koala",
    "lark",
    "lynx",
    "mole",
    "moose",
    "newt",
    "otter",
    "owl",
    "panda",
    "quail",
    "raven",
    "robin",
    "seal",
    "shrew",
    "slug",
    "snail",
    "stork",
    "swan",
    "toad",
    "trout",
    "vole",
    "wolf",
    "wren",
    "yak",
)


def logged_model_id(run_id: str, name: str) -> str:
    """The id of the model logged at ``artifacts/<name>`` of a run."""
    encoded = base64.b32encode(name.encode("utf-8")).decode("ascii").rstrip("=").lower()
    return f"m-{run_id}-{encoded}"


def parse_logged_model_id(model_id: object) -> tuple[str, str]:
    """The run and artifact path a logged model's id stands for."""
    match = LOGGED_MODEL_ID_PATTERN.match(model_id) if isinstance(model_id, str) else None
    try:
        if match is None:
            raise ValueError(model_id)
        encoded = match["name"].upper()
        name = base64.b32decode(encoded + "=" * (-len(encoded) % 8)).decode("utf-8")
        return match["run_id"], check_relative_path(name, "model path")
    except (ValueError, binascii.Error, UnicodeDecodeError, InvalidPath):
        raise InvalidName(
            f"{model_id!r} is not a logged model's id: gitruns names them "
            "m-<run id>-<path>, as log_model's ModelInfo.model_id gives. List a run's models "
            "with search_logged_models."
        ) from None


def random_run_name() -> str:
    """A friendly run name, as MLflow gives runs that have none: ``'swift-heron-417'``."""
    return f"{random.choice(_ADJECTIVES)}-{random.choice(_NOUNS)}-{random.randrange(1000)}"


def as_text(kind: str, key: str, value: object, max_length: int) -> str:
    """A param's or tag's value as the text stored (``0.1`` -> ``"0.1"``), refused past
    ``max_length`` characters (MLflow's limits)."""
    text = value if isinstance(value, str) else str(value)
    if len(text) > max_length:
        raise InvalidValue(
            f"{kind} {key!r} is {len(text)} characters long; the limit is {max_length}. "
            "Log long text as an artifact with log_text() instead."
        )
    return text
