"""Runs for people: side-by-side comparisons, experiment summaries, run trees,
short ids and durations."""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol, TypeVar

from gitruns.query.ranking import RankedMixin, Ranking, rank
from gitruns.store.index import RunEntry
from gitruns.store.record import ExperimentRecord


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


class HasValues(Protocol):
    """What a comparison reads of a run: an MLflow RunData, or an index entry."""

    @property
    def params(self) -> Mapping[str, Any]: ...

    @property
    def metrics(self) -> Mapping[str, Any]: ...


def compare_runs(runs: Sequence[HasValues]) -> list[ComparedValue]:
    """Params, then metrics, of several runs side by side.

    Example::

        for row in compare_runs([client.get_run(a).data, client.get_run(b).data]):
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


def _values(run: HasValues, kind: str) -> Mapping[str, Any]:
    return run.params if kind == "param" else run.metrics


@dataclass(frozen=True)
class ExperimentSummary(RankedMixin):
    """What the experiments listing shows of one experiment."""

    experiment_id: str
    record: ExperimentRecord
    runs: int
    ranking: Ranking  # primary metric, goal and best run (query.ranking)
    last_activity: int | None  # start time of the newest run, in milliseconds

    @property
    def name(self) -> str:
        return self.record.name


def summarize_experiment(
    experiment_id: str, record: ExperimentRecord, runs: Sequence[RunEntry]
) -> ExperimentSummary:
    return ExperimentSummary(
        experiment_id=experiment_id,
        record=record,
        runs=len(runs),
        ranking=rank(record.primary_metric, record.goal, runs),
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
        # The length only grows: most pairs cost one comparison of two prefixes.
        while length < 32 and left[:length] == right[:length]:
            length += 1
    return length


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
