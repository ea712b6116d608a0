"""``search_runs``, MLflow's fluent search: runs as a pandas frame (MLflow's columns) or
a list of runs.

A module of its own: a script that reads runs back into a frame loads the search index
and pandas, not the entities, the writer or the client (``benchmarks/bench_readback.py``
times it).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from gitruns.exceptions import GitrunsError, InvalidValue
from gitruns.listing import ViewType, page_of
from gitruns.store.names import public_experiment_id
from gitruns.store.record import ARTIFACTS_DIR
from gitruns.workspace import Workspace

if TYPE_CHECKING:
    import pandas

    from gitruns.query.search import Hit
    from gitruns.store.index import ExperimentIndex


def search_runs(
    experiment_ids: str | Sequence[str] | None = None,
    filter_string: str = "",
    run_view_type: int = ViewType.ACTIVE_ONLY,
    max_results: int = 100_000,
    order_by: Sequence[str] | None = None,
    output_format: str = "pandas",
    search_all_experiments: bool = False,
    experiment_names: Sequence[str] | None = None,
) -> Any:
    """Runs matching a filter, as a pandas DataFrame (MLflow's columns) or a list of runs.

    Without experiment ids or names, searches the active experiment (every
    experiment with ``search_all_experiments=True``).

    Example::

        best = gitruns.search_runs(
            filter_string="metrics.rmse < 7 AND params.model = 'xgboost'",
            order_by=["metrics.rmse ASC"],
        )
    """
    if output_format not in ("pandas", "list"):
        raise InvalidValue(f"output_format {output_format!r} is neither 'pandas' nor 'list'.")
    workspace = Workspace.current()
    if experiment_names:
        ids = []
        for name in experiment_names:
            found = workspace.find_experiment(name)
            if found is None:
                raise GitrunsError(
                    f"no experiment named {name!r}. List them with 'gitruns experiments list'.",
                    error_code="RESOURCE_DOES_NOT_EXIST",
                )
            ids.append(found[0])
        experiment_ids = ids
    elif experiment_ids is None:
        experiment_ids = (
            workspace.experiment_ids()
            if search_all_experiments
            else [workspace.active_experiment()]
        )
    if output_format == "list":
        # The entities and the client are loaded only for a list: a frame needs neither.
        from gitruns.client import MlflowClient

        page = MlflowClient().search_runs(
            experiment_ids, filter_string, run_view_type, max_results, order_by
        )
        return list(page)
    stages = ViewType.stages(run_view_type)
    hits = workspace.search(experiment_ids, filter_string, order_by, stages)
    return runs_frame(page_of(hits, max_results, None))


# A page under this share of its experiment's runs is read from their entries (a few
# lines of the index); a larger one column by column.
ENTRY_PAGE_SHARE = 10
FRAME_ATTRIBUTES = ("status", "start_time", "end_time")


def runs_frame(hits: Sequence[Hit]) -> pandas.DataFrame:
    """MLflow's ``search_runs`` frame for search hits, read from the search index (no
    run's record is read): run_id, experiment_id, status, artifact_uri, start_time,
    end_time, then ``metrics.*``, ``params.*`` and ``tags.*`` for the keys the hits' runs
    have, each group sorted by name. Values a run lacks are what MLflow gives: NaN for a
    metric, None for a param or tag (which pandas 3's text columns show as NaN)."""
    import numpy
    import pandas as pd

    # Consecutive hits in one experiment's index, read together.
    groups: list[tuple[ExperimentIndex, list[int]]] = []
    for index, position in hits:
        if not groups or groups[-1][0] is not index:
            groups.append((index, []))
        groups[-1][1].append(position)
    parts = [(positions, _fields_at(index, positions)) for index, positions in groups]

    def gather(field: str) -> list[Any]:
        values: list[Any] = []
        for positions, found in parts:
            values += found.get(field) or [None] * len(positions)
        return values

    frame: dict[str, Any] = {"run_id": [], "experiment_id": []}
    uris: list[str] = []
    for index, positions in groups:
        base = Path(index.experiment_dir).absolute().as_uri()
        names = [index.names[p] for p in positions]
        frame["run_id"] += names
        frame["experiment_id"] += [public_experiment_id(index.experiment_id)] * len(positions)
        # A run's folder is named by its id: 32 hex digits, nothing to quote in a URI.
        uris += [f"{base}/{name}/{ARTIFACTS_DIR}" for name in names]
    frame["status"] = gather("status")
    frame["artifact_uri"] = uris
    for name in ("start_time", "end_time"):  # milliseconds, None where not ended
        frame[name] = _utc_times(gather(name))
    keyed = {name for _, found in parts for name in found if "." in name}
    for prefix in ("metrics.", "params.", "tags."):
        for name in sorted(name for name in keyed if name.startswith(prefix)):
            # Metrics are a float column: NaN where a run lacks one, not None. Params and
            # tags go in as object arrays, which pandas takes without converting a list.
            frame[name] = numpy.array(gather(name), float if prefix == "metrics." else object)
    return pd.DataFrame(frame, copy=False)


def _fields_at(index: ExperimentIndex, positions: list[int]) -> dict[str, list[Any]]:
    """The frame's attributes and each ``metrics.``, ``params.`` and ``tags.`` field some
    run at ``positions`` has, a value per run (None where a run lacks it)."""
    count = len(positions)
    found: dict[str, list[Any]] = {}
    if count * ENTRY_PAGE_SHARE < len(index.names):  # a page of a large experiment
        for at, item in enumerate(index.entries_at(positions)):
            if item is None:
                continue
            entry = item[0]
            for name in FRAME_ATTRIBUTES:
                found.setdefault(name, [None] * count)[at] = getattr(entry, name)
            keyed: tuple[tuple[str, dict[str, Any]], ...] = (
                ("metrics.", entry.metrics),
                ("params.", entry.params),
                ("tags.", entry.tags),
            )
            for prefix, pairs in keyed:
                for key, value in pairs.items():
                    found.setdefault(prefix + key, [None] * count)[at] = value
        return found
    for name in FRAME_ATTRIBUTES:
        column = index.column("attribute", name)
        found[name] = list(map(column.__getitem__, positions)) if column else [None] * count
    for kind, prefix in (("metric", "metrics."), ("param", "params."), ("tag", "tags.")):
        for key in index.keys(kind):
            column = index.column(kind, key)
            values = list(map(column.__getitem__, positions)) if column else []
            if any(value is not None for value in values):
                found[prefix + key] = values
    return found


def _utc_times(milliseconds: list[Any]) -> Any:
    """Times in milliseconds as the UTC column ``pandas.to_datetime(..., unit="ms",
    utc=True)`` gives (microseconds from pandas 3, nanoseconds before), NaT for None and
    for a time the column cannot hold. Built from integers: ``to_datetime`` takes 0.9 ms
    for the two columns of a fresh process's first frame, this 0.2 ms."""
    import numpy
    import pandas as pd

    pandas_3 = int(pd.__version__.split(".")[0]) >= 3
    unit, per_millisecond = ("us", 1_000) if pandas_3 else ("ns", 1_000_000)
    values = numpy.array(milliseconds, float)
    missing = numpy.isnan(values) | (
        numpy.abs(values) >= numpy.iinfo(numpy.int64).max / per_millisecond
    )
    ticks = numpy.where(missing, 0, values).astype(numpy.int64) * per_millisecond
    ticks[missing] = numpy.iinfo(numpy.int64).min  # NaT
    return pd.array(ticks.view(f"M8[{unit}]"), dtype=pd.DatetimeTZDtype(unit, "UTC"))
