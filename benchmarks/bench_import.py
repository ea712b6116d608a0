"""Importing MLflow runs: 2,000 runs x 5 metrics x 100 steps from a sqlite store.

Run it with the Python of a virtualenv holding MLflow and gitruns
(``pip install -e '.[mlflow]'``)::

    ~/venvs/mlflow/bin/python benchmarks/bench_import.py            # 2,000 runs
    ~/venvs/mlflow/bin/python benchmarks/bench_import.py --runs 200

It writes the store with MLflow's client, then times, each in a fresh process:
``gitruns import mlflow sqlite:///…`` into a new git repository; the same import
again (nothing new: what a scheduled sync costs); and, as MLflow's figure on the
same work, copying the runs into a new sqlite store with MLflow's client (what a
move between MLflow stores costs: read each run and its histories, write them).
"""

from __future__ import annotations

import argparse
import random
import subprocess
import sys
import time
from pathlib import Path

from common import add_workspace_option, make_repository, new_workspace

METRICS = ("rmse", "mae", "r2", "train-rmse", "lr")
STEPS = 100


def write_store(database: Path, count: int) -> float:
    """``count`` runs as a tuning job logs them, through MLflow's client; seconds taken."""
    import mlflow
    from mlflow.entities import Metric, Param

    client = mlflow.MlflowClient(f"sqlite:///{database}")
    experiment_id = client.create_experiment("bench")
    rng = random.Random(0)
    started = time.perf_counter()
    for index in range(count):
        run = client.create_run(experiment_id, run_name=f"trial-{index}")
        params = [
            Param("max_depth", str(rng.randint(2, 12))),
            Param("learning_rate", str(round(rng.uniform(0.01, 0.5), 4))),
            Param("model", rng.choice(["xgboost", "lightgbm", "ridge"])),
            Param("seed", str(index)),
        ]
        now = int(time.time() * 1000)
        metrics = [
            Metric(key, rng.random() * 10, now + step, step)
            for step in range(STEPS)
            for key in METRICS
        ]
        client.log_batch(run.info.run_id, metrics=metrics, params=params)
        client.set_terminated(run.info.run_id)
    return time.perf_counter() - started


COPY_WITH_MLFLOW = """
import sys, time
import mlflow
from mlflow.entities import ViewType
source = mlflow.MlflowClient(f"sqlite:///{sys.argv[1]}")
target = mlflow.MlflowClient(f"sqlite:///{sys.argv[2]}")
started = time.perf_counter()
experiment = source.get_experiment_by_name("bench")
new_experiment = target.create_experiment("bench")
token = None
while True:
    page = source.search_runs([experiment.experiment_id], run_view_type=ViewType.ALL,
                              max_results=1000, page_token=token)
    for run in page:
        copy = target.create_run(new_experiment, start_time=run.info.start_time,
                                 tags=run.data.tags, run_name=run.info.run_name)
        metrics = [m for key in run.data.metrics
                   for m in source.get_metric_history(run.info.run_id, key)]
        params = [mlflow.entities.Param(k, v) for k, v in run.data.params.items()]
        target.log_batch(copy.info.run_id, metrics=metrics[:1000], params=params)
        for start in range(1000, len(metrics), 1000):
            target.log_batch(copy.info.run_id, metrics=metrics[start:start + 1000])
        target.set_terminated(copy.info.run_id, run.info.status, run.info.end_time)
    token = page.token
    if not token:
        break
print(time.perf_counter() - started)
"""


def timed(args: list[str], cwd: Path) -> tuple[float, str]:
    started = time.perf_counter()
    result = subprocess.run(args, cwd=cwd, capture_output=True, text=True, check=False)
    elapsed = time.perf_counter() - started
    if result.returncode != 0:
        raise SystemExit(f"{' '.join(args)} failed:\n{result.stderr[-3000:]}")
    return elapsed, result.stdout


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=2000)
    parser.add_argument("--no-mlflow-copy", action="store_true", help="skip MLflow's figure")
    add_workspace_option(parser)
    args = parser.parse_args()
    folder = new_workspace(args.workspace, "import-")
    database = folder / "mlflow.db"
    points = args.runs * len(METRICS) * STEPS
    print(
        f"Writing {args.runs:,} runs x {len(METRICS)} metrics x {STEPS} steps "
        f"({points:,} values) with MLflow's client...",
        flush=True,
    )
    written = write_store(database, args.runs)
    print(f"  written in {written:.1f} s")

    project = folder / "project"
    project.mkdir()
    make_repository(project)
    command = [sys.executable, "-m", "gitruns", "import", "mlflow", f"sqlite:///{database}"]
    seconds, output = timed(command, project)
    summary = next(line for line in output.splitlines() if "runs imported" in line)
    print(
        f"gitruns import mlflow: {seconds:.1f} s ({args.runs / seconds:.0f} runs/s, "
        f"{points / seconds:,.0f} values/s)\n  {summary}"
    )
    again, output = timed(command, project)
    summary = next(line for line in output.splitlines() if "runs imported" in line)
    print(f"gitruns import mlflow, again (nothing new): {again:.1f} s\n  {summary}")

    if not args.no_mlflow_copy:
        copy = folder / "copy.db"
        _, output = timed(
            [sys.executable, "-c", COPY_WITH_MLFLOW, str(database), str(copy)], folder
        )
        theirs = float(output.strip().splitlines()[-1])
        print(
            f"MLflow's client copying the same runs into a new sqlite store: {theirs:.1f} s "
            f"(gitruns import is {theirs / seconds:.1f}x as fast)"
        )


if __name__ == "__main__":
    main()
