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

# The charts' specs: a change here bumps it, so a build makes every page that embeds one
# again (the pages' own inputs did not change).
CHARTS_FORMAT = "3"
# Tick labels never run into each other ("0.79300.7935"): shortest form of each number,
# labels that would touch are dropped, a few pixels kept between the rest.
READABLE_LABELS: dict[str, Any] = {"labelOverlap": "greedy", "labelSeparation": 6}
# With no precision, Vega gives ticks the precision of their step ("~g" at a step of 5
# labels 100 "1e+2"); six significant digits, trailing zeros trimmed, read as written.
AXIS_NUMBERS = ".6~g"
MAX_SCATTERS = 6
SCATTERS_PER_ROW = 4  # each WIDTH plus its axis: four fit a 1,280 px page
WIDTH = 220


@dataclass(frozen=True)
class Field:
    """A param or metric under its safe field name, and how its axis reads best."""

    name: str  # "p0", "m1"
    title: str  # what the user logged: "learning_rate"
    log: bool = False  # positive values spanning decades: a log axis
    integer: bool = False  # whole numbers: labelled as integers

    @property
    def scale(self) -> alt.Scale:
        return alt.Scale(type="log") if self.log else alt.Scale(zero=False)

    @property
    def axis(self) -> alt.Axis:
        if self.integer:
            return alt.Axis(format="d", tickMinStep=1, **READABLE_LABELS)
        return alt.Axis(format=AXIS_NUMBERS, **READABLE_LABELS)


RUN_COLOR = alt.Color("color:N", scale=None, legend=None)  # each run's own colour
# Parallel coordinates show this many axes until the reader chooses others.
DEFAULT_AXES = 6


def _spec(chart: alt.TopLevelMixin) -> dict[str, Any]:
    """The chart's Vega-Lite spec. Not validated against the schema on every build (a
    quarter of a rebuild's time): the charts are fixed shapes, drawn by the tests."""
    return chart.to_dict(validate=False)


def _named(dataset: str) -> alt.NamedData:
    return alt.NamedData(name=dataset)


def parallel_coordinates(params: list[Field], metric: Field) -> dict[str, Any] | None:
    """Each run a line across its numeric params, ending at the primary metric, in the run's
    colour. Every axis is labelled with its lowest, middle and highest value (log axes in
    powers of ten, integers as integers); the axes shown are the ``axes`` param, which the
    page sets from the reader's choice (the first few params and the metric by default)."""
    axes = [*params, metric]
    if len(axes) < 2:
        return None
    shown = [field.name for field in params[:DEFAULT_AXES]] + [metric.name]
    labels = alt.InlineData(
        values=[{"key": f.name, "axis": f.title, "log": f.log, "integer": f.integer} for f in axes]
    )
    chosen = alt.param(name="axes", value=shown)
    order = [field.title for field in axes]
    base = (
        alt.Chart(_named("runs"))
        .transform_fold([field.name for field in axes], as_=["key", "value"])
        .transform_filter("isValid(datum.value) && isFinite(datum.value)")
        .transform_filter("indexof(axes, datum.key) >= 0")
        .transform_lookup(
            lookup="key",
            from_=alt.LookupData(data=labels, key="key", fields=["axis", "log", "integer"]),
        )
        .transform_filter("!datum.log || datum.value > 0")
        .transform_calculate(scaled="datum.log ? log(datum.value) / LN10 : datum.value")
        .transform_joinaggregate(low="min(scaled)", high="max(scaled)", groupby=["key"])
    )
    x = alt.X("axis:N", sort=order, title=None, axis=alt.Axis(labelAngle=0, orient="top"))
    lines = (
        base.transform_calculate(position=_position("scaled"))
        .mark_line(opacity=0.6)
        .encode(
            x=x,
            y=alt.Y("position:Q", axis=None, scale=alt.Scale(domain=[0, 1])),
            color=RUN_COLOR,
            detail="id:N",
            tooltip=[alt.Tooltip("run:N"), alt.Tooltip("axis:N"), alt.Tooltip("value:Q")],
        )
    )
    rules = base.mark_rule(color="#8a94a6").encode(x=x)
    ticks = (
        base.transform_aggregate(
            low="min(low)", high="max(high)", groupby=["key", "axis", "log", "integer"]
        )
        .transform_calculate(middle="(datum.low + datum.high) / 2")
        .transform_fold(["low", "middle", "high"], as_=["tick", "at"])
        .transform_calculate(
            position=_position("at"),
            shown="datum.log ? pow(10, datum.at) : datum.at",
            label="datum.integer && !datum.log ? format(round(datum.shown), 'd') "
            ": format(datum.shown, '.3~g')",
        )
        .mark_text(align="left", dx=4, fontSize=10, color="#5b6575")
        .encode(x=x, y=alt.Y("position:Q", axis=None), text="label:N")
    )
    chart = (
        alt.layer(rules, lines, ticks)
        .add_params(chosen)
        .properties(width=max(300, 110 * min(len(axes), DEFAULT_AXES + 1)), height=260)
    )
    return _spec(chart)


def _position(field: str) -> str:
    """Where a value sits on its axis, from 0 (its lowest) to 1 (its highest)."""
    return f"datum.high == datum.low ? 0.5 : (datum.{field} - datum.low) / (datum.high - datum.low)"


def metric_overview(metrics: list[Field]) -> dict[str, Any] | None:
    """Every metric's last value across the runs shown: a row of points per metric, each
    run in its colour, each metric on its own scale."""
    if not metrics:
        return None
    names = alt.InlineData(values=[{"key": f.name, "metric": f.title} for f in metrics])
    chart = (
        alt.Chart(_named("runs"))
        .transform_fold([field.name for field in metrics], as_=["key", "value"])
        .transform_filter("isValid(datum.value) && isFinite(datum.value)")
        .transform_lookup(
            lookup="key", from_=alt.LookupData(data=names, key="key", fields=["metric"])
        )
        .mark_point(filled=True, size=60, opacity=0.8)
        .encode(
            x=alt.X(
                "value:Q",
                title=None,
                scale=alt.Scale(zero=False),
                axis=alt.Axis(format=AXIS_NUMBERS, **READABLE_LABELS),
            ),
            color=RUN_COLOR,
            tooltip=[alt.Tooltip("run:N"), alt.Tooltip("metric:N"), alt.Tooltip("value:Q")],
        )
        .properties(width=520, height=28)
        .facet(
            row=alt.Row("metric:N", title=None, header=alt.Header(labelAngle=0, labelAlign="left"))
        )
        .resolve_scale(x="independent")
    )
    return _spec(chart)


def scatters(params: list[Field], metric: Field) -> dict[str, Any] | None:
    """The primary metric against each numeric param."""
    charts = [
        alt.Chart(_named("runs"))
        .transform_filter(f"!{str(param.log).lower()} || datum['{param.name}'] > 0")
        .mark_point(filled=True, opacity=0.8, size=50)
        .encode(
            x=alt.X(f"{param.name}:Q", title=param.title, scale=param.scale, axis=param.axis),
            y=alt.Y(
                f"{metric.name}:Q",
                title=metric.title,
                scale=alt.Scale(zero=False),
                axis=alt.Axis(format=AXIS_NUMBERS, **READABLE_LABELS),
            ),
            color=RUN_COLOR,
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
    # In rows of SCATTERS_PER_ROW: six side by side made a 1,400 px screen scroll sideways.
    return _spec(alt.concat(*charts, columns=SCATTERS_PER_ROW))


def heatmap(params: list[Field], metric: Field) -> dict[str, Any] | None:
    """Two params against the metric: binned (in decades for a log param), colored by the
    mean metric in each cell."""
    if len(params) < 2:
        return None
    first, second = params[0], params[1]
    chart = alt.Chart(_named("runs"))
    for field in (first, second):
        if field.log:  # bins of equal width in log space, labelled in the param's own units
            chart = chart.transform_filter(f"datum['{field.name}'] > 0").transform_calculate(
                **{f"{field.name}_log": f"log(datum['{field.name}']) / LN10"}
            )

    def binned(field: Field, channel: type[alt.X] | type[alt.Y]) -> alt.X | alt.Y:
        if field.log:
            axis = alt.Axis(labelExpr="format(pow(10, datum.value), '.2~r')")
            return channel(
                f"{field.name}_log:Q", bin=alt.Bin(maxbins=12), title=field.title, axis=axis
            )
        return channel(
            f"{field.name}:Q", bin=alt.Bin(maxbins=12), title=field.title, axis=field.axis
        )

    chart = (
        chart.mark_rect()
        .encode(
            x=binned(first, alt.X),
            y=binned(second, alt.Y),
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
    return _spec(chart)


def histories() -> dict[str, Any]:
    """Metric histories of chosen runs, one line per run, one panel per metric."""
    chart = (
        alt.Chart(_named("histories"))
        .mark_line(point=False)
        .encode(
            x=alt.X("step:Q", title="step"),
            y=alt.Y(
                "value:Q",
                title=None,
                scale=alt.Scale(zero=False),
                axis=alt.Axis(format=AXIS_NUMBERS, **READABLE_LABELS),
            ),
            color=alt.Color("color:N", scale=None, legend=None),
            detail="run:N",
            tooltip=["run:N", "metric:N", "step:Q", "value:Q"],
        )
        .properties(width=320, height=200)
        .add_params(alt.selection_interval(bind="scales"))  # drag to pan, wheel to zoom
        .facet(facet=alt.Facet("metric:N", title=None), columns=3)
        .resolve_scale(y="independent")
    )
    return _spec(chart)
