"""Hyperopt on Spark: 32 short trials, one after another vs SparkTrials(parallelism=2).

    python benchmarks/bench_spark.py              # needs pyspark and Java
    python benchmarks/bench_spark.py --trials 8

Each trial fits a small scikit-learn model (about 0.3 s) inside its own
``start_run()`` and logs a param, a three-step metric, a tag and a small artifact,
as the course's objective does. The same search runs with ``Trials`` (in this
process) and with ``SparkTrials`` on ``local[2]`` (two executors on this
machine's two cores); every trial becomes a child run either way. Printed: wall
time of each, the speed-up, and Spark's overhead per trial (its wall time beyond
the sequential time split over two executors).
"""

from __future__ import annotations

import argparse
import os
import sys
import time

from common import add_workspace_option, make_repository, new_workspace


def fit(params) -> float:
    """A trial's work: a small random forest (about 0.15 s); its training error."""
    import numpy as np
    from sklearn.ensemble import RandomForestRegressor

    rng = np.random.default_rng(0)
    x = rng.normal(size=(2000, 8))
    y = x @ np.arange(8) + rng.normal(size=2000)
    model = RandomForestRegressor(
        n_estimators=20, max_depth=int(params["max_depth"]), random_state=0, n_jobs=1
    ).fit(x, y)
    return float(np.mean((model.predict(x) - y) ** 2))


def objective(params):
    """The course's objective: the work inside its own run, a few things logged."""
    import gitruns as mlflow

    with mlflow.start_run():
        mlflow.set_tag("model", "random-forest")
        loss = fit(params)
        for step in range(3):
            mlflow.log_metric("mse", loss * (3 - step), step=step)
        mlflow.log_text(f"max_depth={params['max_depth']}", "notes.txt")
    return {"loss": loss, "status": "ok"}


def plain_objective(params):
    """The same work with no logging: what SparkTrials costs without gitruns."""
    return {"loss": fit(params), "status": "ok"}


def timed(fmin, fn, trials, count: int) -> float:
    """Seconds one search of ``count`` trials takes."""
    from hyperopt import hp, tpe

    started = time.perf_counter()
    fmin(
        fn,
        {"max_depth": hp.quniform("max_depth", 2, 12, 1)},
        algo=tpe.suggest,
        max_evals=count,
        trials=trials,
        show_progressbar=False,
    )
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--trials", type=int, default=32)
    add_workspace_option(parser)
    args = parser.parse_args()
    folder = new_workspace(args.workspace, "spark-")
    make_repository(folder)
    os.chdir(folder)
    os.environ["PYSPARK_PYTHON"] = sys.executable

    import hyperopt
    from hyperopt import Trials
    from hyperopt.spark import SparkTrials
    from pyspark.sql import SparkSession

    import gitruns
    from gitruns.hyperopt import fmin

    gitruns.set_experiment("bench-spark")
    sequential = timed(fmin, objective, Trials(), args.trials)
    print(f"{args.trials} trials one after another (Trials): {sequential:.1f} s")

    started = time.perf_counter()
    spark = (
        SparkSession.builder.master("local[2]")
        .config("spark.ui.enabled", "false")
        .config("spark.driver.host", "127.0.0.1")
        .getOrCreate()
    )
    spark.sparkContext.setLogLevel("ERROR")
    startup = time.perf_counter() - started
    parallel = timed(fmin, objective, SparkTrials(parallelism=2, spark_session=spark), args.trials)
    overhead = (parallel - sequential / 2) / args.trials
    print(
        f"{args.trials} trials on Spark, local[2], parallelism 2: {parallel:.1f} s "
        f"(Spark's start {startup:.1f} s not included)"
    )
    print(
        f"speed-up {sequential / parallel:.2f}x; Spark's overhead {overhead * 1000:.0f} ms a "
        f"trial beyond the sequential time split over two executors"
    )
    bare = timed(
        hyperopt.fmin, plain_objective, SparkTrials(parallelism=2, spark_session=spark), args.trials
    )
    print(
        f"the same trials on Spark without gitruns (plain hyperopt.fmin, no logging): "
        f"{bare:.1f} s; gitruns' share: {(parallel - bare) / args.trials * 1000:.0f} ms a "
        "trial (its run logged on the executor, sent back and written here)"
    )
    spark.stop()


if __name__ == "__main__":
    main()
