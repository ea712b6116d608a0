"""The site's page models: what each page and data file shows of the runs, as plain
data the templates render (the experiment's table and charts, a run, a model, the home
page), bounded whatever a run holds."""

from __future__ import annotations

import functools
import heapq
import math
import re
from collections import Counter
from datetime import datetime, timezone
from typing import Any

from gitruns import system_tags
from gitruns.query.ranking import Ranking
from gitruns.query.tables import format_duration, tree_order
from gitruns.site import charts
from gitruns.site.collect import (
    ExperimentModel,
    RunModel,
    SiteData,
    json_for_script,
)


def model_source(
    run: RunModel | None, width: int, rankings: dict[str, Ranking]
) -> dict[str, Any] | None:
    """What a model version's pages show of the run it came from, with its experiment's
    primary metric (query.ranking) and whether this run is the best by it."""
    if run is None:
        return None
    ranking = rankings.get(run.entry.experiment)
    metric = ranking.metric if ranking else None
    return {
        "primary": None
        if ranking is None or metric is None or metric not in run.entry.metrics
        else {
            "metric": metric,
            "goal": ranking.goal,
            "value": compact_number(run.entry.metrics[metric]),
            "best": ranking.best_id == run.id,
        },
        "id": run.id,
        "short": run.id[:width],
        "name": run.entry.name,
        "experiment": run.entry.experiment,
        "metrics": {key: compact_number(value) for key, value in sorted(run.entry.metrics.items())},
        "params": dict(sorted(run.entry.params.items())),
    }


def json_safe(value: Any) -> Any:
    """JSON has no NaN or infinity: they become None (shown empty)."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {key: json_safe(item) for key, item in value.items()}
    if isinstance(value, list):
        return [json_safe(item) for item in value]
    return value


def format_time(ms: int | None) -> str:
    if ms is None:
        return ""
    return datetime.fromtimestamp(ms / 1000, tz=timezone.utc).strftime("%Y-%m-%d %H:%M UTC")


@functools.lru_cache(maxsize=1 << 16)  # params repeat across runs (max_depth 2 to 12...)
def _as_number(text: str) -> float | None:
    try:
        value = float(text)
    except (TypeError, ValueError):
        return None
    return value if math.isfinite(value) else None


# One colour per run, the same in the table, every chart and the comparison: Tableau's
# 20, given in the order runs first reach the site (by start within a build), and kept:
# a pull that brings runs started earlier never recolours the runs already there.
PALETTE = (
    "#4e79a7", "#f28e2b", "#e15759", "#76b7b2", "#59a14f", "#edc948", "#b07aa1", "#ff9da7",
    "#9c755f", "#bab0ac", "#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b",
    "#e377c2", "#7f7f7f", "#bcbd22", "#17becf",
)  # fmt: skip

# An experiment's rows are kept in chunks of this many places (a multiple of the
# palette's size): a pull rewrites the chunks its runs went into, not all 100,000 rows.
CHUNK_RUNS = 2_000

Layout = list[list[str | None]]  # an experiment's chunks: run ids by place (None: left)


def chunk_layout(previous: Layout, ids: list[str], start_times: list[int]) -> Layout:
    """Where each run's row is kept: every run where it was, runs no longer shown leave
    their place empty, new runs (in order of start) go after the last place taken. A
    run's place gives its colour, so it never changes once given."""
    present = set(ids)
    layout = [[run_id if run_id in present else None for run_id in chunk] for chunk in previous]
    placed = {run_id for chunk in layout for run_id in chunk if run_id is not None}
    new = sorted(
        (n for n, run_id in enumerate(ids) if run_id not in placed),
        key=lambda n: (start_times[n], ids[n]),
    )
    for n in new:
        if not layout or len(layout[-1]) >= CHUNK_RUNS:
            layout.append([])
        layout[-1].append(ids[n])
    return layout


# A param or metric column shows by default when at least this share of the runs has it.
SHOWN_COLUMN_SHARE = 0.25


def registrations(models: list[dict[str, Any]]) -> dict[str, list[dict[str, str]]]:
    """Run id -> the model versions registered from it: ``{"model", "version", "stage"}``."""
    found: dict[str, list[dict[str, str]]] = {}
    for model in models:
        for version in model["versions"]:
            if version.get("run_id"):
                found.setdefault(version["run_id"], []).append(
                    {
                        "model": model["name"],
                        "version": version["version"],
                        "stage": version["stage"],
                    }
                )
    return found


class ExperimentView:
    """An experiment as its pages show it: runs as a tree (each parent followed by its
    children), a colour per run, columns in the order people read them; read from the
    experiment's columns, never from an object per run."""

    def __init__(
        self,
        experiment: ExperimentModel,
        registered: dict[str, list[dict[str, str]]],
        width: int,
        layout: Layout,
    ) -> None:
        self.experiment = experiment
        self.width = width
        self.layout = layout
        ids = experiment.ids
        placed = [run_id for chunk in layout for run_id in chunk if run_id is not None]
        self.row_of: dict[str, int] = {run_id: row for row, run_id in enumerate(placed)}
        self.colors: dict[str, str] = {
            run_id: PALETTE[place % len(PALETTE)]
            for chunk in layout
            for place, run_id in enumerate(chunk)
            if run_id is not None
        }
        parents = experiment.column("attribute", "parent")
        # The ids come sorted: a stable sort by start alone orders ties by id.
        by_start = sorted(range(len(ids)), key=experiment.start_times.__getitem__)
        self.children: dict[str, list[str]] = {}  # run id -> its children's
        if not any(parents):  # no run has a parent: no tree to walk, each run is a block
            self.rows: list[tuple[str, int]] = [(ids[n], 0) for n in reversed(by_start)]
        else:
            ordered = tree_order(by_start, ids.__getitem__, parents.__getitem__)
            path: list[int] = []
            for n, depth in ordered:
                del path[depth:]
                if path:
                    self.children.setdefault(ids[path[-1]], []).append(ids[n])
                path.append(n)
            # The newest search first, each with its trials in the order they ran.
            blocks: list[list[tuple[int, int]]] = []
            for n, depth in ordered:
                if depth == 0:
                    blocks.append([])
                blocks[-1].append((n, depth))
            self.rows = [(ids[n], depth) for block in reversed(blocks) for n, depth in block]
        self.registered = {
            run_id: registered[run_id] for run_id in registered if run_id in self.row_of
        }

    @functools.cached_property
    def chart_params(self) -> list[charts.Field]:
        """The numeric params drawn against the primary metric (and given as axes)."""
        metrics, params, _tags = self.columns
        return _chart_params(self.experiment, params, metrics[0] if metrics else None)

    @functools.cached_property
    def param_charts(self) -> dict[str, Any]:
        """The params against the primary metric (parallel coordinates, scatters, two params
        binned), made once: the experiment page embeds them, its data file carries the
        first two for the compare page."""
        metrics, _params, _tags = self.columns
        if not metrics:
            return {}
        numeric = self.chart_params
        metric = charts.Field("m0", metrics[0])
        found = {
            "parallel": charts.parallel_coordinates(numeric, metric),
            "scatter": charts.scatters(numeric, metric),
            "heatmap": charts.heatmap(numeric, metric),
        }
        return {name: spec for name, spec in found.items() if spec is not None}

    @functools.cached_property
    def columns(self) -> tuple[list[str], list[str], list[str]]:
        """Metrics (the primary first), params, tags; the keys of each sorted."""
        return _fields(self.experiment)

    def shown_by_default(self, kind: str, key: str) -> bool:
        count = len(self.experiment.ids)
        if kind == "tag" or not count:
            return False
        column = self.experiment.column(kind, key)
        present = len(column) - column.count(None)
        return present >= SHOWN_COLUMN_SHARE * count


def home_page(data: SiteData, width: int) -> dict[str, Any]:
    newest = heapq.nlargest(
        15,
        (
            (start, run_id, n)
            for n, experiment in enumerate(data.experiments)
            for start, run_id in heapq.nlargest(
                15, zip(experiment.start_times, experiment.ids, strict=True)
            )
        ),
    )
    recent = [run for _, run_id, n in newest for run in data.experiments[n].runs([run_id])]
    experiments = []
    for e in data.experiments:
        experiments.append(
            {
                "id": e.id,
                "name": e.record.name,
                "runs": len(e.ids),
                "metric": e.primary_metric,
                "goal": e.goal,
                "best": compact_number(e.best),
                "best_full": full_number(e.best),
                "best_run": e.ranking.best_id,
                "last": format_time(e.last_activity),
            }
        )
    return {
        "experiments": experiments,
        "models": data.models,
        "recent": [run_row(run, width) for run in recent],
    }


def run_row(run: RunModel, width: int = 12) -> dict[str, Any]:
    entry = run.entry
    return {
        "id": entry.id,
        "short": entry.id[:width],
        "name": entry.name,
        "experiment": entry.experiment,
        "status": entry.status,
        "start": format_time(entry.start_time),
        "start_ms": entry.start_time,
        "duration": format_duration(entry.start_time, entry.end_time),
        "duration_ms": None if entry.end_time is None else entry.end_time - entry.start_time,
        "user": entry.user or "",
        "commit": (entry.tags.get(system_tags.GIT_COMMIT) or "")[:8],
        "params": entry.params,
        "metrics": {key: json_safe(value) for key, value in entry.metrics.items()},
        "tags": {
            key: value
            for key, value in entry.tags.items()
            if not key.startswith(system_tags.MLFLOW_PREFIX)
        },
    }


def _fields(experiment: ExperimentModel) -> tuple[list[str], list[str], list[str]]:
    """Metrics (the primary metric first), params, tags (the user's): the table's order."""
    params = experiment.keys_of("param")
    metrics = experiment.keys_of("metric")
    metric = experiment.primary_metric
    if metric in metrics:
        metrics.remove(metric)
        metrics.insert(0, metric)
    tags = [
        key for key in experiment.keys_of("tag") if not key.startswith(system_tags.MLFLOW_PREFIX)
    ]
    return metrics, params, tags


def experiment_head(view: ExperimentView) -> dict[str, Any]:
    """The experiment's shared data: its columns' names, charts and ranking, the chunks
    holding its rows (:func:`chunk_rows`), the order the table shows them in (the tree:
    each parent followed by its children) and which are children, and the model
    versions runs became. The page draws the table from it, only the rows in view, so
    100,000 runs cost no more than 50."""
    metrics, params, _tags = view.columns
    return {
        "id": view.experiment.id,
        "width": view.width,
        "count": len(view.rows),
        "params": params,
        "metrics": metrics,
        "metric": view.experiment.primary_metric,  # the one metric whose direction is known
        "goal": view.experiment.goal,
        "charts": comparison_charts(view),
        "chunks": chunk_names(view.layout),
        "sizes": [len(chunk) - chunk.count(None) for _, chunk in filled_chunks(view.layout)],
        "order": [view.row_of[run_id] for run_id, _ in view.rows],
        "child": [1 if depth else 0 for _, depth in view.rows],
        "registered": {
            run_id: [_registration_text(version) for version in versions]
            for run_id, versions in view.registered.items()
        },
    }


def filled_chunks(layout: Layout) -> list[tuple[int, list[str | None]]]:
    """The chunks that hold rows, with their numbers (an emptied chunk has no file)."""
    return [(n, chunk) for n, chunk in enumerate(layout) if any(chunk)]


def chunk_names(layout: Layout) -> list[str]:
    return [str(n) for n, _ in filled_chunks(layout)]


def chunk_rows(runs: list[RunModel], colors: dict[str, str]) -> dict[str, Any]:
    """The rows of one chunk of an experiment, as columns, the way the page reads them
    fastest: a browser parses 100,000 numbers in an array many times faster than 100,000
    objects naming each field. The chunk names its own params and metrics (``p0`` is its
    first param), which the page maps to the experiment's.

    What the page can work out itself is left out (the label "name (id)", the start as
    text, the short commit, the tags repeating the name and user, empty fields): 100,000
    runs load in a third of the bytes. Text repeated across runs (status, user, a tag's
    commit) is stored once per distinct value with a code per run (``{"d": [values],
    "c": [codes]}``, -1 for none); tags are a column per key; ``raw`` (a param as logged,
    where its number reads otherwise) is stored by row number. A field no run has is
    left out.
    """
    entries = [run.entry for run in runs]
    params = sorted({key for entry in entries for key in entry.params})
    metrics = sorted({key for entry in entries for key in entry.metrics})
    columns: dict[str, list[Any]] = {
        "id": [entry.id for entry in entries],
        "name": [entry.name for entry in entries],
        "color": [colors[entry.id] for entry in entries],
        "status": [entry.status for entry in entries],
        "start": [entry.start_time for entry in entries],
        "user": [entry.user or "" for entry in entries],
        "duration": [format_duration(entry.start_time, entry.end_time) for entry in entries],
        "end": [entry.end_time for entry in entries],
        "parent": [entry.parent for entry in entries],
    }
    raw: dict[str, dict[str, str]] = {}
    for index, key in enumerate(params):
        values: list[Any] = []
        for row, entry in enumerate(entries):
            value = entry.params.get(key)
            number = None if value is None else _as_number(value)
            values.append(number if number is not None else value)
            if value is not None and number is not None and value != _js_text(number):
                raw.setdefault(str(row), {})[f"p{index}"] = value  # as logged, for the filter
        columns[f"p{index}"] = values
    for index, key in enumerate(metrics):
        found = [entry.metrics.get(key) for entry in entries]
        # JSON has no NaN or infinity: they show empty.
        columns[f"m{index}"] = [v if v is None or math.isfinite(v) else None for v in found]
    # A metric every run logged as NaN is still a column (of nulls): the run had it.
    logged = {f"m{index}" for index in range(len(metrics))}
    encoded: dict[str, Any] = {
        key: _encoded(values)
        for key, values in sorted(columns.items())
        if key in logged or any(value is not None for value in values)
    }
    tags = [
        {key: value for key, value in entry.tags.items() if key not in DERIVED_TAGS}
        for entry in entries
    ]
    tag_keys = sorted({key for found in tags for key in found})
    encoded["tags"] = {key: _encoded([found.get(key) for found in tags]) for key in tag_keys}
    encoded["raw"] = dict(sorted(raw.items(), key=lambda item: int(item[0])))
    return {"params": params, "metrics": metrics, "count": len(entries), "columns": encoded}


def comparison_charts(view: ExperimentView) -> dict[str, Any]:
    """The charts the compare page draws again for the runs it compares (the same fields
    and scales as the experiment page's)."""
    return {
        name: view.param_charts[name]
        for name in ("parallel", "scatter")
        if name in view.param_charts
    }


# System tags the page puts back from the row itself (site.js: prepareDataset).
DERIVED_TAGS = (system_tags.RUN_NAME, system_tags.USER)


def _encoded(values: list[Any]) -> Any:
    """A column: its values, or each distinct text once and a code per run when text
    repeats (few distinct values: a status, a user, a commit)."""
    if any(value is not None and not isinstance(value, str) for value in values):
        return values
    distinct: dict[str, int] = {}
    codes = [-1 if value is None else distinct.setdefault(value, len(distinct)) for value in values]
    if len(distinct) > max(16, len(values) // 4):
        return values
    return {"d": list(distinct), "c": codes}


def _registration_text(version: dict[str, str]) -> str:
    """``taxi-model v3 (Production)``: a model version a run became, and its stage."""
    stage = "" if version["stage"] == "None" else f" ({version['stage']})"
    return f"{version['model']} v{version['version']}{stage}"


def _js_text(number: float) -> str:
    """How JavaScript writes ``number`` (``String(1.0)`` is ``"1"``)."""
    if number.is_integer() and abs(number) < 1e21:
        return str(int(number))
    text = repr(number)
    return re.sub(r"e([-+])0*(\d)", r"e\1\2", text) if "e" in text else text


def compact_number(value: float | None) -> str:
    """A number as the tables show it: four significant digits (the full value on hover)."""
    if value is None:
        return ""
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)
    return f"{value:.4g}"


def experiment_page(view: ExperimentView) -> dict[str, Any]:
    experiment = view.experiment
    metrics, params, tags = view.columns
    specs: dict[str, Any] = {}
    if metrics:
        overview = [charts.Field(f"m{index}", key) for index, key in enumerate(metrics)]
        charted = {"overview": charts.metric_overview(overview), **view.param_charts}
        for name in ("overview", "parallel", "scatter", "heatmap"):
            if charted.get(name) is not None:
                specs[name] = json_for_script(charted[name])
    specs["histories"] = json_for_script(charts.histories())
    best = experiment.run(experiment.ranking.best_id or "")
    columns = [
        *({"kind": "metric", "key": key, "index": index,
           "shown": view.shown_by_default("metric", key), "primary": index == 0
           and key == experiment.primary_metric} for index, key in enumerate(metrics)),
        *({"kind": "param", "key": key, "index": index,
           "shown": view.shown_by_default("param", key), "primary": False}
          for index, key in enumerate(params)),
        *({"kind": "tag", "key": key, "index": index, "shown": False, "primary": False}
          for index, key in enumerate(tags)),
    ]  # fmt: skip
    return {
        "experiment": {
            "id": experiment.id,
            "name": experiment.record.name,
            "description": experiment.record.description or "",
            "metric": experiment.primary_metric,
            "goal": experiment.goal,
            "best": compact_number(experiment.best),
            "best_full": full_number(experiment.best),
            "best_run": best.id if best else None,
            "best_name": best.entry.name if best else "",
        },
        "columns": columns,
        "axes": [
            {"name": field.name, "title": field.title, "shown": index < charts.DEFAULT_AXES}
            for index, field in enumerate(view.chart_params)
        ],
        "runs": len(view.rows),
        "width": view.width,
        "chunks": chunk_names(view.layout),
        "specs": specs,
    }


def full_number(value: float | None) -> str:
    return "" if value is None else repr(value)


def _chart_params(
    experiment: ExperimentModel, params: list[str], metric: str | None
) -> list[charts.Field]:
    """Numeric params that vary across most runs having the metric, most common first."""
    if metric is None:
        return []
    scores = experiment.column("metric", metric)
    every = None not in scores
    scored = None if every else [n for n, value in enumerate(scores) if value is not None]
    count = len(scores) if every else len(scored or [])
    chosen = []
    for index, key in enumerate(params):
        column = experiment.column("param", key)
        # Params repeat (max_depth 2 to 12...): each distinct text is read as a number once.
        texts = Counter(column if scored is None else [column[n] for n in scored])
        texts.pop(None, None)
        numbers = _numbers_of(list(texts))
        present = sum(texts[text] for text in numbers)
        distinct = set(numbers.values())
        if present >= max(2, count // 2) and len(distinct) > 1:
            field = charts.Field(
                f"p{index}",
                key,
                log=min(distinct) > 0 and max(distinct) / min(distinct) >= LOG_AXIS_SPAN,
                integer=all(map(float.is_integer, distinct)),
            )
            chosen.append((-present, key, field))
    return [field for _, _, field in sorted(chosen)]


def _numbers_of(texts: list[str]) -> dict[str, float]:
    """Each text that reads as a finite number, with its number. A column of numbers
    (100,000 distinct learning rates) is converted in one pass, not a call per text."""
    try:
        values = list(map(float, texts))
    except (TypeError, ValueError):  # some text is not a number: one by one
        found = {text: _as_number(text) for text in texts}
        return {text: number for text, number in found.items() if number is not None}
    return {text: value for text, value in zip(texts, values, strict=True) if math.isfinite(value)}


LOG_AXIS_SPAN = 100  # positive values whose largest is this many times the smallest: log axis
