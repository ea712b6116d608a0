"""Reading one metric's history of a wide run, in gitruns and (where installed) MLflow.

The run logs ``--metrics`` metrics (2,000 by default), each at its own step, as a
search over a schedule or a per-feature score does; then a fresh process asks for one
metric's history (``MlflowClient().get_metric_history``), for ``--reads`` keys spread
over the run, and the median call is printed. MLflow is measured on its sqlite store
in the same run, from a side virtualenv (``--mlflow-python`` or ``$MLFLOW_PYTHON``).

    python benchmarks/bench_history.py --mlflow-python ~/venvs/mlflow/bin/python
"""

from __future__ import annotations

import argparse
import importlib
import json
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

from common import BENCH_HOME, add_mlflow_python_option, make_repository, new_workspace


def tracking_uri(library: str) -> str | None:
    return f"sqlite:///{Path.cwd() / 'mlflow.db'}" if library == "mlflow" else None


def log_wide_run(library: str, metrics: int) -> str:
    tracking = importlib.import_module(library)
    if library == "mlflow":
        tracking.set_tracking_uri(tracking_uri(library))
    tracking.set_experiment("bench")
    with tracking.start_run() as run:
        for step in range(metrics):
            tracking.log_metric(f"metric_{step}", step / 7, step=step)
    return str(run.info.run_id)


def read_histories(library: str, run_id: str, metrics: int, reads: int) -> dict[str, float]:
    module = importlib.import_module(library)
    client = (
        module.MlflowClient(tracking_uri(library)) if library == "mlflow" else module.MlflowClient()
    )
    keys = [f"metric_{index * metrics // reads}" for index in range(reads)]
    client.get_metric_history(run_id, keys[0])  # warm: imports, first open
    durations = []
    for key in keys:
        started = time.perf_counter()
        history = client.get_metric_history(run_id, key)
        durations.append(time.perf_counter() - started)
        assert len(history) == 1, (key, history)
    return {"median_ms": statistics.median(durations) * 1000, "max_ms": max(durations) * 1000}


def measure(library: str, python: str, metrics: int, reads: int) -> dict[str, float] | None:
    folder = new_workspace(BENCH_HOME, f"bench-history-{library}-")
    try:
        make_repository(folder)
        base = [python, __file__, "--library", library, "--metrics", str(metrics)]
        logged = subprocess.run(
            [*base, "--step", "log"], cwd=folder, capture_output=True, text=True
        )
        if logged.returncode != 0:
            print(f"{library} failed to log:\n{logged.stderr[-2000:]}", file=sys.stderr)
            return None
        run_id = logged.stdout.strip().splitlines()[-1]
        read = subprocess.run(
            [*base, "--step", "read", "--run-id", run_id, "--reads", str(reads)],
            cwd=folder,
            capture_output=True,
            text=True,
        )
        if read.returncode != 0:
            print(f"{library} failed to read:\n{read.stderr[-2000:]}", file=sys.stderr)
            return None
        return json.loads(read.stdout.strip().splitlines()[-1])
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--metrics", type=int, default=2000, help="metrics in the run")
    parser.add_argument("--reads", type=int, default=20, help="histories read")
    add_mlflow_python_option(parser)
    parser.add_argument("--library", choices=["gitruns", "mlflow"], help=argparse.SUPPRESS)
    parser.add_argument("--step", choices=["log", "read"], help=argparse.SUPPRESS)
    parser.add_argument("--run-id", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.step == "log":
        print(log_wide_run(args.library, args.metrics))
        return
    if args.step == "read":
        print(json.dumps(read_histories(args.library, args.run_id, args.metrics, args.reads)))
        return
    ours = measure("gitruns", sys.executable, args.metrics, args.reads)
    if ours is None:
        sys.exit(1)
    print(
        f"gitruns: one history of a run of {args.metrics:,} metrics, each at its own step: "
        f"{ours['median_ms']:.2f} ms (median of {args.reads}, slowest {ours['max_ms']:.2f} ms)"
    )
    theirs = (
        measure("mlflow", args.mlflow_python, args.metrics, args.reads)
        if args.mlflow_python
        else None
    )
    if theirs is None:
        print("MLflow not given (--mlflow-python PATH): measuring gitruns alone.")
        return
    print(
        f"MLflow (sqlite): {theirs['median_ms']:.2f} ms (slowest {theirs['max_ms']:.2f} ms); "
        f"gitruns/MLflow = {ours['median_ms'] / theirs['median_ms']:.2f}"
    )


if __name__ == "__main__":
    main()
