"""Cost of logging: one run, and one ``log_metric``, in gitruns and (where installed) MLflow.

One run is: start, 10 params, 1 tag, 5 metrics, end. One ``log_metric`` is a
call with a step inside a long run (the end of the run, which writes what is
buffered, is counted too). The same function measures both libraries, since
gitruns speaks MLflow's API; each runs in a fresh git repository of its own,
MLflow with its sqlite backend.

MLflow is looked for in this interpreter, else in the one named by
``--mlflow-python`` (or ``$MLFLOW_PYTHON``): keep it in a side virtualenv,
never in gitruns' own environment.

``--tracked 1,5000,50000`` times a run in repositories of that many tracked files,
each size three times: code files (a package of small modules), the same with one
file edited (so that every run records a diff), and half as many runs committed
before (two files each, as a team's ``runs/`` grows), with both libraries in the
same repository; a run's cost should not grow with the tree. Each
size is timed two ways: a run in a loop of runs (a tuning job), and a whole script
(``python train.py``: a fresh process that imports the library, sets the experiment and
logs one run), which also pays the imports and the first look at the work tree.

    python benchmarks/bench_logging.py --mlflow-python ~/venvs/mlflow/bin/python
    python benchmarks/bench_logging.py --tracked 1,5000,50000 --runs 50
"""

from __future__ import annotations

import argparse
import importlib
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

from common import BENCH_HOME, GIT, add_mlflow_python_option, new_repository


def measure(library: str, runs: int, metric_calls: int) -> dict[str, float | str]:
    """Time the workload with ``library`` ('gitruns' or 'mlflow') in the current folder."""
    tracking = importlib.import_module(library)
    if library == "mlflow":
        tracking.set_tracking_uri(f"sqlite:///{Path.cwd() / 'mlflow.db'}")
    tracking.set_experiment("bench")
    params = {f"param_{i}": i * 0.5 for i in range(10)}
    metrics = {f"metric_{i}": i * 0.25 for i in range(5)}

    def one_run() -> None:
        with tracking.start_run():
            tracking.log_params(params)
            tracking.set_tag("stage", "bench")
            tracking.log_metrics(metrics)

    for _ in range(3):  # warm up: schema creation, first imports, first git capture
        one_run()
    durations = []
    for _ in range(runs):
        started = time.perf_counter()
        one_run()
        durations.append(time.perf_counter() - started)

    with tracking.start_run():
        tracking.log_metric("warmup", 0.0, step=0)
        started = time.perf_counter()
        for step in range(metric_calls):
            tracking.log_metric("loss", 1.0 / (step + 1), step=step)
        calls_done = time.perf_counter()
        tracking.end_run()  # gitruns folds the run's metric log into its table here
        metric_seconds = time.perf_counter() - started
        end_seconds = time.perf_counter() - calls_done

    return {
        "library": library,
        "version": tracking.__version__,
        "run_ms": statistics.median(durations) * 1000,
        "run_mean_ms": statistics.fmean(durations) * 1000,
        "log_metric_us": metric_seconds / metric_calls * 1e6,
        "call_us": (metric_seconds - end_seconds) / metric_calls * 1e6,
        "end_ms": end_seconds * 1000,
    }


# The repositories a run is timed in, besides their size.
KINDS = {"code": "code files", "edited": "code files, 1 edited", "runs": "files of runs"}

# One script's run, as ``python train.py`` makes it: a fresh process pays what a loop of
# runs pays once (imports, the first look at the work tree, the package list).
FIRST_RUN = """
import os, time
from pathlib import Path
library = os.environ["BENCH_LIBRARY"]
started = time.perf_counter()
tracking = __import__(library)
if library == "mlflow":
    tracking.set_tracking_uri(f"sqlite:///{Path.cwd() / 'mlflow.db'}")
tracking.set_experiment("bench")
run_started = time.perf_counter()
with tracking.start_run():
    tracking.log_params({f"param_{i}": i * 0.5 for i in range(10)})
    tracking.set_tag("stage", "bench")
    tracking.log_metrics({f"metric_{i}": i * 0.25 for i in range(5)})
ended = time.perf_counter()
print((ended - run_started) * 1000, (ended - started) * 1000)
"""
FRESH_PROCESSES = 5


def measure_first_runs(library: str) -> dict[str, float]:
    """The run of a fresh process, and the whole process (imports included), in ms: the
    median of a few processes, after one that creates the experiment (and MLflow's
    database)."""
    # A committed script, run without arguments: as ``python train.py`` is.
    Path("first_run.py").write_text(FIRST_RUN)
    subprocess.run([*GIT, "add", "first_run.py"], check=True)
    subprocess.run([*GIT, "commit", "-qm", "the script"], check=True)
    timings = []
    for attempt in range(FRESH_PROCESSES + 1):
        done = subprocess.run(
            [sys.executable, "first_run.py"],
            capture_output=True,
            text=True,
            check=True,
            env={**os.environ, "BENCH_LIBRARY": library},
        )
        if attempt:
            timings.append([float(value) for value in done.stdout.split()])
    return {
        "first_run_ms": statistics.median(run for run, _ in timings),
        "process_ms": statistics.median(process for _, process in timings),
    }


def measure_in_fresh_repository(
    library: str,
    runs: int,
    metric_calls: int,
    tracked: int = 1,
    kind: str = "code",
    first_runs: bool = False,
) -> dict[str, float | str]:
    with new_repository(BENCH_HOME, f"bench-{library}-") as folder:
        if kind == "runs":
            add_committed_runs(folder, tracked)
        elif tracked > 1:
            add_code_files(folder, tracked)
        if kind == "edited":  # one tracked file changed: every run records the diff
            (folder / "train.py").write_text("print('training, edited')\n")
        # The tree was just written: the disk writes it back in the next seconds, and file
        # creation meanwhile is several times slower, which a user's repository is not.
        os.sync()
        found = measure_first_runs(library) if first_runs else {}
        os.sync()
        return {**measure(library, runs, metric_calls), **found}


def add_code_files(folder: Path, count: int) -> None:
    """``count`` tracked files in all: small modules, a hundred a package."""
    for index in range(count - 1):  # train.py is one
        package = folder / "src" / f"package_{index // 100}"
        package.mkdir(parents=True, exist_ok=True)
        (package / f"module_{index}.py").write_text(f"VALUE = {index}\n")
    commit_all(folder, f"{count} files")


def add_committed_runs(folder: Path, count: int) -> None:
    """About ``count`` tracked files as a team's runs make them: half as many runs,
    each a run.yaml and a metrics.tsv, committed."""
    experiment = folder / "runs" / "earlier"
    experiment.mkdir(parents=True)
    (experiment / "experiment.yaml").write_text("schema: 1\nname: earlier\n")
    for index in range(count // 2):
        run_id = f"{index:032x}"
        run = experiment / run_id
        run.mkdir()
        (run / "run.yaml").write_text(
            f'schema: 2\nid: "{run_id}"\nname: run-{index}\nexperiment: earlier\n'
            'status: FINISHED\nstart_time: "2026-01-01T00:00:00.000Z"\n'
            'end_time: "2026-01-01T00:00:01.000Z"\nparams:\n  alpha: "0.1"\ntags: {}\n'
            "metrics:\n  rmse:\n    last: 1.0\n    min: 1.0\n    max: 1.0\n    step: 0\n"
            "    timestamp: 1767225600000\nenvironment: {}\n"
        )
        (run / "metrics.tsv").write_text("step\ttimestamp\trmse\n0\t1767225600000\t1.0\n")
    commit_all(folder, f"{count // 2} runs")


def commit_all(folder: Path, message: str) -> None:
    subprocess.run([*GIT, "-C", str(folder), "add", "-A"], check=True)
    subprocess.run([*GIT, "-C", str(folder), "commit", "-qm", message], check=True)


def measure_mlflow(
    python: str | None,
    runs: int,
    metric_calls: int,
    tracked: int = 1,
    kind: str = "code",
    first_runs: bool = False,
) -> dict[str, float | str] | None:
    if python is None:
        try:
            importlib.import_module("mlflow")
        except ImportError:
            return None
        return measure_in_fresh_repository("mlflow", runs, metric_calls, tracked, kind, first_runs)
    command = [python, __file__, "--only", "mlflow", "--json"]
    command += ["--runs", str(runs), "--metric-calls", str(metric_calls)]
    command += ["--tracked", str(tracked), "--kind", kind]
    if first_runs:
        command.append("--first-runs")
    result = subprocess.run(command, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        print(f"MLflow run failed:\n{result.stderr[-2000:]}", file=sys.stderr)
        return None
    return json.loads(result.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--runs", type=int, default=200, help="runs to time (default 200)")
    parser.add_argument("--metric-calls", type=int, default=None, help="log_metric calls to time")
    add_mlflow_python_option(parser)
    parser.add_argument("--only", choices=["gitruns", "mlflow"], help=argparse.SUPPRESS)
    parser.add_argument("--json", action="store_true", help="print one JSON line per library")
    parser.add_argument(
        "--tracked", default=None, help="tracked files, comma-separated (e.g. 1,5000,50000)"
    )
    parser.add_argument("--kind", choices=KINDS, default="code", help=argparse.SUPPRESS)
    parser.add_argument("--first-runs", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()

    if args.only:
        calls = args.metric_calls or (50_000 if args.only == "gitruns" else 500)
        tracked = int(args.tracked or 1)
        result = measure_in_fresh_repository(
            args.only, args.runs, calls, tracked, args.kind, args.first_runs
        )
        print(json.dumps(result))
        return
    if args.tracked:
        by_size(args, [int(size) for size in args.tracked.split(",")])
        return

    ours = measure_in_fresh_repository("gitruns", args.runs, args.metric_calls or 50_000)
    # MLflow's log_metric is a database transaction: fewer calls give the same mean.
    theirs = measure_mlflow(args.mlflow_python, min(args.runs, 100), args.metric_calls or 500)
    if args.json:
        print(json.dumps({"gitruns": ours, "mlflow": theirs}))
        return
    print(
        f"gitruns {ours['version']}: one run {ours['run_ms']:.2f} ms (median), "
        f"one log_metric {ours['log_metric_us']:.2f} µs (the call {ours['call_us']:.2f} µs; "
        f"ending the run, which folds {args.metric_calls or 50_000:,} values into the "
        f"metric table, {ours['end_ms']:.0f} ms)"
    )
    if theirs is None:
        print("MLflow is not installed here (pass --mlflow-python PATH to compare).")
        return
    print(
        f"MLflow {theirs['version']} (sqlite): one run {theirs['run_ms']:.2f} ms (median), "
        f"one log_metric {theirs['log_metric_us'] / 1000:.2f} ms"
    )
    run_ratio = float(theirs["run_ms"]) / float(ours["run_ms"])
    metric_ratio = float(theirs["log_metric_us"]) / float(ours["log_metric_us"])
    print(
        f"ratio: a run is {run_ratio:.1f}x cheaper in gitruns (target 5x), "
        f"a log_metric {metric_ratio:.0f}x cheaper (target 300x)"
    )


def by_size(args: argparse.Namespace, sizes: list[int]) -> None:
    """A run's cost in repositories of each size, code files and committed runs apart:
    a run in a loop of runs (one process), and a whole script (a fresh process)."""
    base: dict[tuple[str, str], float] = {}  # the 1-file figures, clean and edited
    for size in sizes:
        for kind in ("code", "edited", "runs") if size > 1 else ("code", "edited"):
            ours = measure_in_fresh_repository("gitruns", args.runs, 1_000, size, kind, True)
            theirs = measure_mlflow(args.mlflow_python, min(args.runs, 50), 100, size, kind, True)
            what = "1 file" if size == 1 else f"{size:,} {KINDS[kind]}"
            if size == 1 and kind == "edited":
                what = "1 file, edited"
            for field, label in (("run_ms", "a run in a loop"), ("process_ms", "a whole script ")):
                ms = float(ours[field])
                one_file = base.setdefault(("edited" if kind == "edited" else "code", field), ms)
                line = f"{what:>32}, {label}: gitruns {ms:7.2f} ms ({ms / one_file:.1f}x 1 file)"
                if theirs is not None:
                    ratio = float(theirs[field]) / ms
                    line += f"; MLflow {float(theirs[field]):7.2f} ms: gitruns {ratio:.1f}x cheaper"
                print(line, flush=True)


if __name__ == "__main__":
    main()
