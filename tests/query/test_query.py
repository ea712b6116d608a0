"""The filter grammar and order_by, on real runs."""

from __future__ import annotations

import math
from pathlib import Path

import pytest

import gitruns
from gitruns import MlflowClient
from gitruns.query.filters import InvalidFilter, parse_filter
from gitruns.query.search import parse_order_by


@pytest.fixture()
def runs(repo: Path) -> dict[str, str]:
    """Five runs with varied params, metrics and tags; returns name -> run id."""
    gitruns.set_experiment("grid")
    table = [
        ("a", {"model": "xgboost", "alpha": "0.1", "learning rate": "0.3"},
         {"rmse": 5.0, "f1 score": 0.8}, {"stage": "tuning"}),
        ("b", {"model": "xgboost", "alpha": "0.01"}, {"rmse": 6.5}, {"stage": "final"}),
        ("c", {"model": "lasso", "alpha": "1"}, {"rmse": 7.2}, {}),
        ("d", {"model": "Lasso", "alpha": "10"}, {"rmse": math.nan}, {"stage": "tuning"}),
        ("e", {"model": "ridge"}, {}, {"stage": "final's"}),
    ]  # fmt: skip
    ids = {}
    for name, params, metrics, tags in table:
        with gitruns.start_run(run_name=name, tags=tags) as run:
            gitruns.log_params(params)
            gitruns.log_metrics(metrics)
        ids[name] = run.info.run_id
    return ids


def names(filter_string: str = "", order_by: list[str] | None = None) -> list[str]:
    found = MlflowClient().search_runs("grid", filter_string, order_by=order_by)
    return [run.info.run_name for run in found]


@pytest.mark.parametrize(
    ("filter_string", "expected"),
    [
        ("metrics.rmse < 7", {"a", "b"}),
        ("metrics.rmse >= 6.5", {"b", "c"}),
        ("metric.rmse != 5", {"b", "c"}),
        ("params.model = 'xgboost'", {"a", "b"}),
        ('params.model = "lasso"', {"c"}),
        ("params.model != 'xgboost'", {"c", "d", "e"}),
        ("params.model LIKE 'las%'", {"c"}),
        ("params.model ILIKE 'las%'", {"c", "d"}),
        ("params.model LIKE '_asso'", {"c", "d"}),
        ("params.model IN ('lasso', 'ridge')", {"c", "e"}),
        ("params.model NOT IN ('lasso', 'ridge')", {"a", "b", "d"}),
        ("params.alpha > 0.5", {"c", "d"}),
        ("params.`learning rate` = '0.3'", {"a"}),
        ("metrics.`f1 score` > 0.5", {"a"}),
        ('metrics."f1 score" > 0.5', {"a"}),
        ("tags.stage = 'tuning' and metrics.rmse < 6", {"a"}),
        ("tags.stage = 'final''s'", {"e"}),
        ("tags.stage = 'final\\'s'", {"e"}),
        ("tags.stage IS NULL", {"c"}),
        ("tags.stage IS NOT NULL", {"a", "b", "d", "e"}),
        ("metrics.rmse IS NULL", {"e"}),
        ("attributes.run_name = 'c'", {"c"}),
        ("attributes.status = 'FINISHED'", {"a", "b", "c", "d", "e"}),
        ("attribute.status != 'FINISHED'", set()),
        ("tags.mlflow.runName LIKE '%b%'", {"b"}),
        ("params.model = 'lasso' OR params.model = 'ridge'", {"c", "e"}),
        ("(tags.stage = 'tuning' OR tags.stage = 'final') AND metrics.rmse < 7", {"a", "b"}),
        ("params.model = 'xgboost' AND (metrics.rmse < 5.5 OR tags.stage = 'final')", {"a", "b"}),
        ("metrics.rmse > 0 OR metrics.rmse <= 0", {"a", "b", "c"}),
    ],
)
def test_filters_select_the_right_runs(runs, filter_string: str, expected: set[str]):
    assert set(names(filter_string)) == expected


def test_run_id_and_time_attributes(runs):
    assert names(f"attributes.run_id = '{runs['c']}'") == ["c"]
    assert set(names(f"attributes.run_id IN ('{runs['a']}', '{runs['e']}')")) == {"a", "e"}
    start = MlflowClient().get_run(runs["c"]).info.start_time
    assert set(names(f"attributes.start_time >= {start}")) == {"c", "d", "e"}
    assert set(names(f"attributes.created < {start}")) == {"a", "b"}


def test_order_by_several_keys_with_missing_values_last(runs):
    assert names(order_by=["metrics.rmse ASC"]) == ["a", "b", "c", "d", "e"]
    assert names(order_by=["metrics.rmse DESC"]) == ["c", "b", "a", "d", "e"]
    # NaN sorts after real values, before missing ones
    assert names(order_by=["tags.stage DESC", "metrics.rmse DESC"]) == ["a", "d", "e", "b", "c"]
    # params order as text, as in MLflow: "0.1" > "0.01"
    assert names(order_by=["params.model", "params.alpha DESC"]) == ["d", "c", "e", "a", "b"]
    assert names() == ["e", "d", "c", "b", "a"]  # default: newest first
    assert names(order_by=["attributes.start_time"]) == ["a", "b", "c", "d", "e"]


@pytest.mark.parametrize(
    ("filter_string", "position", "expected"),
    [
        ("metrics.rmse <", 14, "expected a value"),
        ("metrics.rmse 5", 13, "expected a comparison"),
        ("metrics.rmse = 'x'", 15, "is a number"),
        ("foo.x = 1", 0, "not a kind of field"),
        ("rmse < 5", 0, "expected a field"),
        ("metrics.rmse < 5 AND", 20, "expected a field"),
        ("(metrics.rmse < 5", 17, "')' to close"),
        ("params.a < 'x'", 11, "compares numbers"),
        ("metrics.a LIKE '%'", 10, "LIKE compares text"),
        ("params.a IN 'x'", 12, "'(' to start"),
        ("params.a = 'x' params.b = 'y'", 15, "expected AND, OR"),
        ("attributes.color = 'red'", 0, "unknown attribute"),
        ("params.a = 'x' ; drop", 15, "unexpected character"),
    ],
)
def test_malformed_filters_say_where_and_what_was_expected(filter_string, position, expected):
    with pytest.raises(InvalidFilter) as raised:
        parse_filter(filter_string)
    message = str(raised.value)
    assert f"position {position}" in message and expected in message
    assert filter_string in message and "\n  " + " " * position + "^" in message


def test_malformed_order_by():
    for clause in ("metrics.rmse SIDEWAYS", "rmse", "metrics.rmse ASC extra"):
        with pytest.raises(InvalidFilter):
            parse_order_by([clause])


def test_a_malformed_filter_is_a_gitruns_error(runs):
    with pytest.raises(gitruns.MlflowException, match="position"):
        MlflowClient().search_runs("grid", "metrics.rmse <<< 3")
