"""Searching runs: MLflow's filter grammar, plus OR and parentheses; order_by; DataFrames.

A filter compares fields of a run with values::

    metrics.rmse < 6.5 AND params.model = 'xgboost'
    (tags.stage = 'tuning' OR tags.stage = 'final') AND attributes.status != 'FAILED'
    params.`learning rate` IN ('0.1', '0.3') AND tags.note IS NULL

Fields are ``metrics.KEY``, ``params.KEY``, ``tags.KEY`` and ``attributes.NAME``
(aliases: ``metric``, ``param``/``parameter(s)``, ``tag``, ``attribute``/``attr``/``run``).
A key with spaces or other characters goes in backticks or double quotes.

- metrics and the time attributes compare with numbers: ``= != < <= > >=``;
- params, tags and text attributes compare with quoted text: ``= != LIKE ILIKE IN (...)
  NOT IN (...)``; with a number (``params.alpha > 0.05``) they compare as numbers;
- any field: ``IS NULL``, ``IS NOT NULL``;
- ``AND`` binds tighter than ``OR``; parentheses group. Keywords are case-insensitive.

A run lacking a field never matches a comparison on it (except ``IS NULL``).
``order_by`` takes ``"FIELD [ASC|DESC]"`` strings; runs lacking the field come last.
"""

from __future__ import annotations

import functools
import math
import re
from collections.abc import Callable, Iterable, Sequence
from typing import Any, NamedTuple, TypeVar

from gitruns import system_tags
from gitruns.exceptions import InvalidValue
from gitruns.store.index import RunEntry
from gitruns.utils.words import closest

T = TypeVar("T")

# The words of a filter, compiled by the first filter (_token_pattern): a search without
# one, as most are, never pays for it.
TOKEN = r"""
    (?P<space>\s+)
  | (?P<open>\()
  | (?P<close>\))
  | (?P<comma>,)
  | (?P<operator>!=|<>|<=|>=|=|<|>)
  | (?P<string>'(?:[^'\\]|\\.|'')*'|"(?:[^"\\]|\\.)*")
  | (?P<number>[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?)
  | (?P<field>[A-Za-z_][A-Za-z0-9_]*\.(?:`[^`]+`|"[^"]+"|[\w.\-/:]+))
  | (?P<word>[A-Za-z_][A-Za-z0-9_]*)
"""
KEYWORDS = frozenset({"AND", "OR", "NOT", "IN", "IS", "NULL", "LIKE", "ILIKE", "ASC", "DESC"})
ENTITY_ALIASES = {
    "metric": "metric", "metrics": "metric",
    "param": "param", "params": "param", "parameter": "param", "parameters": "param",
    "tag": "tag", "tags": "tag",
    "attribute": "attribute", "attributes": "attribute", "attr": "attribute", "run": "attribute",
    "dataset": "dataset", "datasets": "dataset",
}  # fmt: skip
# A run read any number of datasets: datasets.name = 'x' holds when one of them matches.
DATASET_KEYS = {"name": 0, "digest": 1, "context": 2}
NUMERIC_ATTRIBUTES = {"start_time": "start_time", "created": "start_time", "end_time": "end_time"}
TEXT_ATTRIBUTES = {
    "run_id": "id", "run_name": "name", "status": "status", "user_id": "user",
    "experiment_id": "experiment", "lifecycle_stage": "lifecycle_stage", "parent_run_id": "parent",
}  # fmt: skip
NUMERIC_OPERATORS = ("=", "!=", "<", "<=", ">", ">=")
TEXT_OPERATORS = ("=", "!=", "LIKE", "ILIKE", "IN", "NOT IN")


class InvalidFilter(InvalidValue):
    """A filter or order_by string that does not parse, with where and what was expected."""


class Token(NamedTuple):
    """A word of a filter: its kind (field, operator, string, keyword...), its text and
    where it starts."""

    kind: str
    text: str
    position: int


class Field(NamedTuple):
    """A field of a run: ``kind`` is metric, param, tag or attribute."""

    kind: str
    key: str

    @property
    def numeric(self) -> bool:
        return self.kind == "metric" or (
            self.kind == "attribute" and self.key in NUMERIC_ATTRIBUTES
        )

    @property
    def attribute(self) -> str:
        """The entry's attribute (and the index's column) an attribute field reads:
        ``created`` reads ``start_time``, ``run_id`` reads ``id``."""
        return NUMERIC_ATTRIBUTES.get(self.key) or TEXT_ATTRIBUTES[self.key]

    def value(self, run: RunEntry) -> Any:
        """The field's value in ``run``, or None when the run lacks it."""
        if self.kind == "metric":
            return run.metrics.get(self.key)
        if self.kind == "param":
            return run.params.get(self.key)
        if self.kind == "tag":
            return run.tags.get(self.key)
        if self.kind == "dataset":  # within one dataset: [name, digest, context]
            return run[DATASET_KEYS[self.key]]
        return getattr(run, self.attribute)

    def __str__(self) -> str:
        return f"{self.kind}s.{self.key}"


Predicate = Callable[[Any], bool]  # over a RunEntry, or an Experiment
FieldParser = Callable[[Token, str], Any]  # a token -> a field with .numeric and .value(item)


@functools.cache
def _token_pattern() -> re.Pattern[str]:
    # Kept here, not left to re's cache, which holds 512 patterns and evicts the oldest.
    return re.compile(TOKEN, re.VERBOSE)


def tokenize(text: str) -> list[Token]:
    tokens: list[Token] = []
    position = 0
    words = _token_pattern()
    while position < len(text):
        match = words.match(text, position)
        if match is None:
            raise filter_error(text, position, f"unexpected character {text[position]!r}")
        kind = match.lastgroup or ""
        if kind == "word" and match.group().upper() in KEYWORDS:
            tokens.append(Token("keyword", match.group().upper(), position))
        elif kind != "space":
            tokens.append(Token(kind, match.group(), position))
        position = match.end()
    return tokens


FILTER_EXAMPLES = {
    "filter": "A filter looks like: metrics.rmse < 6.5 AND params.model = 'xgboost'",
    "order-by": "An order-by looks like: metrics.rmse ASC (or DESC), one field per clause",
}


def filter_error(text: str, position: int, message: str, what: str = "filter") -> InvalidFilter:
    pointer = " " * position + "^"
    return InvalidFilter(
        f"invalid {what} at position {position}: {message.rstrip('.')}"
        f"{'' if message.endswith('?') else '.'}\n  {text}\n  {pointer}\n"
        f"{FILTER_EXAMPLES[what]}"
    )


def parse_field(token: Token, text: str, what: str = "filter") -> Field:
    """The run field a token names: ``metrics.rmse``, ``params.`learning rate```..."""
    if token.kind != "field":
        raise filter_error(text, token.position, "expected a field such as metrics.rmse", what)
    entity, _, key = token.text.partition(".")
    kind = ENTITY_ALIASES.get(entity.lower())
    if kind is None:
        raise filter_error(
            text, token.position,
            f"{entity!r} is not a kind of field; fields start with metrics, params, tags, "
            "attributes or datasets (e.g. metrics.rmse)", what,
        )  # fmt: skip
    if key[:1] in ("`", '"'):
        key = key[1:-1]
    if kind == "dataset" and key not in DATASET_KEYS:
        raise filter_error(
            text, token.position,
            f"unknown dataset field {key!r}; datasets have {', '.join(DATASET_KEYS)}", what,
        )  # fmt: skip
    if kind == "attribute" and key not in NUMERIC_ATTRIBUTES and key not in TEXT_ATTRIBUTES:
        known = ", ".join(sorted({*NUMERIC_ATTRIBUTES, *TEXT_ATTRIBUTES}))
        raise filter_error(
            text, token.position, f"unknown attribute {key!r}; attributes are {known}", what
        )
    return Field(kind, key)


def check_known_keys(text: str | None, runs: Iterable[RunEntry], what: str = "filter") -> None:
    """Refuse a filter or order-by naming a metric, param or tag that no run has,
    pointing at it and naming the closest key that exists (``metrics.rmsee`` ->
    did you mean ``metrics.rmse``?). MLflow's search quietly finds nothing; a
    person at a terminal wants to know why."""
    if not text:
        return
    tokens = [token for token in tokenize(text) if token.kind == "field"]
    fields = [(token, parse_field(token, text, what)) for token in tokens]
    wanted = [(token, field) for token, field in fields if field.kind in ("metric", "param", "tag")]
    if not wanted:
        return
    known: dict[str, set[str]] = {"metric": set(), "param": set(), "tag": set()}
    for run in runs:
        known["metric"].update(run.metrics)
        known["param"].update(run.params)
        known["tag"].update(run.tags)
    for token, field in wanted:
        if field.key in known[field.kind]:
            continue
        close = closest(field.key, known[field.kind])
        hint = f"; did you mean {field.kind}s.{close}?" if close else ""
        if not close and known[field.kind]:
            hint = f"; the runs have {', '.join(sorted(known[field.kind])[:8])}"
        raise filter_error(text, token.position, f"no run has {field}{hint}", what)


class _Parser:
    """Recursive descent over the tokens: or → and → (group | comparison)."""

    def __init__(self, text: str, fields: FieldParser) -> None:
        self.text = text
        self.tokens = tokenize(text)
        self.index = 0
        self.fields = fields

    def peek(self) -> Token | None:
        return self.tokens[self.index] if self.index < len(self.tokens) else None

    def unexpected(self, expected: str) -> InvalidFilter:
        token = self.peek()
        where = len(self.text) if token is None else token.position
        found = "the end of the filter" if token is None else repr(token.text)
        return filter_error(self.text, where, f"expected {expected}, found {found}")

    def take(self, kind: str, text: str | None = None, expected: str = "") -> Token:
        token = self.peek()
        if token is None or token.kind != kind or (text is not None and token.text != text):
            raise self.unexpected(expected or text or kind)
        self.index += 1
        return token

    def accept(self, kind: str, text: str | None = None) -> Token | None:
        token = self.peek()
        if token is not None and token.kind == kind and (text is None or token.text == text):
            self.index += 1
            return token
        return None

    def parse(self) -> Predicate:
        predicate = self.disjunction()
        token = self.peek()
        if token is not None:
            raise filter_error(
                self.text, token.position, f"expected AND, OR or the end, found {token.text!r}"
            )
        return predicate

    def disjunction(self) -> Predicate:
        parts = [self.conjunction()]
        while self.accept("keyword", "OR"):
            parts.append(self.conjunction())
        return parts[0] if len(parts) == 1 else _any_of(parts)

    def conjunction(self) -> Predicate:
        parts = [self.term()]
        while self.accept("keyword", "AND"):
            parts.append(self.term())
        return parts[0] if len(parts) == 1 else _all_of(parts)

    def term(self) -> Predicate:
        if self.accept("open"):
            inner = self.disjunction()
            self.take("close", ")", "')' to close the group")
            return inner
        return self.comparison()

    def comparison(self) -> Predicate:
        token = self.peek()
        if token is None or token.kind not in ("field", "word"):
            raise self.unexpected("a field such as metrics.rmse")
        self.index += 1
        field = self.fields(token, self.text)
        if getattr(field, "kind", None) == "dataset":
            return _any_dataset(self.condition(field))
        return self.condition(field)

    def condition(self, field: Any) -> Predicate:
        token = self.peek()
        if token is not None and token.kind == "keyword" and token.text == "IS":
            self.index += 1
            negate = self.accept("keyword", "NOT") is not None
            self.take("keyword", "NULL", "NULL")
            return _is_null(field, negate)
        if token is not None and token.kind == "keyword" and token.text in ("IN", "NOT"):
            self.index += 1
            if token.text == "NOT":
                self.take("keyword", "IN", "IN after NOT")
            return self.membership(field, negate=token.text == "NOT", at=token.position)
        operator = self._operator(field)
        value_token = self.peek()
        if value_token is None or value_token.kind not in ("string", "number"):
            raise self.unexpected("a value ('text' or a number)")
        self.index += 1
        return _compare(field, operator, value_token, self.text)

    def _operator(self, field: Field) -> str:
        token = self.peek()
        if token is not None and token.kind == "operator":
            self.index += 1
            return "!=" if token.text == "<>" else token.text
        if token is not None and token.kind == "keyword" and token.text in ("LIKE", "ILIKE"):
            self.index += 1
            if field.numeric:
                raise filter_error(
                    self.text, token.position, f"{field} is a number; LIKE compares text"
                )
            return token.text
        raise self.unexpected("a comparison (=, !=, <, <=, >, >=, LIKE, ILIKE, IN, IS)")

    def membership(self, field: Field, negate: bool, at: int) -> Predicate:
        if field.numeric:
            raise filter_error(self.text, at, f"{field} is a number; IN compares text")
        self.take("open", "(", "'(' to start the list")
        values = {_unquote(self.take("string", expected="a quoted value").text)}
        while self.accept("comma"):
            values.add(_unquote(self.take("string", expected="a quoted value").text))
        self.take("close", ")", "')' to end the list")

        def matches(record: RunEntry) -> bool:
            value = field.value(record)
            return value is not None and (value not in values if negate else value in values)

        return matches


def _any_dataset(condition: Predicate) -> Predicate:
    """A condition on one dataset, held by a run when one of the datasets it read meets it."""

    def some_dataset(record: Any) -> bool:
        for dataset in record.datasets or ():  # noqa: SIM110
            if condition(dataset):
                return True
        return False

    return some_dataset


# Plain loops, not all()/any() over a generator: a search calls these once per run.
def _all_of(parts: list[Predicate]) -> Predicate:
    def every(record: Any) -> bool:
        for part in parts:  # noqa: SIM110
            if not part(record):
                return False
        return True

    return every


def _any_of(parts: list[Predicate]) -> Predicate:
    def some(record: Any) -> bool:
        for part in parts:  # noqa: SIM110
            if part(record):
                return True
        return False

    return some


def _unquote(text: str) -> str:
    """The text of a quoted value: SQL's doubled quote ('it''s') and backslash escapes."""
    body = text[1:-1]
    if text[0] == "'":
        body = body.replace("''", "'")
    return re.sub(r"\\(.)", r"\1", body)


def _is_null(field: Field, negate: bool) -> Predicate:
    if negate:
        return lambda record: field.value(record) is not None
    return lambda record: field.value(record) is None


_NUMBER_TESTS: dict[str, Callable[[float, float], bool]] = {
    "=": lambda a, b: a == b,
    "!=": lambda a, b: a != b,
    "<": lambda a, b: a < b,
    "<=": lambda a, b: a <= b,
    ">": lambda a, b: a > b,
    ">=": lambda a, b: a >= b,
}


def _compare(field: Field, operator: str, token: Token, text: str) -> Predicate:
    if token.kind == "number":
        number = float(token.text)
        if operator not in NUMERIC_OPERATORS:
            raise filter_error(text, token.position, f"{operator} compares text; quote the value")
        test = _NUMBER_TESTS[operator]

        def numeric(record: RunEntry) -> bool:
            value = field.value(record)
            if value is None:
                return False
            if isinstance(value, str):  # a param or tag compared as a number
                try:
                    value = float(value)
                except ValueError:
                    return False
            return not math.isnan(value) and test(value, number)

        return numeric
    if field.numeric:
        raise filter_error(
            text, token.position, f"{field} is a number; compare it with a number, unquoted"
        )
    if operator not in TEXT_OPERATORS:
        raise filter_error(
            text, token.position,
            f"{operator} compares numbers; text compares with =, !=, LIKE, ILIKE or IN",
        )  # fmt: skip
    wanted = _unquote(token.text)
    if operator in ("LIKE", "ILIKE"):
        pattern = _like_pattern(wanted, ignore_case=operator == "ILIKE")
        return lambda record: _text(field, record, lambda value: pattern.match(value) is not None)
    if operator == "=":

        def equal(record: Any) -> bool:
            value = field.value(record)
            return value is not None and str(value) == wanted

        return equal

    def unequal(record: Any) -> bool:
        value = field.value(record)
        return value is not None and str(value) != wanted

    return unequal


def _text(field: Field, record: RunEntry, test: Callable[[str], bool]) -> bool:
    value = field.value(record)
    return value is not None and test(str(value))


def _like_pattern(pattern: str, ignore_case: bool) -> re.Pattern[str]:
    """SQL's LIKE: ``%`` is any run of characters, ``_`` any one character."""
    parts = (".*" if char == "%" else "." if char == "_" else re.escape(char) for char in pattern)
    return re.compile(
        "".join(parts) + r"\Z", re.IGNORECASE | re.DOTALL if ignore_case else re.DOTALL
    )


def parse_filter(text: str | None, fields: FieldParser = parse_field) -> Predicate:
    """A predicate for a filter string (over run records by default); empty matches all.

    >>> matches = parse_filter("metrics.rmse < 6.5 AND params.model = 'xgboost'")
    """
    if text is None or not text.strip():
        return lambda item: True
    return _Parser(text, fields).parse()


class ExperimentField(NamedTuple):
    """A field of an experiment: its ``name``, ``experiment_id``, ``lifecycle_stage`` or a tag."""

    kind: str
    key: str

    @property
    def numeric(self) -> bool:
        return False

    def value(self, experiment: Any) -> Any:
        if self.kind == "tag":
            return experiment.tags.get(self.key)
        return getattr(experiment, self.key)

    def __str__(self) -> str:
        return self.key if self.kind == "attribute" else f"tags.{self.key}"


EXPERIMENT_ATTRIBUTES = ("name", "experiment_id", "lifecycle_stage")
MODEL_ATTRIBUTES = {
    "name": "name", "version": "version", "version_number": "version", "run_id": "run_id",
    "current_stage": "current_stage", "description": "description", "user_id": "user_id",
    "source": "source", "source_path": "source",
    "creation_timestamp": "creation_timestamp", "last_updated_timestamp": "last_updated_timestamp",
}  # fmt: skip
NUMERIC_MODEL_ATTRIBUTES = frozenset({"version", "creation_timestamp", "last_updated_timestamp"})


class ModelField(NamedTuple):
    """A field of a registered model or model version (MLflow's entities): an attribute,
    or ``tags.KEY``."""

    key: str
    tag: bool = False

    @property
    def numeric(self) -> bool:
        return not self.tag and self.key in NUMERIC_MODEL_ATTRIBUTES

    def value(self, item: Any) -> Any:
        if self.tag:
            found = (getattr(item, "tags", None) or {}).get(self.key)
            # No model here is a prompt (prompts are refused), so MLflow's own clause
            # "tags.`mlflow.prompt.is_prompt` != 'true'" holds for every one of them.
            return "false" if found is None and self.key == system_tags.IS_PROMPT else found
        value = getattr(item, MODEL_ATTRIBUTES[self.key], None)
        return int(value) if self.numeric and isinstance(value, str) and value.isdigit() else value

    def __str__(self) -> str:
        return f"tags.{self.key}" if self.tag else self.key


def parse_model_field(token: Token, text: str) -> ModelField:
    """``name``, ``run_id``, ``version_number``, ``source_path``, ``tags.KEY``: what model
    and version searches filter on (MLflow's grammar for them)."""
    entity, dot, key = token.text.partition(".")
    if not dot:
        entity, key = "attribute", token.text
    kind = ENTITY_ALIASES.get(entity.lower())
    if key[:1] in ("`", '"'):
        key = key[1:-1]
    if kind == "tag" and key:
        return ModelField(key, tag=True)
    if kind == "attribute" and key in MODEL_ATTRIBUTES:
        return ModelField(key)
    known = ", ".join(MODEL_ATTRIBUTES)
    raise filter_error(text, token.position, f"models filter on {known} or tags.KEY")


def order_models(
    items: Iterable[T], clauses: Sequence[str] | None, default: Sequence[str] = ("name ASC",)
) -> list[T]:
    """Registered models or versions in ``order_by`` order (MLflow's: ``"name ASC"``,
    ``"last_updated_timestamp DESC"``, ``"version_number DESC"``...), ties by name; an
    item lacking a field comes last."""
    keys: list[tuple[ModelField, bool]] = []
    for clause in clauses or default:
        words = str(clause).split()
        if not 1 <= len(words) <= 2 or (
            len(words) == 2 and words[1].upper() not in ("ASC", "DESC")
        ):
            raise InvalidFilter(
                f"invalid order-by {clause!r}: write FIELD [ASC|DESC], e.g. 'name ASC' or "
                "'last_updated_timestamp DESC'."
            )
        name = {"timestamp": "creation_timestamp"}.get(words[0], words[0])
        field = parse_model_field(Token("field" if "." in name else "word", name, 0), str(clause))
        keys.append((field, len(words) == 2 and words[1].upper() == "DESC"))
    if not any(field.key == "name" and not field.tag for field, _ in keys):
        keys.append((ModelField("name"), False))
    ordered = list(items)
    for field, descending in reversed(keys):  # stable sorts, last key first
        present = [item for item in ordered if field.value(item) is not None]
        present.sort(key=field.value, reverse=descending)
        ordered = present + [item for item in ordered if field.value(item) is None]
    return ordered


def parse_experiment_field(token: Token, text: str) -> ExperimentField:
    """``name``, ``attributes.name``, ``tags.KEY``: what search_experiments filters on."""
    entity, dot, key = token.text.partition(".")
    if not dot:
        entity, key = "attribute", token.text
    kind = ENTITY_ALIASES.get(entity.lower())
    if key[:1] in ("`", '"'):
        key = key[1:-1]
    if kind == "tag":
        return ExperimentField("tag", key)
    if kind == "attribute" and key in EXPERIMENT_ATTRIBUTES:
        return ExperimentField("attribute", key)
    raise filter_error(
        text, token.position, "experiments filter on name, experiment_id or tags.KEY"
    )
