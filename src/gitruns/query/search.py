"""Searching an experiment's index: ``order_by`` clauses, ordering runs, and the columns a
search loads (never all the runs)."""

from __future__ import annotations

from collections.abc import Collection, Iterable, Sequence
from typing import Any, NamedTuple, TypeAlias

from gitruns.query.filters import (
    FILTER_EXAMPLES,
    Field,
    InvalidFilter,
    filter_error,
    parse_field,
    parse_filter,
    tokenize,
)
from gitruns.store.index import ExperimentIndex
from gitruns.store.record import ACTIVE, DELETED


class OrderKey(NamedTuple):
    """One clause of an order-by: the field, and whether the largest comes first."""

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
                    FILTER_EXAMPLES["filter"], FILTER_EXAMPLES["order-by"]
                )
            ) from None
        if not tokens or tokens[0].kind != "field":
            raise filter_error(
                clause, 0, "expected a field to order by, such as metrics.rmse", "order-by"
            )
        field = parse_field(tokens[0], clause, "order-by")
        if field.kind == "dataset":
            raise filter_error(
                clause, 0, "a run can read several datasets, so runs are not ordered by one; "
                "filter on datasets instead", "order-by",
            )  # fmt: skip
        direction = tokens[1].text if len(tokens) > 1 else "ASC"
        if len(tokens) > 2 or direction not in ("ASC", "DESC"):
            where = tokens[min(len(tokens), 2) - 1].position if len(tokens) > 1 else len(clause)
            raise filter_error(
                clause, where, "expected ASC or DESC after the field, and nothing more", "order-by"
            )
        keys.append(OrderKey(field, direction == "DESC"))
    return keys


# A run a search found: its experiment's search index, and its position there. A plain
# pair: a search over 100,000 runs makes one per match.
Hit: TypeAlias = tuple[ExperimentIndex, int]


def order_runs(hits: list[Hit], keys: list[OrderKey]) -> list[Hit]:
    """Sort ``hits`` by the keys, most significant first, reading each key's column once.

    Runs lacking a key's field come last whatever the direction, as in MLflow; NaN just before.
    """
    order = list(range(len(hits)))  # sorted as numbers: no pair made per run and key
    for key in reversed(keys):
        values = _values_of(hits, key.field)
        # NaN is the one value that is not equal to itself.
        present = [at for at in order if (value := values[at]) is not None and value == value]
        not_a_number = [at for at in order if (value := values[at]) is not None and value != value]
        missing = [at for at in order if values[at] is None]
        if key.field.kind == "param":
            values = _as_numbers(values, present)
        present.sort(key=values.__getitem__, reverse=key.descending)
        order = present + not_a_number + missing
    return [hits[at] for at in order]


def _values_of(hits: list[Hit], field: Field) -> list[Any]:
    """The value of ``field`` for each hit (None where its run lacks it)."""
    key = field.attribute if field.kind == "attribute" else field.key
    values = []
    last: ExperimentIndex | None = None
    column: list[Any] = []
    for index, position in hits:
        if index is not last:  # hits of several experiments: each index keeps its columns
            last, column = index, index.column(field.kind, key) or []
        values.append(column[position] if column else None)
    return values


def _as_numbers(values: list[Any], present: list[int]) -> list[Any]:
    """Params are strings; when every one present is a number they sort as numbers (9 < 10)."""
    numbers = list(values)
    try:
        for at in present:
            numbers[at] = float(values[at])
    except (TypeError, ValueError):
        return values
    return numbers


class _Cursor:
    """The run at ``position`` as a filter reads it, from the index's columns: one cursor
    moves over an experiment's runs, so a search over 100,000 runs builds no entry and no
    dict per run."""

    __slots__ = ("attributes", "index", "metrics", "params", "position", "tags")

    def __init__(self, index: ExperimentIndex, named: dict[str, dict[str, list[Any]]]) -> None:
        self.index = index
        self.position = 0
        self.metrics = _ColumnValues(self, named["metric"])
        self.params = _ColumnValues(self, named["param"])
        self.tags = _ColumnValues(self, named["tag"])
        self.attributes: dict[str, list[Any]] = {}

    def __getattr__(self, name: str) -> Any:  # an attribute: status, start_time, ...
        column = self.attributes.get(name)
        if column is None:
            column = self.attributes[name] = self.index.column("attribute", name) or []
        return column[self.position] if column else None


class _ColumnValues:
    """``run.metrics.get(key)`` read from the column of ``key`` at the cursor's position."""

    __slots__ = ("columns", "cursor")

    def __init__(self, cursor: _Cursor, columns: dict[str, list[Any]]) -> None:
        self.cursor = cursor
        self.columns = columns

    def get(self, key: str, default: Any = None) -> Any:
        column = self.columns.get(key)
        if column is None:
            return default
        value = column[self.cursor.position]
        return default if value is None else value


def search_columns(
    indexes: Iterable[ExperimentIndex],
    filter_string: str | None = None,
    order_by: Sequence[str] | None = None,
    stages: Collection[str] = (ACTIVE, DELETED),
) -> list[Hit]:
    """The runs matching ``filter_string``, in ``order_by`` order, read from the indexes'
    columns: only the columns the filter and the order name are read, and a match is an
    (index, position) pair."""
    matches = parse_filter(filter_string)
    keys = parse_order_by(order_by)
    fields = []
    if filter_string:
        tokens = tokenize(filter_string)
        fields = [parse_field(token, filter_string) for token in tokens if token.kind == "field"]
    hits: list[Hit] = []
    for index in indexes:
        lifecycle = index.column("attribute", "lifecycle_stage") or []
        kept = [position for position, stage in enumerate(lifecycle) if stage in stages]
        if not filter_string:
            hits += [(index, position) for position in kept]
            continue
        named: dict[str, dict[str, list[Any]]] = {"metric": {}, "param": {}, "tag": {}}
        for kind, key in {(f.kind, f.key) for f in fields if f.kind in named}:
            column = index.column(kind, key)
            if column is not None:
                named[kind][key] = column
        cursor = _Cursor(index, named)
        for position in kept:
            cursor.position = position
            if matches(cursor):
                hits.append((index, position))
    return order_runs(hits, keys)
