"""Altair charts for the site, as Vega-Lite specs that read shared, named datasets.

A chart never embeds its data: it names a dataset (``runs`` or ``histories``)
that the page fills at load time from a shared data file, so a thousand runs
are written once, not once per chart. Params and metrics appear in the data
under short safe field names (``p0``, ``m0``) with their real names only as
titles and labels: a logged name can never reach a field path or an expression.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import altair as alt

MAX_SCATTERS = 6
WIDTH = 220


@dataclass(frozen=True)
class Field:
    """A param or metric under its safe field name."""

    name: str  # "p0", "m1"
    title: str  # what the user logged: "learning_rate"


def _named(dataset: str) -> alt.NamedData:
    return alt.NamedData(name=dataset)


def parallel_coordinates(params: list[Field], metric: Field) -> dict[str, Any] | None:
    """Each run a line across its numeric params, ending at the primary metric."""
    axes = [*params[:8], metric]
    if len(axes) < 2:
        return None
    labels = alt.InlineData(values=[{"key": field.name, "axis": field.title} for field in axes])
    chart = (
        alt.Chart(_named("runs"))
        .transform_window(index="count()")
        .transform_fold([field.name for field in axes], as_=["key", "value"])
        .transform_filter("isValid(datum.value) && isFinite(datum.value)")
        .transform_joinaggregate(low="min(value)", high="max(value)", groupby=["key"])
        .transform_calculate(
            position="datum.high == datum.low ? 0.5 "
            ": (datum.value - datum.low) / (datum.high - datum.low)"
        )
        .transform_lookup(
            lookup="key", from_=alt.LookupData(data=labels, key="key", fields=["axis"])
        )
        .mark_line(opacity=0.5)
        .encode(
            x=alt.X("axis:N", sort=[field.title for field in axes], title=None),
            y=alt.Y("position:Q", axis=None),
            color=alt.Color(
                f"{metric.name}:Q", title=metric.title, scale=alt.Scale(scheme="viridis")
            ),
            detail="index:N",
            tooltip=[
                alt.Tooltip("run:N", title="run"),
                alt.Tooltip("value:Q"),
                alt.Tooltip("axis:N"),
            ],
        )
        .properties(width=max(300, 110 * len(axes)), height=260)
    )
    return chart.to_dict()


def scatters(params: list[Field], metric: Field) -> dict[str, Any] | None:
    """The primary metric against each numeric param."""
    charts = [
        alt.Chart(_named("runs"))
        .mark_point(filled=True, opacity=0.7)
        .encode(
            x=alt.X(f"{param.name}:Q", title=param.title, scale=alt.Scale(zero=False)),
            y=alt.Y(f"{metric.name}:Q", title=metric.title, scale=alt.Scale(zero=False)),
            tooltip=[
                alt.Tooltip("run:N", title="run"),
                alt.Tooltip(f"{param.name}:Q", title=param.title),
                alt.Tooltip(f"{metric.name}:Q", title=metric.title),
            ],
        )
        .properties(width=WIDTH, height=WIDTH)
        for param in params[:MAX_SCATTERS]
    ]
    if not charts:
        return None
    return alt.hconcat(*charts).to_dict()


def heatmap(params: list[Field], metric: Field) -> dict[str, Any] | None:
    """Two params against the metric: binned, colored by the mean metric in each cell."""
    if len(params) < 2:
        return None
    first, second = params[0], params[1]
    chart = (
        alt.Chart(_named("runs"))
        .mark_rect()
        .encode(
            x=alt.X(f"{first.name}:Q", bin=alt.Bin(maxbins=12), title=first.title),
            y=alt.Y(f"{second.name}:Q", bin=alt.Bin(maxbins=12), title=second.title),
            color=alt.Color(
                f"mean({metric.name}):Q",
                title=f"mean {metric.title}",
                scale=alt.Scale(scheme="viridis"),
            ),
            tooltip=[
                alt.Tooltip(f"mean({metric.name}):Q", title=f"mean {metric.title}"),
                alt.Tooltip("count():Q", title="runs"),
            ],
        )
        .properties(width=300, height=260)
    )
    return chart.to_dict()


def histories() -> dict[str, Any]:
    """Metric histories of chosen runs, one line per run, one panel per metric."""
    chart = (
        alt.Chart(_named("histories"))
        .mark_line(point=False)
        .encode(
            x=alt.X("step:Q", title="step"),
            y=alt.Y("value:Q", title=None, scale=alt.Scale(zero=False)),
            color=alt.Color("color:N", scale=None, legend=None),
            detail="run:N",
            tooltip=["run:N", "metric:N", "step:Q", "value:Q"],
        )
        .properties(width=320, height=200)
        .facet(facet=alt.Facet("metric:N", title=None), columns=3)
        .resolve_scale(y="independent")
    )
    return chart.to_dict()
