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

import difflib
import itertools
import math
import posixpath
import re
from collections.abc import Callable, Collection, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from gitruns.entities import Experiment, Run, ViewType, experiment_from_record
from gitruns.exceptions import InvalidValue
from gitruns.query.ranking import RankedMixin, Ranking, rank
from gitruns.store import RunStore
from gitruns.store.index import ExperimentIndex, RunEntry
from gitruns.store.record import ACTIVE, DELETED

if TYPE_CHECKING:
    import pandas

TOKEN = re.compile(
    r"""
    (?P<space>\s+)
  | (?P<open>\()
  | (?P<close>\))
  | (?P<comma>,)
  | (?P<operator>!=|<>|<=|>=|=|<|>)
  | (?P<string>'(?:[^'\\]|\\.|'')*'|"(?:[^"\\]|\\.)*")
  | (?P<number>[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?)
  | (?P<field>[A-Za-z_][A-Za-z0-9_]*\.(?:`[^`]+`|"[^"]+"|[\w.\-/:]+))
  | (?P<word>[A-Za-z_][A-Za-z0-9_]*)
    """,
    re.VERBOSE,
)
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


@dataclass(frozen=True)
class Token:
    kind: str
    text: str
    position: int


@dataclass(frozen=True)
class Field:
    """A field of a run: ``kind`` is metric, param, tag or attribute."""

    kind: str
    key: str

    @property
    def numeric(self) -> bool:
        return self.kind == "metric" or (
            self.kind == "attribute" and self.key in NUMERIC_ATTRIBUTES
        )

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
        return getattr(run, NUMERIC_ATTRIBUTES.get(self.key) or TEXT_ATTRIBUTES[self.key])

    def __str__(self) -> str:
        return f"{self.kind}s.{self.key}"


Predicate = Callable[[Any], bool]  # over a RunEntry, or an Experiment
FieldParser = Callable[[Token, str], Any]  # a token -> a field with .numeric and .value(item)


def tokenize(text: str) -> list[Token]:
    tokens: list[Token] = []
    position = 0
    while position < len(text):
        match = TOKEN.match(text, position)
        if match is None:
            raise _error(text, position, f"unexpected character {text[position]!r}")
        kind = match.lastgroup or ""
        if kind == "word" and match.group().upper() in KEYWORDS:
            tokens.append(Token("keyword", match.group().upper(), position))
        elif kind != "space":
            tokens.append(Token(kind, match.group(), position))
        position = match.end()
    return tokens


_EXAMPLES = {
    "filter": "A filter looks like: metrics.rmse < 6.5 AND params.model = 'xgboost'",
    "order-by": "An order-by looks like: metrics.rmse ASC (or DESC), one field per clause",
}


def _error(text: str, position: int, message: str, what: str = "filter") -> InvalidFilter:
    pointer = " " * position + "^"
    return InvalidFilter(
        f"invalid {what} at position {position}: {message.rstrip('.')}"
        f"{'' if message.endswith('?') else '.'}\n  {text}\n  {pointer}\n"
        f"{_EXAMPLES[what]}"
    )


def parse_field(token: Token, text: str, what: str = "filter") -> Field:
    """The run field a token names: ``metrics.rmse``, ``params.`learning rate```..."""
    if token.kind != "field":
        raise _error(text, token.position, "expected a field such as metrics.rmse", what)
    entity, _, key = token.text.partition(".")
    kind = ENTITY_ALIASES.get(entity.lower())
    if kind is None:
        raise _error(
            text, token.position,
            f"{entity!r} is not a kind of field; fields start with metrics, params, tags, "
            "attributes or datasets (e.g. metrics.rmse)", what,
        )  # fmt: skip
    if key[:1] in ("`", '"'):
        key = key[1:-1]
    if kind == "dataset" and key not in DATASET_KEYS:
        raise _error(
            text, token.position,
            f"unknown dataset field {key!r}; datasets have {', '.join(DATASET_KEYS)}", what,
        )  # fmt: skip
    if kind == "attribute" and key not in NUMERIC_ATTRIBUTES and key not in TEXT_ATTRIBUTES:
        known = ", ".join(sorted({*NUMERIC_ATTRIBUTES, *TEXT_ATTRIBUTES}))
        raise _error(
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
        close = difflib.get_close_matches(field.key, sorted(known[field.kind]), n=1, cutoff=0.6)
        hint = f"; did you mean {field.kind}s.{close[0]}?" if close else ""
        if not close and known[field.kind]:
            hint = f"; the runs have {', '.join(sorted(known[field.kind])[:8])}"
        raise _error(text, token.position, f"no run has {field}{hint}", what)


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
        return _error(self.text, where, f"expected {expected}, found {found}")

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
            raise _error(
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
                raise _error(self.text, token.position, f"{field} is a number; LIKE compares text")
            return token.text
        raise self.unexpected("a comparison (=, !=, <, <=, >, >=, LIKE, ILIKE, IN, IS)")

    def membership(self, field: Field, negate: bool, at: int) -> Predicate:
        if field.numeric:
            raise _error(self.text, at, f"{field} is a number; IN compares text")
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
            raise _error(text, token.position, f"{operator} compares text; quote the value")
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
        raise _error(
            text, token.position, f"{field} is a number; compare it with a number, unquoted"
        )
    if operator not in TEXT_OPERATORS:
        raise _error(
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


@dataclass(frozen=True)
class ExperimentField:
    """A field of an experiment: its ``name``, ``experiment_id``, ``lifecycle_stage`` or a tag."""

    kind: str
    key: str
    numeric = False

    def value(self, experiment: Experiment) -> Any:
        if self.kind == "tag":
            return experiment.tags.get(self.key)
        return getattr(experiment, self.key)

    def __str__(self) -> str:
        return self.key if self.kind == "attribute" else f"tags.{self.key}"


EXPERIMENT_ATTRIBUTES = ("name", "experiment_id", "lifecycle_stage")
MODEL_ATTRIBUTES = ("name", "version", "run_id", "current_stage", "description", "user_id")


@dataclass(frozen=True)
class ModelField:
    """A field of a registered model or model version (MLflow's entities)."""

    key: str
    numeric = False

    def value(self, item: Any) -> Any:
        return getattr(item, self.key, None)

    def __str__(self) -> str:
        return self.key


def parse_model_field(token: Token, text: str) -> ModelField:
    """``name``, ``run_id``, ``version``, ``current_stage``: what model searches filter on."""
    entity, dot, key = token.text.partition(".")
    if not dot:
        key = token.text
    elif ENTITY_ALIASES.get(entity.lower()) != "attribute":
        key = ""
    if key in MODEL_ATTRIBUTES:
        return ModelField(key)
    known = ", ".join(MODEL_ATTRIBUTES)
    raise _error(text, token.position, f"models filter on {known}")


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
    raise _error(text, token.position, "experiments filter on name, experiment_id or tags.KEY")


@dataclass(frozen=True)
class OrderKey:
    field: Field
    descending: bool


def parse_order_by(clauses: Sequence[str] | None) -> list[OrderKey]:
    """``["metrics.rmse ASC", "params.alpha DESC"]`` -> order keys; default newest first."""
    if not clauses:
        return [
            OrderKey(Field("attribute", "start_time"), True),
            OrderKey(Field("attribute", "run_id"), False),
        ]
    keys = []
    for clause in clauses:
        try:
            tokens = tokenize(clause)
        except InvalidFilter as error:
            raise InvalidFilter(
                error.message.replace("invalid filter", "invalid order-by", 1).replace(
                    _EXAMPLES["filter"], _EXAMPLES["order-by"]
                )
            ) from None
        if not tokens or tokens[0].kind != "field":
            raise _error(
                clause, 0, "expected a field to order by, such as metrics.rmse", "order-by"
            )
        field = parse_field(tokens[0], clause, "order-by")
        if field.kind == "dataset":
            raise _error(
                clause, 0, "a run can read several datasets, so runs are not ordered by one; "
                "filter on datasets instead", "order-by",
            )  # fmt: skip
        direction = tokens[1].text if len(tokens) > 1 else "ASC"
        if len(tokens) > 2 or direction not in ("ASC", "DESC"):
            where = tokens[min(len(tokens), 2) - 1].position if len(tokens) > 1 else len(clause)
            raise _error(
                clause, where, "expected ASC or DESC after the field, and nothing more", "order-by"
            )
        keys.append(OrderKey(field, direction == "DESC"))
    return keys


def order_runs(
    rows: list[Any], keys: list[OrderKey], entry_of: Callable[[Any], RunEntry]
) -> list[Any]:
    """Sort ``rows`` by the keys, most significant first.

    Runs lacking a key's field come last whatever the direction, as in MLflow; NaN just before.
    """
    for key in reversed(keys):
        present, not_a_number, missing = [], [], []
        for row in rows:
            value = key.field.value(entry_of(row))
            if value is None:
                missing.append(row)
            elif isinstance(value, float) and math.isnan(value):
                not_a_number.append(row)
            else:
                present.append((value, row))
        if key.field.kind == "param":
            present = _as_numbers(present)
        present.sort(key=lambda pair: pair[0], reverse=key.descending)
        rows = [row for _, row in present] + not_a_number + missing
    return rows


def _as_numbers(present: list[tuple[Any, Any]]) -> list[tuple[Any, Any]]:
    """Params are strings; when every value is a number they sort as numbers (9 < 10)."""
    try:
        return [(float(value), row) for value, row in present]
    except (TypeError, ValueError):
        return present


class ColumnRow:
    """A run as a filter or an order reads it, from an index's columns: a search over
    100,000 runs builds no entry but for the page it returns, and no dict per run."""

    __slots__ = ("attributes", "index", "metrics", "params", "position", "tags")

    def __init__(
        self,
        index: ExperimentIndex,
        position: int,
        named: dict[str, dict[str, list[Any]]],
        attributes: dict[str, list[Any]],
    ) -> None:
        self.index = index
        self.position = position
        self.metrics = _ColumnValues(self, named["metric"])
        self.params = _ColumnValues(self, named["param"])
        self.tags = _ColumnValues(self, named["tag"])
        self.attributes = attributes

    def __getattr__(self, name: str) -> Any:  # an attribute: status, start_time, ...
        column = self.attributes.get(name)
        if column is None:
            column = self.attributes[name] = self.index.column("attribute", name) or []
        return column[self.position] if column else None


class _ColumnValues:
    """``row.metrics.get(key)`` read from the column of ``key`` at the row's position."""

    __slots__ = ("columns", "row")

    def __init__(self, row: ColumnRow, columns: dict[str, list[Any]]) -> None:
        self.row = row
        self.columns = columns

    def get(self, key: str, default: Any = None) -> Any:
        column = self.columns.get(key)
        if column is None:
            return default
        value = column[self.row.position]
        return default if value is None else value


def search_columns(
    indexes: Iterable[ExperimentIndex],
    filter_string: str | None = None,
    order_by: Sequence[str] | None = None,
    stages: Collection[str] = (ACTIVE, DELETED),
) -> list[ColumnRow]:
    """The runs matching ``filter_string``, in ``order_by`` order, read from the indexes'
    columns: one row moves over the runs while the filter reads it; a match gets a row
    of its own."""
    matches = parse_filter(filter_string)
    keys = parse_order_by(order_by)
    fields = [key.field for key in keys]
    if filter_string:
        tokens = tokenize(filter_string)
        fields += [parse_field(token, filter_string) for token in tokens if token.kind == "field"]
    rows = []
    for index in indexes:
        named: dict[str, dict[str, list[Any]]] = {"metric": {}, "param": {}, "tag": {}}
        for kind, key in {(f.kind, f.key) for f in fields if f.kind in named}:
            column = index.column(kind, key)
            if column is not None:
                named[kind][key] = column
        attributes: dict[str, list[Any]] = {}
        cursor = ColumnRow(index, 0, named, attributes)
        lifecycle = index.column("attribute", "lifecycle_stage") or []
        for position, stage in enumerate(lifecycle):
            if stage not in stages:
                continue
            cursor.position = position
            if matches(cursor):
                rows.append(ColumnRow(index, position, named, attributes))
    return order_runs(rows, keys, lambda row: row)


def runs_to_dataframe(runs: Sequence[Run]) -> pandas.DataFrame:
    """MLflow's search_runs columns: run_id, experiment_id, status, artifact_uri, start_time,
    end_time, then ``metrics.*``, ``params.*`` and ``tags.*``."""
    import pandas as pd

    base = ["run_id", "experiment_id", "status", "artifact_uri", "start_time", "end_time"]
    rows = []
    for run in runs:
        row: dict[str, Any] = {
            "run_id": run.info.run_id,
            "experiment_id": run.info.experiment_id,
            "status": run.info.status,
            "artifact_uri": run.info.artifact_uri,
            "start_time": run.info.start_time,
            "end_time": run.info.end_time,
        }
        row.update((f"metrics.{key}", value) for key, value in run.data.metrics.items())
        row.update((f"params.{key}", value) for key, value in run.data.params.items())
        row.update((f"tags.{key}", value) for key, value in run.data.tags.items())
        rows.append(row)
    extra = sorted({column for row in rows for column in row} - set(base), key=_column_order)
    frame = pd.DataFrame(rows, columns=base + extra)
    for column in ("start_time", "end_time"):
        frame[column] = pd.to_datetime(frame[column], unit="ms", utc=True)
    return frame


def _column_order(column: str) -> tuple[int, str]:
    prefix = column.split(".", 1)[0]
    return ({"metrics": 0, "params": 1, "tags": 2}.get(prefix, 3), column)


@dataclass(frozen=True)
class ComparedValue:
    """One param or metric across the compared runs; ``differs`` when they don't all agree."""

    kind: str  # "param" or "metric"
    key: str
    values: tuple[Any, ...]  # one per run, None where a run lacks it

    @property
    def differs(self) -> bool:
        first = self.values[0]
        return any(not _same(first, value) for value in self.values[1:])


def _same(a: Any, b: Any) -> bool:
    if isinstance(a, float) and isinstance(b, float) and math.isnan(a) and math.isnan(b):
        return True
    return a == b


def compare_runs(runs: Sequence[Run]) -> list[ComparedValue]:
    """Params, then metrics, of several runs side by side.

    Example::

        for row in compare_runs([client.get_run(a), client.get_run(b)]):
            print(row.key, row.values, "differs" if row.differs else "")
    """
    rows: list[ComparedValue] = []
    for kind in ("param", "metric"):
        keys = sorted({key for run in runs for key in _values(run, kind)})
        rows.extend(
            ComparedValue(kind, key, tuple(_values(run, kind).get(key) for run in runs))
            for key in keys
        )
    return rows


def _values(run: Run, kind: str) -> dict[str, Any]:
    return run.data.params if kind == "param" else run.data.metrics


@dataclass(frozen=True)
class ExperimentSummary(RankedMixin):
    """What the experiments listing shows of one experiment."""

    experiment: Experiment
    runs: int
    ranking: Ranking  # primary metric, goal and best run (query.ranking)
    last_activity: int | None  # start time of the newest run, in milliseconds


def summarize_experiment(
    experiment: Experiment,
    runs: Sequence[RunEntry],
    primary_metric: str | None,
    goal: str | None,
) -> ExperimentSummary:
    return ExperimentSummary(
        experiment=experiment,
        runs=len(runs),
        ranking=rank(primary_metric, goal, runs),
        last_activity=max((run.start_time for run in runs), default=None),
    )


T = TypeVar("T")


def tree_order(
    items: Sequence[T], id_of: Callable[[T], str], parent_of: Callable[[T], str | None]
) -> list[tuple[T, int]]:
    """``items`` with each child right under its parent, with its depth; roots and
    children keep the order given. A child whose parent is not among them is a root,
    and a cycle of parents is broken where it is met.

    >>> runs = [("a", None), ("b", "a"), ("c", None)]
    >>> [(run[0], depth) for run, depth in tree_order(runs, lambda r: r[0], lambda r: r[1])]
    [('a', 0), ('b', 1), ('c', 0)]
    """
    present = {id_of(item) for item in items}
    children: dict[str, list[T]] = {}
    roots = []
    for item in items:
        parent = parent_of(item)
        if parent and parent in present and parent != id_of(item):
            children.setdefault(parent, []).append(item)
        else:
            roots.append(item)
    ordered: list[tuple[T, int]] = []
    seen: set[str] = set()
    pending = [(item, 0) for item in reversed(roots)]
    while pending or len(seen) < len(present):
        if not pending:  # a cycle of parents: list the rest on their own
            pending = [(item, 0) for item in reversed(items) if id_of(item) not in seen][:1]
        item, depth = pending.pop()
        if id_of(item) in seen:
            continue
        seen.add(id_of(item))
        ordered.append((item, depth))
        pending.extend((child, depth + 1) for child in reversed(children.get(id_of(item), [])))
    return ordered


def abbreviate(run_ids: Iterable[str], minimum: int = 8) -> int:
    """The shortest length, at least ``minimum``, at which the ids are all distinct.

    Ids begin with their start time, so runs started close together share a
    long prefix; like git, the abbreviation grows until it tells them apart.
    """
    ids = sorted(set(run_ids))
    length = minimum
    for left, right in itertools.pairwise(ids):
        shared = len(posixpath.commonprefix([left, right]))
        length = max(length, shared + 1)
    return min(length, 32)


def summarize_experiments(
    runs_dir: Path, view_type: int = ViewType.ACTIVE_ONLY
) -> list[ExperimentSummary]:
    """Every experiment with its run count, best primary metric and last activity.

    Example::

        for summary in summarize_experiments(Path("runs")):
            print(summary.experiment.name, summary.runs, summary.best)
    """
    store = RunStore(runs_dir)
    by_experiment: dict[str, list[RunEntry]] = {}
    for run, run_dir in store.entries():
        if run.lifecycle_stage != DELETED:
            by_experiment.setdefault(Path(run_dir).parent.name, []).append(run)
    summaries = []
    for experiment_id, record in store.readable_experiments():
        if not ViewType.includes(view_type, record.lifecycle_stage):
            continue
        experiment = experiment_from_record(
            experiment_id, record, store.experiment_dir(experiment_id)
        )
        summaries.append(
            summarize_experiment(
                experiment,
                by_experiment.get(experiment_id, []),
                record.primary_metric,
                record.goal,
            )
        )
    return summaries


def format_duration(start: int, end: int | None) -> str:
    """A run's duration for people: '0.4 s', '3 min 07 s', '2 h 05 min'; '' while running."""
    if end is None:
        return ""
    seconds = (end - start) / 1000
    if seconds < 60:
        return f"{seconds:.1f} s"
    minutes, whole = divmod(int(seconds), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes:02d} min" if hours else f"{minutes} min {whole:02d} s"
