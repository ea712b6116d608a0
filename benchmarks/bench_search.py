"""A filtered, ordered search over thousands of runs, in a fresh process: gitruns vs MLflow.

For each size, the same runs (same params, metrics and tags, from a seeded
generator) are logged into gitruns and, where MLflow is available, into
MLflow's sqlite backend. Then a new Python process answers

    filter_string = "metrics.rmse < 5 AND params.model = 'xgboost'"
    order_by = ["metrics.rmse ASC"]

and the wall time of that whole process (start, import, search) is measured,
for gitruns both with its index cache warm and after deleting it (cold).

    python benchmarks/bench_search.py --mlflow-python ~/venvs/mlflow/bin/python
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from common import make_repository

FILTER = "metrics.rmse < 5 AND params.model = 'xgboost'"
ORDER_BY = ["metrics.rmse ASC"]
MODELS = ["xgboost", "lasso", "ridge", "random-forest", "linear"]


def run_values(index: int) -> tuple[dict[str, str], dict[str, float], dict[str, str]]:
    rng = random.Random(index)
    params = {
        "model": rng.choice(MODELS),
        "alpha": str(round(rng.uniform(0.001, 1), 4)),
        "max_depth": str(rng.randint(2, 12)),
        "seed": str(index),
    }
    metrics = {"rmse": rng.uniform(3, 9), "mae": rng.uniform(2, 6), "r2": rng.uniform(0, 1)}
    return params, metrics, {"stage": rng.choice(["tuning", "final"]), "developer": "bench"}


def make_gitruns(folder: Path, count: int) -> None:
    import gitruns

    gitruns.set_experiment("bench")
    for index in range(count):
        params, metrics, tags = run_values(index)
        with gitruns.start_run(tags=tags):
            gitruns.log_params(params)
            gitruns.log_metrics(metrics)


def make_mlflow(folder: Path, count: int) -> None:
    import mlflow
    from mlflow.entities import Metric, Param, RunTag

    client = mlflow.MlflowClient(f"sqlite:///{folder / 'mlflow.db'}")
    experiment_id = client.create_experiment("bench")
    for index in range(count):
        params, metrics, tags = run_values(index)
        run = client.create_run(experiment_id)
        now = int(time.time() * 1000)
        client.log_batch(
            run.info.run_id,
            metrics=[Metric(key, value, now, 0) for key, value in metrics.items()],
            params=[Param(key, value) for key, value in params.items()],
            tags=[RunTag(key, value) for key, value in tags.items()],
        )
        client.set_terminated(run.info.run_id)


def search(library: str, folder: Path) -> dict[str, float]:
    """What the fresh process does: import, search, report."""
    started = time.perf_counter()
    if library == "gitruns":
        import gitruns

        client = gitruns.MlflowClient()
    else:
        import mlflow

        client = mlflow.MlflowClient(f"sqlite:///{folder / 'mlflow.db'}")
    imported = time.perf_counter()
    experiment = client.get_experiment_by_name("bench")
    runs = client.search_runs(
        [experiment.experiment_id], FILTER, max_results=1000, order_by=ORDER_BY
    )
    done = time.perf_counter()
    return {
        "found": len(runs),
        "best": runs[0].data.metrics["rmse"] if runs else None,
        "import_seconds": imported - started,
        "search_seconds": done - imported,
    }


def timed_subprocess(python: str, *args: str, cwd: Path) -> tuple[float, dict]:
    started = time.perf_counter()
    result = subprocess.run(
        [python, __file__, *args], cwd=cwd, capture_output=True, text=True, check=False
    )
    elapsed = time.perf_counter() - started
    if result.returncode != 0:
        raise RuntimeError(result.stderr[-3000:])
    return elapsed, json.loads(result.stdout.strip().splitlines()[-1])


def best_of(times: int, python: str, args: list[str], cwd: Path, before=None) -> tuple[float, dict]:
    results = []
    for _ in range(times):
        if before is not None:
            before()
        results.append(timed_subprocess(python, *args, cwd=cwd))
    return min(results, key=lambda pair: pair[0])


def measure(size: int, mlflow_python: str | None) -> dict:
    workspace = Path(tempfile.mkdtemp(prefix=f"bench-search-{size}-"))
    try:
        ours = workspace / "gitruns"
        make_repository(ours)
        made = time.perf_counter()
        timed_subprocess(sys.executable, "--make", "gitruns", "--runs", str(size), cwd=ours)
        report: dict = {"runs": size, "gitruns_make_seconds": time.perf_counter() - made}
        index = ours / "runs" / ".index"
        cold, cold_result = best_of(
            3, sys.executable, ["--search", "gitruns"], ours, lambda: shutil.rmtree(index, True)
        )
        warm, warm_result = best_of(3, sys.executable, ["--search", "gitruns"], ours)
        report.update(gitruns_cold=cold, gitruns_warm=warm, gitruns=warm_result)
        assert cold_result["found"] == warm_result["found"]
        if mlflow_python:
            theirs = workspace / "mlflow"
            make_repository(theirs)
            made = time.perf_counter()
            timed_subprocess(mlflow_python, "--make", "mlflow", "--runs", str(size), cwd=theirs)
            report["mlflow_make_seconds"] = time.perf_counter() - made
            elapsed, result = best_of(3, mlflow_python, ["--search", "mlflow"], theirs)
            report.update(mlflow_seconds=elapsed, mlflow=result)
            assert result["found"] == warm_result["found"], (result, warm_result)
        return report
    finally:
        shutil.rmtree(workspace, ignore_errors=True)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--sizes", default="2000,10000", help="run counts, comma-separated")
    parser.add_argument("--mlflow-python", default=os.environ.get("MLFLOW_PYTHON"))
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--make", choices=["gitruns", "mlflow"], help=argparse.SUPPRESS)
    parser.add_argument("--search", choices=["gitruns", "mlflow"], help=argparse.SUPPRESS)
    parser.add_argument("--runs", type=int, default=0, help=argparse.SUPPRESS)
    args = parser.parse_args()

    if args.make:
        (make_gitruns if args.make == "gitruns" else make_mlflow)(Path.cwd(), args.runs)
        print(json.dumps({"made": args.runs}))
        return
    if args.search:
        print(json.dumps(search(args.search, Path.cwd())))
        return

    if args.mlflow_python is None:
        print("MLflow not given (--mlflow-python PATH): measuring gitruns alone.")
    reports = [measure(int(size), args.mlflow_python) for size in args.sizes.split(",")]
    if args.json:
        print(json.dumps(reports, indent=2))
        return
    for report in reports:
        line = (
            f"{report['runs']:>6,} runs: gitruns {report['gitruns_warm']:.2f} s "
            f"(index cold {report['gitruns_cold']:.2f} s; search itself "
            f"{report['gitruns']['search_seconds']:.2f} s), {report['gitruns']['found']} found"
        )
        if "mlflow_seconds" in report:
            line += (
                f"; MLflow {report['mlflow_seconds']:.2f} s (search itself "
                f"{report['mlflow']['search_seconds']:.2f} s): "
                f"{report['mlflow_seconds'] / report['gitruns_warm']:.1f}x faster warm, "
                f"{report['mlflow_seconds'] / report['gitruns_cold']:.1f}x cold"
            )
        print(line)
    print("Each figure is the best of three fresh processes (start, import, search).")


if __name__ == "__main__":
    main()
