"""The on-disk contract: a run's record and files, and how they are written.

::

    runs/<experiment>/experiment.yaml
    runs/<experiment>/<run-id>/run.yaml       the record (RunRecord)
    runs/<experiment>/<run-id>/metrics.tsv    histories (gitruns.history: metrics.log while live)
    runs/<experiment>/<run-id>/code.diff      uncommitted changes at start
    runs/<experiment>/<run-id>/artifacts/...  logged files
    runs/_environments/<sha256>.txt           package lists (gitruns.environments)

Every write leaves a readable file at every instant: whole files are written
to a temporary name and renamed over the old one; metric logs only ever
grow by whole lines. Nothing stored is absolute, so a clone reads the same.

Schema 2 (this version) keeps a run in at most three files besides its
artifacts; schema 1 runs (a file per metric under ``metrics/``, a
``requirements.txt`` per run) are still read, and ``gitruns migrate`` rewrites them.
"""

from __future__ import annotations

import contextlib
import json
import logging
import math
import os
import re
import secrets
import shutil
import stat
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

try:
    import fcntl
except ImportError:  # pragma: no cover - Windows
    fcntl = None  # type: ignore[assignment]

import filelock
import yaml

from gitruns import once
from gitruns.exceptions import CorruptRecord, InvalidValue

logger = logging.getLogger(__name__)

# Schemas of run.yaml and its folder. 1: a file per metric, a package list per run;
# 2: metrics.tsv and runs/_environments/; 3: schema 2 with `inputs` (datasets the run read).
# A record is written at the lowest schema that holds it (3 only once it has inputs), so a
# run without inputs stays readable by a gitruns that knows schema 2, and nothing migrates.
LAYOUT_SCHEMA = 2  # the current layout of a run's folder; older runs are migrated to it
INPUTS_SCHEMA = 3
SCHEMA_VERSION = INPUTS_SCHEMA  # the newest this gitruns reads and writes
EXPERIMENT_SCHEMA_VERSION = 1

RUN_FILE = "run.yaml"
EXPERIMENT_FILE = "experiment.yaml"
ARTIFACTS_DIR = "artifacts"
DIFF_FILE = "code.diff"
# Files in runs/ may come from a pull request: every read is bounded.
MAX_RECORD_BYTES = 4 * 1024 * 1024
MAX_METRIC_FILE_BYTES = 512 * 1024 * 1024
# Names a writer gives its unfinished files; never committed, removed when stale.
TEMPORARY_SUFFIX = ".tmp"
LOCK_SUFFIX = ".lock"
RECORD_LOCK = f".{RUN_FILE}{LOCK_SUFFIX}"  # held while a writer merges and writes run.yaml

RUNNING, SCHEDULED, FINISHED, FAILED, KILLED = (
    "RUNNING",
    "SCHEDULED",
    "FINISHED",
    "FAILED",
    "KILLED",
)
STATUSES = (RUNNING, SCHEDULED, FINISHED, FAILED, KILLED)
TERMINAL_STATUSES = (FINISHED, FAILED, KILLED)
GOALS = ("minimize", "maximize")
ACTIVE, DELETED = "active", "deleted"  # MLflow's lifecycle stages: deleting is soft

# libyaml's C dumper and loader are several times faster than the pure-Python ones.
_YamlLoader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
_YamlDumper = getattr(yaml, "CSafeDumper", yaml.SafeDumper)


def dump_yaml(data: Any) -> str:
    """YAML in block style, keys in the given order, unicode kept readable."""
    return yaml.dump(data, Dumper=_YamlDumper, sort_keys=False, allow_unicode=True, width=1_000_000)


# A string may be written bare only when YAML can't read it as anything else:
# starting with a letter rules out numbers, dates, '.nan' and indicators, and
# leaving out ':' and '#' rules out mappings and comments.
_PLAIN_STRING = re.compile(r"^[A-Za-z_][A-Za-z0-9_\-./ ]*(?<! )\Z")
_YAML_WORDS = frozenset(["y", "n", "yes", "no", "on", "off", "true", "false", "null"])
# Characters that YAML reads differently or refuses when written raw inside quotes.
_RAW_UNSAFE = re.compile("[\x7f-\x9f\u2028\u2029\ud800-\udfff\ufffe\uffff]")


def _escape_character(match: re.Match[str]) -> str:
    return f"\\u{ord(match.group()):04x}"


def _yaml_scalar(value: Any) -> str:
    if type(value) is str:
        if _PLAIN_STRING.match(value) and value.lower() not in _YAML_WORDS:
            return value
        return _RAW_UNSAFE.sub(_escape_character, json.dumps(value, ensure_ascii=False))
    if value is None:
        return "null"
    if value is True:
        return "true"
    if value is False:
        return "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if value != value:
            return ".nan"
        if value in (math.inf, -math.inf):
            return ".inf" if value > 0 else "-.inf"
        text = repr(value)
        if "." not in text:  # YAML 1.1 needs the dot: 1e-05 -> 1.0e-05
            text = text.replace("e", ".0e") if "e" in text else text + ".0"
        return text
    raise TypeError(f"records hold strings, numbers, booleans and null, not {type(value).__name__}")


def _emit(value: Any, indent: str, lines: list[str]) -> None:
    for key, item in value.items():
        label = f"{indent}{_yaml_scalar(key)}:"
        if isinstance(item, dict) and item:
            lines.append(label)
            _emit(item, indent + "  ", lines)
        elif isinstance(item, dict):
            lines.append(f"{label} {{}}")
        elif isinstance(item, list) and item:  # run inputs: a list of mappings
            lines.append(label)
            for element in item:
                if isinstance(element, dict) and element:
                    first = len(lines)
                    _emit(element, indent + "  ", lines)
                    lines[first] = f"{indent}- " + lines[first][len(indent) + 2 :]
                else:
                    lines.append(f"{indent}- {_yaml_scalar(element)}")
        elif isinstance(item, list):
            lines.append(f"{label} []")
        else:
            lines.append(f"{label} {_yaml_scalar(item)}")


def emit_record_yaml(data: dict[str, Any]) -> str:
    """YAML for nested mappings of scalars (and lists of them), the shape of every record,
    in microseconds.

    PyYAML's representer costs about a millisecond per record even with
    libyaml, and a run rewrites its record on every ``log_params``. Output is
    block style, keys in order, and reads back equal with ``yaml.safe_load``.
    """
    if not data:
        return "{}\n"
    lines: list[str] = []
    _emit(data, "", lines)
    lines.append("")
    return "\n".join(lines)


_INTEGER = re.compile(r"^-?(?:0|[1-9][0-9]*)\Z")
_FLOAT = re.compile(r"^-?[0-9]+\.[0-9]*(?:e[-+][0-9]+)?\Z")
_SPECIAL_SCALARS: dict[str, Any] = {
    "null": None,
    "true": True,
    "false": False,
    ".nan": math.nan,
    ".inf": math.inf,
    "-.inf": -math.inf,
}
_json_decoder = json.JSONDecoder()


class _NotEmitted(ValueError):
    """Text that :func:`emit_record_yaml` would not have written."""


# One line of emitted YAML: indent, a quoted or plain key, and after ": " a scalar
# (or nothing, when a nested mapping follows).
_LINE = re.compile(r'( *)(?:"((?:[^"\\\n]|\\.)*)"|([A-Za-z_][A-Za-z0-9_\-./ ]*?)):(?: ([^\n]*))?\n')


def _read_scalar(text: str) -> Any:
    first = text[0]
    if first == '"':
        value, end = _json_decoder.raw_decode(text)
        if end != len(text):
            raise _NotEmitted(text)
        return value
    special = _SPECIAL_SCALARS.get(text, _NotEmitted)
    if special is not _NotEmitted:
        return special
    if first == "-" or first.isdigit():
        if _INTEGER.match(text):
            return int(text)
        if _FLOAT.match(text):
            return float(text)
        raise _NotEmitted(text)
    if _PLAIN_STRING.match(text) and text.lower() not in _YAML_WORDS:
        return text
    raise _NotEmitted(text)


def read_emitted_yaml(text: str) -> dict[str, Any]:
    """Read YAML in exactly the form :func:`emit_record_yaml` writes, several times faster
    than libyaml.

    Anything else (a comment, a list, another style, a hand edit) raises
    ``ValueError``; :func:`load_record_yaml` then falls back to PyYAML.
    """
    if text == "{}\n":
        return {}
    root: dict[str, Any] = {}
    stack: list[tuple[int, dict[str, Any]]] = [(0, root)]
    opened: dict[str, Any] | None = None  # a mapping whose first key comes next
    position, size = 0, len(text)
    while position < size:
        match = _LINE.match(text, position)
        if match is None:
            raise _NotEmitted(text[position : position + 80])
        position = match.end()
        indent_text, quoted, plain, rest = match.groups()
        indent = len(indent_text)
        if opened is not None:
            if indent != stack[-1][0] + 2:
                raise _NotEmitted(match.group())
            stack.append((indent, opened))
            opened = None
        while indent < stack[-1][0]:
            stack.pop()
        if indent != stack[-1][0]:
            raise _NotEmitted(match.group())
        if plain is not None:
            if plain[-1:] == " " or plain.lower() in _YAML_WORDS:
                raise _NotEmitted(plain)
            key = plain
        else:
            key = json.loads(f'"{quoted}"') if "\\" in quoted else quoted
        target = stack[-1][1]
        if key in target:
            raise _NotEmitted(match.group())
        if rest is None:
            target[key] = opened = {}
        elif rest == "{}":
            target[key] = {}
        elif rest:
            target[key] = _read_scalar(rest)
        else:
            raise _NotEmitted(match.group())
    if opened is not None:
        raise _NotEmitted("unfinished document")
    return root


def load_record_yaml(text: str | bytes) -> Any:
    """Parse a record: the fast reader for what gitruns wrote, PyYAML for anything else."""
    try:
        decoded = text.decode("utf-8") if isinstance(text, bytes) else text
    except UnicodeDecodeError as error:
        raise yaml.YAMLError(f"not UTF-8 text ({error})") from error
    try:
        return read_emitted_yaml(decoded)
    except (ValueError, IndexError):
        return load_yaml(decoded)


def load_yaml(text: str | bytes) -> Any:
    """Safe YAML without anchors and aliases: a few bytes of aliases can expand to
    gigabytes ("billion laughs"), and no file gitruns writes uses them."""
    loader = _YamlLoader(text)
    try:
        node = loader.get_single_node()
        if node is None:
            return None
        _refuse_aliases(node)
        return loader.construct_document(node)
    finally:
        loader.dispose()


def _refuse_aliases(root: yaml.Node) -> None:
    # An alias is the same node object reached twice; composing shares it, only
    # constructing would expand it, so a walk over distinct nodes stays bounded.
    seen: set[int] = set()
    stack = [root]
    while stack:
        node = stack.pop()
        if id(node) in seen:
            raise yaml.YAMLError(
                f"YAML aliases (*name) are not accepted (line {node.start_mark.line + 1}); "
                "write the value out in full"
            )
        seen.add(id(node))
        if isinstance(node, yaml.MappingNode):
            for key, value in node.value:
                stack.extend((key, value))
        elif isinstance(node, yaml.SequenceNode):
            stack.extend(node.value)


def read_regular_file(path: Path | str, max_bytes: int = MAX_RECORD_BYTES) -> bytes:
    """The bytes of a regular file, never through a symbolic link, at most ``max_bytes``.

    A run folder may come from someone else's pull request: a link to
    ``/dev/zero`` or to ``~/.ssh`` must cost nothing and reveal nothing.
    Raises ``FileNotFoundError`` when it is missing and :class:`CorruptRecord`
    when it is a link, not a regular file, or too large.
    """
    try:
        descriptor = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
    except FileNotFoundError:
        raise
    except OSError as error:
        if os.path.islink(path):
            raise CorruptRecord(
                f"{path} is a symbolic link; gitruns never follows links inside runs/. "
                "Replace it with the file itself, or remove it."
            ) from error
        raise CorruptRecord(f"{path} cannot be read ({error.strerror}).") from error
    try:
        status = os.fstat(descriptor)
        if not stat.S_ISREG(status.st_mode):
            raise CorruptRecord(
                f"{path} is not a regular file (a device, pipe or folder). Remove it."
            )
        if status.st_size > max_bytes:
            raise CorruptRecord(
                f"{path} is {status.st_size:,} bytes, over the limit of {max_bytes:,} for this "
                "kind of file. Restore it from git, or remove it."
            )
        with os.fdopen(descriptor, "rb", closefd=False) as file:
            data = file.read(max_bytes + 1)
    finally:
        os.close(descriptor)
    if len(data) > max_bytes:  # it grew while being read
        raise CorruptRecord(f"{path} is over the limit of {max_bytes:,} bytes. Remove it.")
    return data


def read_small_text(path: Path | str, max_bytes: int) -> str | None:
    """The text of a small UTF-8 file (read as :func:`read_regular_file` reads), or None
    when it is missing, a link, binary, undecodable or over ``max_bytes``."""
    try:
        data = read_regular_file(path, max_bytes)
    except (OSError, CorruptRecord):
        return None
    if b"\0" in data:
        return None
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return None


def is_regular_file(path: Path | str) -> bool:
    """Whether ``path`` is a regular file itself, not a link to one."""
    try:
        return stat.S_ISREG(os.lstat(path).st_mode)
    except OSError:
        return False


@contextlib.contextmanager
def record_lock(run_dir: Path) -> Iterator[None]:
    """Hold the run's record lock (``.run.yaml.lock``) while a writer merges and writes.

    The same OS lock filelock takes (``flock``), so a writer using filelock excludes
    and is excluded alike, and the kernel releases it if its holder dies. Taken
    directly because filelock spends about 100 µs of Python on each cycle, and a
    run saves its record several times; this costs a few µs. The holder removes
    the file before letting go, so a finished run leaves no lock file behind; a
    writer that was waiting on the removed file sees that it is gone (or that the
    name is another file now) and takes the lock again on the new one. Where
    ``fcntl`` is missing (Windows), filelock does the work.
    """
    path = run_dir / RECORD_LOCK
    if fcntl is None:  # pragma: no cover - not POSIX
        with filelock.FileLock(path, thread_local=False):
            yield
        return
    while True:
        try:
            descriptor = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC | os.O_NOFOLLOW, 0o644)
        except OSError as error:
            raise CorruptRecord(
                f"the run's lock file {path} cannot be opened ({error.strerror}); it should "
                "be a plain empty file that gitruns makes. Remove it and try again."
            ) from error
        fcntl.flock(descriptor, fcntl.LOCK_EX)
        try:
            current = os.stat(path, follow_symlinks=False).st_ino
        except FileNotFoundError:
            current = None
        if current == os.fstat(descriptor).st_ino:
            break  # the lock is ours, on the file that is there now
        os.close(descriptor)  # its holder removed it meanwhile: take it again
    try:
        yield
    finally:
        with contextlib.suppress(OSError):
            os.unlink(path)
        os.close(descriptor)  # closing releases the lock


def within_record_size(text: str, what: str) -> bytes:
    """``text`` as the bytes of a record, refused when readers would refuse the file
    (over :data:`MAX_RECORD_BYTES`): a write must never leave a record nobody can read."""
    data = text.encode("utf-8")
    if len(data) > MAX_RECORD_BYTES:
        raise InvalidValue(
            f"this change would make {what} {len(data):,} bytes, over the {MAX_RECORD_BYTES:,} "
            "a record may hold, so it was not written. Keep long text (notes, configs, "
            "reports) as an artifact (log_text, log_dict) and tag or param its name instead."
        )
    return data


def temporary_path(path: Path) -> Path:
    """Where a writer prepares ``path``: hidden, named by its pid, ignored by git."""
    return path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}{TEMPORARY_SUFFIX}")


def write_atomic(path: Path, data: str | bytes) -> None:
    """Replace ``path`` with ``data`` so that readers see the old or the new file, never half."""
    payload = data.encode("utf-8") if isinstance(data, str) else data
    temporary = temporary_path(path)
    try:
        with open(temporary, "wb") as file:
            file.write(payload)
        os.replace(temporary, path)
    except BaseException:
        with contextlib.suppress(OSError):
            temporary.unlink()
        raise


def create_exclusive(path: Path, data: str | bytes) -> bool:
    """Create ``path`` with ``data`` unless it exists; True when this call created it.

    The file appears whole (hard link of a finished temporary file), so two
    processes racing to create it never see a half-written one.
    """
    payload = data.encode("utf-8") if isinstance(data, str) else data
    temporary = temporary_path(path)
    with open(temporary, "wb") as file:
        file.write(payload)
    try:
        os.link(temporary, path)
        return True
    except FileExistsError:
        return False
    except OSError:
        # Filesystems without hard links: a rename is still whole, if not exclusive.
        if path.exists():
            return False
        os.replace(temporary, path)
        return True
    finally:
        with contextlib.suppress(OSError):
            temporary.unlink()


def append_whole(path: Path, payload: bytes) -> None:
    """Append ``payload`` to ``path`` with O_APPEND, so concurrent appenders never interleave.

    Never through a link: a run from someone else's branch could hold ``metrics.log``
    as a link to a file of yours, and logging to that run must not write there.
    """
    try:
        descriptor = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_NOFOLLOW, 0o644)
    except OSError as error:
        if os.path.islink(path):
            raise CorruptRecord(
                f"{path} is a symbolic link; gitruns never writes through links in runs/. "
                "Remove it and log again."
            ) from error
        raise
    try:
        view = memoryview(payload)
        while view:
            view = view[os.write(descriptor, view) :]
    finally:
        os.close(descriptor)


_id_lock = threading.Lock()
_last_id = 0


def new_run_id() -> str:
    """A 32-hex run id: 48 bits of milliseconds since the epoch, then 80 random bits.

    Ids sort by start time, need no coordination, and two machines making a
    run in the same millisecond collide with odds of 2**-80. Within a process
    ids also strictly increase, so runs started in one millisecond keep their order.
    """
    global _last_id
    candidate = (int(time.time() * 1000) << 80) | int.from_bytes(os.urandom(10), "big")
    with _id_lock:
        if candidate <= _last_id:
            candidate = _last_id + 1
        _last_id = candidate
    return f"{candidate:032x}"


def iso_from_ms(ms: int) -> str:
    """``1732440000123`` -> ``'2024-11-24T09:20:00.123Z'``."""
    moment = datetime.fromtimestamp(ms / 1000, tz=timezone.utc)
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def ms_from_iso(text: str) -> int:
    moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    return round(moment.timestamp() * 1000)


@dataclass
class MetricSummary:
    """What a run's record keeps of one metric: its latest value and range.

    "Latest" is MLflow's: the value at the highest step, then the latest timestamp.
    NaN never becomes the minimum or maximum; ``min``/``max`` stay ``None``
    while every value logged is NaN.
    """

    last: float
    step: int
    timestamp: int
    min: float | None = None
    max: float | None = None

    @classmethod
    def first(cls, value: float, step: int, timestamp: int) -> MetricSummary:
        summary = cls(last=value, step=step, timestamp=timestamp)
        if not math.isnan(value):
            summary.min = summary.max = value
        return summary

    def update(self, value: float, step: int, timestamp: int) -> None:
        if (step, timestamp) >= (self.step, self.timestamp):
            self.last, self.step, self.timestamp = value, step, timestamp
        if value == value:  # not NaN
            if self.min is None or value < self.min:
                self.min = value
            if self.max is None or value > self.max:
                self.max = value

    def to_dict(self) -> dict[str, Any]:
        return {
            "last": self.last,
            "min": self.min,
            "max": self.max,
            "step": self.step,
            "timestamp": self.timestamp,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> MetricSummary:
        return cls(
            last=float(data["last"]),
            step=int(data.get("step", 0)),
            timestamp=int(data.get("timestamp", 0)),
            min=None if data.get("min") is None else float(data["min"]),
            max=None if data.get("max") is None else float(data["max"]),
        )


@dataclass
class RunRecord:
    """Everything ``run.yaml`` holds about one run.

    Times are milliseconds since the epoch in memory (MLflow's unit) and
    ISO 8601 UTC strings on disk (readable in a diff).
    """

    id: str
    experiment: str
    name: str
    start_time: int
    status: str = RUNNING
    end_time: int | None = None
    user: str | None = None
    parent: str | None = None
    description: str | None = None
    error: dict[str, str] | None = None
    source: dict[str, Any] = field(default_factory=dict)
    git: dict[str, Any] | None = None
    process: dict[str, Any] | None = None
    params: dict[str, str] = field(default_factory=dict)
    tags: dict[str, str] = field(default_factory=dict)
    metrics: dict[str, MetricSummary] = field(default_factory=dict)
    environment: dict[str, Any] = field(default_factory=dict)
    lifecycle_stage: str = ACTIVE
    inputs: list[dict[str, Any]] = field(default_factory=list)  # datasets read (schema 3)
    schema: int = LAYOUT_SCHEMA

    def to_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "schema": INPUTS_SCHEMA if self.inputs else self.schema,
            "id": self.id,
            "name": self.name,
            "experiment": self.experiment,
            "status": self.status,
            "start_time": iso_from_ms(self.start_time),
            "end_time": None if self.end_time is None else iso_from_ms(self.end_time),
        }
        if self.lifecycle_stage != ACTIVE:
            data["lifecycle_stage"] = self.lifecycle_stage
        optional = {
            "user": self.user,
            "parent": self.parent,
            "description": self.description,
            "error": self.error,
            "source": self.source,
            "git": self.git,
            "process": self.process,
        }
        data.update((key, value) for key, value in optional.items() if value)
        data["params"] = self.params
        data["tags"] = self.tags
        data["metrics"] = {key: summary.to_dict() for key, summary in self.metrics.items()}
        if self.inputs:
            data["inputs"] = self.inputs
        data["environment"] = self.environment
        return data

    def to_yaml(self) -> str:
        return emit_record_yaml(self.to_dict())

    @classmethod
    def from_dict(cls, data: Any, origin: str = "run.yaml") -> RunRecord:
        """Build a record from parsed YAML; :class:`CorruptRecord` names ``origin`` if it can't."""
        if not isinstance(data, dict):
            raise CorruptRecord(
                f"{origin} does not hold a run record (a YAML mapping). "
                "Restore it from git ('git checkout -- <file>') or remove the run's folder."
            )
        schema = data.get("schema", LAYOUT_SCHEMA)
        if isinstance(schema, int) and schema > SCHEMA_VERSION:
            raise CorruptRecord(
                f"{origin} was written by a newer gitruns (schema {schema}; this one reads up "
                f"to {SCHEMA_VERSION}). Upgrade gitruns: pip install --upgrade gitruns"
            )
        try:
            end_time = data.get("end_time")
            status = _text(data, "status", RUNNING)
            if status not in STATUSES:
                raise ValueError(f"status {status[:40]!r} is none of {', '.join(STATUSES)}")
            return cls(
                id=_text(data, "id"),
                experiment=_text(data, "experiment"),
                name=_text(data, "name"),
                start_time=ms_from_iso(_text(data, "start_time")),
                status=status,
                end_time=None if end_time is None else ms_from_iso(_text(data, "end_time")),
                user=_text(data, "user", None),
                parent=_text(data, "parent", None),
                description=_text(data, "description", None),
                error=_mapping(data, "error", None),
                source=_mapping(data, "source", {}),
                git=_mapping(data, "git", None),
                process=_mapping(data, "process", None),
                params=_texts(data, "params"),
                tags=_texts(data, "tags"),
                metrics={
                    str(k): MetricSummary.from_dict(v)
                    for k, v in _mapping(data, "metrics", {}).items()
                },
                environment=_mapping(data, "environment", {}),
                lifecycle_stage=_text(data, "lifecycle_stage", ACTIVE),
                inputs=[dict(item) for item in data.get("inputs") or []],
                schema=int(schema),
            )
        except (KeyError, TypeError, ValueError, AttributeError) as error:
            raise CorruptRecord(
                f"{origin} is not a valid run record ({type(error).__name__}: {error}). "
                "Run 'gitruns check' to see every problem, then restore the file from git."
            ) from error


_REQUIRED: Any = object()


def _text(data: dict[str, Any], key: str, default: Any = _REQUIRED) -> Any:
    """A record's field that holds text: a scalar, never a list or a mapping (a record
    from a branch may hold anything, and one bad field costs that record alone)."""
    value = data.get(key)
    if value is None:
        if default is _REQUIRED:
            raise KeyError(key)
        return default
    if isinstance(value, (dict, list)):
        raise TypeError(f"'{key}' holds a {type(value).__name__} where text belongs")
    return str(value)


def _mapping(data: dict[str, Any], key: str, default: Any) -> Any:
    value = data.get(key)
    if value is None:
        return default
    if not isinstance(value, dict):
        raise TypeError(f"'{key}' holds a {type(value).__name__} where a mapping belongs")
    return dict(value)


def _texts(data: dict[str, Any], key: str) -> dict[str, str]:
    """Params or tags: a mapping of text to text."""
    return {str(k): _text({str(k): v}, str(k), "") for k, v in _mapping(data, key, {}).items()}


def merge_record_dicts(
    base: dict[str, Any], mine: dict[str, Any], theirs: dict[str, Any]
) -> dict[str, Any]:
    """Three-way merge of a record's dicts: what this writer changed since ``base``,
    applied onto ``theirs`` (the file as another writer left it).

    Params and tags merge key by key (a tag this writer deleted stays deleted);
    a metric both logged keeps the later last value and the wider range; any
    other field this writer changed takes its value. Nothing either logged is lost.
    """
    merged = dict(theirs)
    for key in mine.keys() | base.keys():
        mine_value, base_value = mine.get(key), base.get(key)
        if key in ("params", "tags"):
            section = dict(theirs.get(key) or {})
            mine_items, base_items = mine_value or {}, base_value or {}
            for item in mine_items.keys() | base_items.keys():
                if item not in mine_items:
                    section.pop(item, None)
                elif base_items.get(item) != mine_items[item]:
                    section[item] = mine_items[item]
            merged[key] = section
        elif key == "inputs":  # datasets are only ever added: keep both writers' new ones
            inputs = list(theirs.get(key) or [])
            inputs += [item for item in mine_value or [] if item not in inputs]
            merged[key] = inputs
        elif key == "metrics":
            section = dict(theirs.get(key) or {})
            for item, summary in (mine_value or {}).items():
                if (base_value or {}).get(item) != summary:
                    section[item] = _merge_summaries(section.get(item), summary)
            merged[key] = section
        elif mine_value != base_value:
            if key in mine:
                merged[key] = mine_value
            else:
                merged.pop(key, None)
    return merged


def _merge_summaries(theirs: dict[str, Any] | None, mine: dict[str, Any]) -> dict[str, Any]:
    if not isinstance(theirs, dict):
        return mine
    try:
        later = (
            mine
            if (mine["step"], mine["timestamp"]) >= (theirs["step"], theirs["timestamp"])
            else theirs
        )
        lows = [value for value in (mine.get("min"), theirs.get("min")) if value is not None]
        highs = [value for value in (mine.get("max"), theirs.get("max")) if value is not None]
    except (KeyError, TypeError):
        return mine
    return {**later, "min": min(lows, default=None), "max": max(highs, default=None)}


def read_run_record(run_dir: Path) -> RunRecord:
    """Read ``run_dir/run.yaml``; :class:`CorruptRecord` when it is missing or unreadable."""
    path = run_dir / RUN_FILE
    try:
        text = read_regular_file(path)
    except FileNotFoundError as error:
        raise CorruptRecord(
            f"{path} is missing: {run_dir} is not a run folder. Remove the folder if it is stray."
        ) from error
    return parse_run_record(text, path)


def parse_run_record(text: bytes, path: Path | str) -> RunRecord:
    """The record in ``text``, read from ``path`` (``<experiment>/<run-id>/run.yaml``).

    A record must live in the folder its id and experiment name: paths are only
    ever built from folder names, and a record that claims another place (say
    ``id: ../../victim``) is refused rather than trusted.
    """
    try:
        data = load_record_yaml(text)
    except yaml.YAMLError as error:
        raise CorruptRecord(
            f"{path} is not valid YAML ({error}). Restore it from git or remove the run's folder."
        ) from error
    record = RunRecord.from_dict(data, origin=str(path))
    run_folder, experiment_folder = _folder_names(path)
    if record.id != run_folder or record.experiment != experiment_folder:
        raise CorruptRecord(
            f"{path} says it is run {record.id[:40]!r} of experiment {record.experiment[:40]!r}, "
            f"but it lives in {experiment_folder}/{run_folder}/. A record must live in the "
            "folder named by its id: restore it from git, or remove the run's folder."
        )
    return record


def _folder_names(record_path: Path | str) -> tuple[str, str]:
    parts = Path(record_path).parts
    return (parts[-2] if len(parts) > 1 else "", parts[-3] if len(parts) > 2 else "")


@dataclass
class ExperimentRecord:
    """``experiment.yaml``: the same bytes on every branch that creates the experiment.

    Nothing here depends on when or where it was made, which is what lets two
    branches add the same new experiment and merge without a conflict.
    """

    name: str
    description: str | None = None
    primary_metric: str | None = None
    goal: str | None = None
    lifecycle_stage: str = ACTIVE
    tags: dict[str, str] = field(default_factory=dict)  # MLflow's experiment tags
    artifact_location: str | None = None  # as given to create_experiment; kept, not used

    def to_yaml(self) -> str:
        data: dict[str, Any] = {"schema": EXPERIMENT_SCHEMA_VERSION, "name": self.name}
        for key in ("description", "primary_metric", "goal", "artifact_location"):
            value = getattr(self, key)
            if value is not None:
                data[key] = value
        if self.tags:
            data["tags"] = dict(sorted(self.tags.items()))
        if self.lifecycle_stage != ACTIVE:
            data["lifecycle_stage"] = self.lifecycle_stage
        return dump_yaml(data)

    @classmethod
    def read(cls, path: Path) -> ExperimentRecord:
        try:
            data = load_yaml(read_regular_file(path))
        except yaml.YAMLError as error:
            raise CorruptRecord(
                f"{path} is not valid YAML ({error}). Restore it from git."
            ) from error
        if not isinstance(data, dict) or data.get("name") is None:
            raise CorruptRecord(
                f"{path} does not name its experiment (a 'name:' line is needed). "
                "Restore it from git."
            )
        try:
            goal = _text(data, "goal", None)
            if goal is not None and goal not in GOALS:
                raise ValueError(f"goal {goal[:40]!r} is neither {' nor '.join(GOALS)}")
            return cls(
                name=_text(data, "name"),
                description=_text(data, "description", None),
                primary_metric=_text(data, "primary_metric", None),
                goal=goal,
                lifecycle_stage=_text(data, "lifecycle_stage", ACTIVE),
                tags=_texts(data, "tags"),
                artifact_location=_text(data, "artifact_location", None) or None,
            )
        except (KeyError, TypeError, ValueError) as error:
            raise CorruptRecord(
                f"{path} is not a valid experiment record ({error}). Restore it from git "
                "('git checkout -- <file>')."
            ) from error


def regular_files(root: Path) -> list[tuple[str, Path]]:
    """Every regular file under ``root`` as (relative POSIX path, path), sorted.

    Links are never followed, to a file or a folder: a run's folder may come
    from a pull request, and a link to ``../../.git/config`` must not be
    read or published. Hidden names (unfinished writes) are left out.
    """
    found: list[tuple[str, Path]] = []
    for folder, folders, names in os.walk(root):
        folders[:] = [name for name in folders if not name.startswith(".")]
        for name in names:
            if name.startswith("."):
                continue
            path = Path(folder) / name
            if is_regular_file(path):
                found.append((path.relative_to(root).as_posix(), path))
            else:
                warn_once(path, 0, "not a regular file (a link?), left out")
    return sorted(found)


def has_link_on_path(root: Path, relative: str) -> bool:
    """Whether any part of ``root/relative`` below ``root`` is a symbolic link."""
    current = root
    for part in Path(relative).parts:
        current = current / part
        if current.is_symlink():
            return True
    return False


def copy_regular_files(source: Path, destination: Path) -> list[str]:
    """Copy ``source`` (a regular file, or a folder's regular files) to ``destination``;
    links are left out, never followed. Returns what was left out."""
    if source.is_symlink():
        return [source.name]
    if not source.is_dir():
        destination.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(source, destination, follow_symlinks=False)
        return []
    left_out = []
    for folder, folders, names in os.walk(source):
        for name in [*folders, *names]:
            path = Path(folder) / name
            relative = path.relative_to(source)
            if path.is_symlink():
                left_out.append(relative.as_posix())
            elif path.is_dir():
                (destination / relative).mkdir(parents=True, exist_ok=True)
            elif is_regular_file(path):
                (destination / relative).parent.mkdir(parents=True, exist_ok=True)
                shutil.copyfile(path, destination / relative, follow_symlinks=False)
    destination.mkdir(parents=True, exist_ok=True)
    return left_out


def warn_once(path: Path | str, size: int, problem: str) -> None:
    """Log a problem with a file once per file and size (a file that changes is news)."""
    once.warn_once(
        logger, ("file", str(path), size), "%s: %s. Run 'gitruns check' for details.", path, problem
    )
