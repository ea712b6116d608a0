"""Hyperopt trials on Spark (pyspark in local mode, two executor threads): each trial's
run comes back from its executor with its result and is written as a child run."""

from __future__ import annotations

import os
import shutil
import sys
import time
from pathlib import Path

import pytest

import gitruns as mlflow
from gitruns import MlflowClient

pyspark = pytest.importorskip("pyspark", reason="pyspark is not installed (pip install pyspark)")
pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(shutil.which("java") is None, reason="Spark needs Java (openjdk-17)"),
]


@pytest.fixture(scope="module")
def spark():
    from pyspark.sql import SparkSession

    os.environ["PYSPARK_PYTHON"] = sys.executable  # executors run this Python, with gitruns
    session = (
        SparkSession.builder.master("local[2]")
        .appName("gitruns-tests")
        .config("spark.ui.enabled", "false")
        .config("spark.driver.host", "127.0.0.1")
        .getOrCreate()
    )
    session.sparkContext.setLogLevel("ERROR")
    yield session
    session.stop()


def objective(params):
    """The course's pattern: the objective opens its own run."""
    x = params["x"]
    with mlflow.start_run():
        mlflow.set_tag("model", "quadratic")
        mlflow.log_param("pid", os.getpid())
        if x > 3:
            raise ValueError(f"x={x:.3f} is out of range")
        for step in range(3):
            mlflow.log_metric("score", (x - 1) ** 2 + step, step=step)
        mlflow.log_text(f"x={x}", "notes/x.txt")
        return {"loss": (x - 1) ** 2, "status": "ok"}


def test_trials_on_spark_come_back_as_child_runs(repo: Path, spark):
    from hyperopt import hp, tpe
    from hyperopt.spark import SparkTrials

    from gitruns.hyperopt import fmin

    mlflow.set_experiment("spark-search")
    with mlflow.start_run(run_name="search") as parent:
        fmin(
            objective,
            {"x": hp.uniform("x", -5, 5)},
            algo=tpe.suggest,
            max_evals=8,
            trials=SparkTrials(parallelism=2, spark_session=spark),
            rstate=__import__("numpy").random.default_rng(3),
        )
    client = MlflowClient()
    children = client.search_runs(
        ["spark-search"], f"tags.mlflow.parentRunId = '{parent.info.run_id}'"
    )
    assert len(children) == 8
    finished = [run for run in children if run.info.status == "FINISHED"]
    failed = [run for run in children if run.info.status == "FAILED"]
    assert finished and failed and len(finished) + len(failed) == 8
    for run in finished:
        x = float(run.data.params["x"])
        assert run.data.tags["model"] == "quadratic"
        assert int(run.data.params["pid"]) != os.getpid()  # logged on an executor
        history = client.get_metric_history(run.info.run_id, "score")
        assert [(m.step, m.value) for m in history] == [
            (step, (x - 1) ** 2 + step) for step in range(3)
        ]
        assert run.data.metrics["loss"] == pytest.approx((x - 1) ** 2)
        assert mlflow.artifacts.load_text(f"runs:/{run.info.run_id}/notes/x.txt") == f"x={x}"
    for run in failed:
        record, _ = client.get_run_record(run.info.run_id)
        assert record.error["type"] == "ValueError" and "out of range" in record.error["message"]
    searched = client.get_run(parent.info.run_id)
    best = min(finished, key=lambda run: run.data.metrics["loss"])
    assert searched.data.tags["hyperopt.best_run_id"] == best.info.run_id
    assert searched.data.metrics["best_loss"] == best.data.metrics["loss"]
    assert list((repo / "runs").glob("*/*/metrics.log")) == []  # every run ended and folded


def slow_objective(params):
    with mlflow.start_run():
        mlflow.log_param("started", "yes")
        time.sleep(60)
    return 0.0


def test_a_cancelled_trial_is_a_killed_child_run(repo: Path, spark):
    from hyperopt import hp, tpe
    from hyperopt.spark import SparkTrials

    from gitruns.hyperopt import fmin

    mlflow.set_experiment("spark-timeout")
    started = time.monotonic()
    with (
        mlflow.start_run(run_name="search") as parent,
        pytest.raises(Exception, match="no evaluation tasks"),
    ):
        fmin(
            slow_objective,
            {"x": hp.uniform("x", 0, 1)},
            algo=tpe.suggest,
            max_evals=1,
            trials=SparkTrials(parallelism=1, timeout=3, spark_session=spark),
        )
    assert time.monotonic() - started < 45
    (child,) = MlflowClient().search_runs(
        ["spark-timeout"], f"tags.mlflow.parentRunId = '{parent.info.run_id}'"
    )
    assert child.info.status == "KILLED"


def objective_with_a_refused_artifact(params):
    """A trial that leaves a file the driver refuses as an artifact name (a backslash):
    the executor's folder holds it, the driver's run cannot."""
    from urllib.parse import unquote, urlsplit

    x = params["x"]
    with mlflow.start_run():
        mlflow.log_metric("score", x)
        if x > 0:
            folder = Path(unquote(urlsplit(mlflow.get_artifact_uri()).path))
            folder.mkdir(parents=True, exist_ok=True)
            (folder / "bad\\name.txt").write_text("refused")
        return {"loss": x * x, "status": "ok"}


def test_one_refused_trial_is_a_failed_run_and_costs_no_other(repo: Path, spark):
    from hyperopt import hp, tpe
    from hyperopt.spark import SparkTrials

    from gitruns.hyperopt import fmin

    mlflow.set_experiment("spark-refused")
    with mlflow.start_run(run_name="search") as parent:
        fmin(
            objective_with_a_refused_artifact,
            {"x": hp.uniform("x", -1, 1)},
            algo=tpe.suggest,
            max_evals=6,
            trials=SparkTrials(parallelism=2, spark_session=spark),
            rstate=__import__("numpy").random.default_rng(5),
        )
    client = MlflowClient()
    children = client.search_runs(
        ["spark-refused"], f"tags.mlflow.parentRunId = '{parent.info.run_id}'"
    )
    assert len(children) == 6  # every trial written
    refused = [run for run in children if float(run.data.params["x"]) > 0]
    kept = [run for run in children if float(run.data.params["x"]) <= 0]
    assert refused and kept
    for run in refused:
        record, _ = client.get_run_record(run.info.run_id)
        assert run.info.status == "FAILED"
        assert record.error["type"] == "RefusedTrialResult"
        assert "backslash" in record.error["message"]
    for run in kept:
        assert run.info.status == "FINISHED" and "score" in run.data.metrics
