"""Which metric ranks an experiment's runs, which way, and which run is best: one rule.

Every surface asks here (the CLI's listings, the site, the review, the models
pages, the demo), so they never disagree:

1. An experiment's **primary metric** and **goal** are what it declares
   (``set_experiment("taxi", primary_metric="rmse", goal="minimize")``, kept in
   ``experiment.yaml``).
2. When it declares none, the primary metric is the metric the most of its runs
   logged, leaving out metrics that measure the clock (``training_time``,
   ``duration``) and metrics with the same value in every run (an epoch count
   ranks nothing); ties go to the name first in alphabetical order.
3. When it declares no goal, the goal is ``maximize`` for a metric named as a
   score that grows (``accuracy``, ``auc``, ``f1``, ``precision``, ``recall``,
   ``r2``, ``score``, as a whole name or its last part: ``val_accuracy``), else
   ``minimize`` (losses, errors).
4. The **best run** holds the best finite value of the primary metric (NaN and
   infinities never win); among equals, the one that started first. Deleted
   runs never rank.

Example::

    ranking = rank(record.primary_metric, record.goal, entries)
    print(ranking.metric, ranking.goal, ranking.best_value, ranking.best_id)
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from functools import partial
from typing import Protocol

from gitruns.store.record import DELETED, GOALS, MAXIMIZE, MINIMIZE

# A metric that measures the clock (autolog's training_time, a duration): shown, never
# the metric runs are ranked by, and never judged when a run is reproduced.
TIMING_METRIC = re.compile(r"(?:^|[_\-./ ])(?:time|duration|seconds|latency)(?:$|[_\-./ ])", re.I)
# A score that grows as the model gets better.
HIGHER_IS_BETTER = re.compile(
    r"(?:^|[_\-./ ])(?:accuracy|acc|auc|roc_auc|f1|precision|recall|r2|score)$", re.I
)


class Ranked(Protocol):
    """What ranking reads of a run (a search index entry, a record, a site model)."""

    @property
    def id(self) -> str: ...

    @property
    def metrics(self) -> dict[str, float]: ...

    @property
    def start_time(self) -> int: ...

    @property
    def lifecycle_stage(self) -> str: ...


@dataclass(frozen=True)
class Ranking:
    """An experiment's primary metric, its goal, whether both were declared, and the
    best run by them."""

    metric: str | None
    goal: str
    declared: bool  # the experiment declared its primary metric (rule 1)
    best_value: float | None = None
    best_id: str | None = None

    def better(self, value: float, than: float) -> bool:
        return value < than if self.goal == MINIMIZE else value > than


class RankedMixin:
    """Read an experiment's :class:`Ranking` (its ``ranking``) as its fields."""

    ranking: Ranking

    @property
    def primary_metric(self) -> str | None:
        return self.ranking.metric

    @property
    def goal(self) -> str:
        return self.ranking.goal

    @property
    def best(self) -> float | None:
        return self.ranking.best_value


def goal_of(metric: str | None, declared_goal: str | None) -> str:
    """The goal for ``metric``: the declared one, else rule 3."""
    if declared_goal in GOALS:
        return str(declared_goal)
    if metric is not None and HIGHER_IS_BETTER.search(metric):
        return MAXIMIZE
    return MINIMIZE


def is_timing(metric: str) -> bool:
    return TIMING_METRIC.search(metric) is not None


def guess_from_columns(columns: Mapping[str, Callable[[], Sequence[float | None]]]) -> str | None:
    """Rule 2: the metric most runs logged, timing metrics and constants left out (a
    constant only when some other metric varies), ties by name. Each metric's values come
    as a column, one per run (None where a run lacks it), read only when asked for: the
    site ranks 100,000 runs from the search index's columns."""
    counts: dict[str, int] = {}
    varying: list[str] = []
    for key, read in columns.items():
        if is_timing(key):
            continue
        present = [value for value in read() if value is not None]
        if present:
            counts[key] = len(present)
            if len(set(present)) > 1:
                varying.append(key)
    return min(varying or counts, key=lambda key: (-counts[key], key), default=None)


def finite(value: float | None) -> float | None:
    return value if value is not None and math.isfinite(value) else None


def best_of(values: Iterable[float | None], goal: str) -> float | None:
    """The best finite value for ``goal``, or None."""
    kept = [value for value in values if finite(value) is not None]
    if not kept:
        return None
    return max(kept) if goal == MAXIMIZE else min(kept)  # type: ignore[type-var]


def rank(
    primary_metric: str | None,
    goal: str | None,
    runs: Iterable[Ranked],
    metric: str | None = None,
) -> Ranking:
    """The ranking of ``runs`` (one experiment's): rules 1 to 4. ``metric`` overrides
    the primary metric (a review asked to judge by another)."""
    alive = [run for run in runs if run.lifecycle_stage != DELETED]
    keys = {key for run in alive for key in run.metrics}
    return rank_columns(
        primary_metric,
        goal,
        [run.id for run in alive],
        [run.start_time for run in alive],
        {key: partial(_metric_column, alive, key) for key in sorted(keys)},
        metric,
    )


def _metric_column(runs: list[Ranked], key: str) -> list[float | None]:
    return [run.metrics.get(key) for run in runs]


def rank_columns(
    primary_metric: str | None,
    goal: str | None,
    ids: Sequence[str],
    start_times: Sequence[int],
    metrics: Mapping[str, Callable[[], Sequence[float | None]]],
    metric: str | None = None,
) -> Ranking:
    """:func:`rank` over columns of live runs: their ids, start times, and each metric's
    values (read only when needed), one per run."""
    chosen = metric or primary_metric or guess_from_columns(metrics)
    declared = bool(metric or primary_metric)
    direction = goal_of(chosen, goal if (metric is None or metric == primary_metric) else None)
    if chosen is None:
        return Ranking(None, direction, declared)
    ranking = Ranking(chosen, direction, declared)
    read = metrics.get(chosen)
    values = read() if read is not None else []
    best_at = None
    best_value = None
    for at in sorted(range(len(values)), key=start_times.__getitem__):
        value = finite(values[at])
        if value is not None and (best_value is None or ranking.better(value, best_value)):
            best_at, best_value = at, value
    return Ranking(
        chosen, direction, declared, best_value, None if best_at is None else ids[best_at]
    )
