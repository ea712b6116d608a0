"""YAML for records: a fast emitter and reader for the subset gitruns writes, and a
safe loader for any other YAML (no aliases: a "billion laughs" costs nothing).

Example::

    text = emit_record_yaml({"id": "01a2", "params": {"alpha": "0.1"}})
    assert load_record_yaml(text) == {"id": "01a2", "params": {"alpha": "0.1"}}
"""

from __future__ import annotations

import functools
import json
import math
import re
from typing import TYPE_CHECKING, Any

# PyYAML is imported by the functions that need it: what gitruns writes goes through the
# fast emitter and reader below, and a process that only reads runs back starts 10 ms sooner.
if TYPE_CHECKING:
    import yaml


class InvalidYaml(ValueError):
    """A document that does not read as YAML, or uses what gitruns refuses (aliases)."""


def dump_yaml(data: Any) -> str:
    """YAML in block style, keys in the given order, unicode kept readable."""
    import yaml

    # libyaml's C dumper is several times faster than the pure-Python one.
    dumper = getattr(yaml, "CSafeDumper", yaml.SafeDumper)
    return yaml.dump(data, Dumper=dumper, sort_keys=False, allow_unicode=True, width=1_000_000)


# A string may be written bare only when YAML can't read it as anything else:
# starting with a letter rules out numbers, dates, '.nan' and indicators, and
# leaving out ':' and '#' rules out mappings and comments.
_PLAIN_TEXT = r"[A-Za-z_][A-Za-z0-9_\-./ ]*(?<! )"
_PLAIN_STRING = re.compile(f"^{_PLAIN_TEXT}\\Z")
_YAML_WORDS = frozenset(["y", "n", "yes", "no", "on", "off", "true", "false", "null"])


@functools.cache
def _raw_unsafe() -> re.Pattern[str]:
    """Characters that YAML reads differently or refuses when written raw inside quotes.
    Compiled on first use (0.5 ms a process that only reads runs back need not pay), and
    kept here: re's own cache holds 512 patterns and evicts the oldest."""
    return re.compile("[\x7f-\x9f\u2028\u2029\ud800-\udfff\ufffe\uffff]")


def _escape_character(match: re.Match[str]) -> str:
    return f"\\u{ord(match.group()):04x}"


def _yaml_scalar(value: Any) -> str:
    if type(value) is str:
        if _PLAIN_STRING.match(value) and value.lower() not in _YAML_WORDS:
            return value
        return _raw_unsafe().sub(_escape_character, json.dumps(value, ensure_ascii=False))
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


_INTEGER_TEXT = r"-?(?:0|[1-9][0-9]*)"
_FLOAT_TEXT = r"-?[0-9]+\.[0-9]*(?:e[-+][0-9]+)?"
_INTEGER = re.compile(f"^{_INTEGER_TEXT}\\Z")
_FLOAT = re.compile(f"^{_FLOAT_TEXT}\\Z")
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


# A double-quoted string without escapes or control characters: JSON and YAML read its
# inside as is.
_QUOTED_TEXT = r'"([^"\\\x00-\x1f]*)"'
# One line of emitted YAML: indent, a quoted or plain key, and after ": " a scalar
# (or nothing, when a nested mapping follows). The usual scalars (an integer, a float, a
# plain word, a string without escapes) are told apart by the same match; _read_scalar
# reads the rest.
_LINE = re.compile(
    r'( *)(?:"((?:[^"\\\n]|\\.)*)"|([A-Za-z_][A-Za-z0-9_\-./ ]*?)):'
    f"(?: (?:({_INTEGER_TEXT})|({_FLOAT_TEXT})|({_PLAIN_TEXT})|{_QUOTED_TEXT}|([^\\n]*)))?\\n"
)


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
    if _PLAIN_STRING.match(text):
        return _read_word(text)
    raise _NotEmitted(text)


def _read_word(word: str) -> Any:
    """A plain word: null, true or false, else the string itself; any other word YAML
    reads as something else (``yes``, ``off``) the emitter would have quoted."""
    special = _SPECIAL_SCALARS.get(word, _NotEmitted)
    if special is not _NotEmitted:
        return special
    if word.lower() in _YAML_WORDS:
        raise _NotEmitted(word)
    return word


def read_emitted_yaml(text: str) -> dict[str, Any]:
    """Read YAML in exactly the form :func:`emit_record_yaml` writes, several times faster
    than libyaml: mappings, and lists (a run's inputs and data files) with their dashes at
    the indent of the key that holds them.

    Anything else (a comment, another style, a hand edit) raises ``ValueError``;
    :func:`load_record_yaml` then falls back to PyYAML.
    """
    if text == "{}\n":
        return {}
    root: dict[str, Any] = {}
    stack: list[tuple[int, dict[str, Any]]] = [(0, root)]  # mappings open, by key indent
    lists: list[tuple[int, list[Any]]] = []  # lists open, by the indent of their dashes
    opened: tuple[dict[str, Any], str] | None = None  # a key whose block comes next

    def take(match: re.Match[str], indent: int) -> None:
        """One ``key: value`` (or ``key:``) line at ``indent``, into the mapping open there."""
        nonlocal opened
        _, quoted, plain, integer, real, word, string, rest = match.groups()
        if plain is not None:
            if plain[-1:] == " " or plain.lower() in _YAML_WORDS:
                raise _NotEmitted(plain)
            key = plain
        else:
            key = json.loads(f'"{quoted}"') if "\\" in quoted else quoted
        target = stack[-1][1]
        if key in target:
            raise _NotEmitted(match.group())
        if integer is not None:
            target[key] = int(integer)
        elif real is not None:
            target[key] = float(real)
        elif word is not None:
            target[key] = _read_word(word)
        elif string is not None:
            target[key] = string
        elif rest is None:
            target[key] = {}
            opened = (target, key)
        elif rest == "{}":
            target[key] = {}
        elif rest == "[]":
            target[key] = []
        elif rest:
            target[key] = _read_scalar(rest)
        else:
            raise _NotEmitted(match.group())

    position, size = 0, len(text)
    while position < size:
        match = _LINE.match(text, position)  # most lines are "key: value"
        if match is not None:
            indent = match.end(1) - position
        else:
            indent = _INDENT.match(text, position).end() - position  # type: ignore[union-attr]
            if not text.startswith("- ", position + indent):
                raise _NotEmitted(text[position : position + 80])
            items = _list_at(indent, stack, lists, opened)
            opened = None
            start = position + indent + 2
            end = text.find("\n", start)
            if end < 0:
                raise _NotEmitted("unfinished document")
            match = _LINE.match(text, start)
            if match is not None and match.group(1) == "" and match.end() == end + 1:
                element: dict[str, Any] = {}  # a mapping: its first key on the dash's line
                items.append(element)
                stack.append((indent + 2, element))
                take(match, indent + 2)
            else:
                items.append(_read_scalar(text[start:end]))
            position = end + 1
            continue
        position = match.end()
        if opened is not None:
            if indent != stack[-1][0] + 2:
                raise _NotEmitted(match.group())
            stack.append((indent, opened[0][opened[1]]))
            opened = None
        while indent < stack[-1][0]:
            stack.pop()
        while lists and lists[-1][0] >= indent:
            lists.pop()  # a key at a list's indent or left of it: the list ended
        if indent != stack[-1][0]:
            raise _NotEmitted(match.group())
        take(match, indent)
    if opened is not None:
        raise _NotEmitted("unfinished document")
    return root


_INDENT = re.compile(r" *")


def _list_at(
    indent: int,
    stack: list[tuple[int, dict[str, Any]]],
    lists: list[tuple[int, list[Any]]],
    opened: tuple[dict[str, Any], str] | None,
) -> list[Any]:
    """The list a dash at ``indent`` adds to: a new one for the key just opened (the dash
    at that key's indent), or the one whose items are at that indent."""
    if opened is not None:
        if indent != stack[-1][0]:
            raise _NotEmitted("a list item where a mapping's key was expected")
        items: list[Any] = []
        opened[0][opened[1]] = items
        lists.append((indent, items))
        return items
    while stack[-1][0] > indent:
        stack.pop()
    while lists and lists[-1][0] > indent:
        lists.pop()
    if not lists or lists[-1][0] != indent or stack[-1][0] != indent:
        raise _NotEmitted("a list item outside a list")
    return lists[-1][1]


def load_record_yaml(text: str | bytes) -> Any:
    """Parse a record: the fast reader for what gitruns wrote, PyYAML for anything else."""
    try:
        decoded = text.decode("utf-8") if isinstance(text, bytes) else text
    except UnicodeDecodeError as error:
        raise InvalidYaml(f"not UTF-8 text ({error})") from error
    try:
        return read_emitted_yaml(decoded)
    except (ValueError, IndexError):
        return load_yaml(decoded)


def load_yaml(text: str | bytes) -> Any:
    """Safe YAML without anchors and aliases: a few bytes of aliases can expand to
    gigabytes ("billion laughs"), and no file gitruns writes uses them.

    Raises :class:`InvalidYaml` for a document that does not read."""
    import yaml

    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)(text)
    try:
        node = loader.get_single_node()
        if node is None:
            return None
        _refuse_aliases(node)
        return loader.construct_document(node)
    except yaml.YAMLError as error:
        raise InvalidYaml(str(error)) from error
    finally:
        loader.dispose()


def _refuse_aliases(root: yaml.Node) -> None:
    # An alias is the same node object reached twice; composing shares it, only
    # constructing would expand it, so a walk over distinct nodes stays bounded.
    import yaml

    seen: set[int] = set()
    stack = [root]
    while stack:
        node = stack.pop()
        if id(node) in seen:
            raise InvalidYaml(
                f"YAML aliases (*name) are not accepted (line {node.start_mark.line + 1}); "
                "write the value out in full"
            )
        seen.add(id(node))
        if isinstance(node, yaml.MappingNode):
            for key, value in node.value:
                stack.extend((key, value))
        elif isinstance(node, yaml.SequenceNode):
            stack.extend(node.value)
