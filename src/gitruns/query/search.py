"""Searching an experiment's index: ``order_by`` clauses, ordering runs, and the columns a
search loads (never all the runs)."""

from __future__ import annotations

import math
from collections.abc import Callable, Collection, Iterable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from gitruns.store.index import ExperimentIndex, RunEntry
from gitruns.store.record import ACTIVE, DELETED

if TYPE_CHECKING:
    pass
from gitruns.query.filters import (
    FILTER_EXAMPLES,
    Field,
    InvalidFilter,
    filter_error,
    parse_field,
    parse_filter,
    tokenize,
)


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
