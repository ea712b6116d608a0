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
import random
import shutil
import subprocess
import sys
import time
from pathlib import Path

from common import add_mlflow_python_option, add_workspace_option, make_repository, new_workspace

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


BULK_FROM = 20_000  # past this many runs, MLflow's rows are inserted in bulk (see below)


def make_mlflow(folder: Path, count: int) -> None:
    import mlflow
    from mlflow.entities import Metric, Param, RunTag

    client = mlflow.MlflowClient(f"sqlite:///{folder / 'mlflow.db'}")
    experiment_id = client.create_experiment("bench")
    if count > BULK_FROM:
        bulk_mlflow(client, folder / "mlflow.db", experiment_id, count)
        return
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


def bulk_mlflow(client, database: Path, experiment_id: str, count: int) -> None:
    """The same runs, written into MLflow's own tables with sqlite3 in one transaction.

    Logging 100,000 runs through MLflow's client takes over half an hour; the rows
    are the ones its client writes (one run is logged through it first, and its
    rows are the template), and the search is still MLflow's own.
    """
    import sqlite3
    import uuid

    template = client.create_run(experiment_id)
    client.set_terminated(template.info.run_id)
    client.delete_run(template.info.run_id)
    connection = sqlite3.connect(database)
    columns = [row[1] for row in connection.execute("PRAGMA table_info(runs)")]
    base = dict(
        zip(
            columns,
            connection.execute(
                "SELECT * FROM runs WHERE run_uuid = ?", (template.info.run_id,)
            ).fetchone(),
            strict=True,
        )
    )
    now = int(time.time() * 1000)
    runs, params, metrics, latest, tags = [], [], [], [], []
    for index in range(count):
        run_params, run_metrics, run_tags = run_values(index)
        run_id = uuid.uuid4().hex
        row = dict(base, run_uuid=run_id, name=f"run-{index}", lifecycle_stage="active")
        row.update(status="FINISHED", start_time=now + index, end_time=now + index + 1)
        row["artifact_uri"] = base["artifact_uri"].replace(template.info.run_id, run_id)
        if "deleted_time" in row:
            row["deleted_time"] = None
        runs.append(tuple(row[column] for column in columns))
        params += [(key, value, run_id) for key, value in run_params.items()]
        metrics += [(key, value, now, run_id, 0, 0) for key, value in run_metrics.items()]
        latest += [(key, value, now, 0, 0, run_id) for key, value in run_metrics.items()]
        tags += [(key, value, run_id) for key, value in run_tags.items()]
    marks = ",".join("?" * len(columns))
    with connection:
        connection.executemany(f"INSERT INTO runs ({','.join(columns)}) VALUES ({marks})", runs)
        connection.executemany("INSERT INTO params (key, value, run_uuid) VALUES (?,?,?)", params)
        connection.executemany(
            "INSERT INTO metrics (key, value, timestamp, run_uuid, step, is_nan) "
            "VALUES (?,?,?,?,?,?)",
            metrics,
        )
        connection.executemany(
            "INSERT INTO latest_metrics (key, value, timestamp, step, is_nan, run_uuid) "
            "VALUES (?,?,?,?,?,?)",
            latest,
        )
        connection.executemany("INSERT INTO tags (key, value, run_uuid) VALUES (?,?,?)", tags)
    connection.close()


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
    parsed = 0
    if library == "gitruns":
        from gitruns.store import index

        parsed = index.records_read
    return {
        "parsed": parsed,
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


def measure(size: int, mlflow_python: str | None, folder: Path) -> dict:
    workspace = new_workspace(folder, f"bench-search-{size}-")
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
        # As if a git pull brought 1,000 new runs: the next search parses only those.
        timed_subprocess(sys.executable, "--make", "gitruns", "--runs", "1000", cwd=ours)
        pulled, pulled_result = timed_subprocess(sys.executable, "--search", "gitruns", cwd=ours)
        report.update(gitruns_after_pull=pulled, parsed_after_pull=pulled_result["parsed"])
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
    parser.add_argument("--sizes", default="2000,10000,100000", help="run counts, comma-separated")
    add_workspace_option(parser)
    add_mlflow_python_option(parser)
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
    reports = [
        measure(int(size), args.mlflow_python, args.workspace) for size in args.sizes.split(",")
    ]
    if args.json:
        print(json.dumps(reports, indent=2))
        return
    for report in reports:
        line = (
            f"{report['runs']:>7,} runs: gitruns {report['gitruns_warm']:.2f} s "
            f"(index cold {report['gitruns_cold']:.2f} s; search itself "
            f"{report['gitruns']['search_seconds']:.2f} s; after 1,000 new runs "
            f"{report['gitruns_after_pull']:.2f} s, {report['parsed_after_pull']:,} records "
            f"parsed), {report['gitruns']['found']} found"
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
