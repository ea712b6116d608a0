"""Reading runs back: the last value of every metric of N runs and the best run by one,
in a fresh process, against DVCLive's layout read with pandas.

Fresh processes are timed (CPU: user + system, the median of ``--repeat``), in a new
order at each repeat:

- gitruns, its search index written (a machine that searched before);
- gitruns cold: no index (a fresh clone: ``runs/.index`` is not committed), so every
  ``run.yaml`` is read and the index written;
- DVCLive's layout: a folder per run holding the ``metrics.json`` DVCLive writes (the
  last value of each metric and the step), every file read with ``json`` into one
  pandas frame. DVCLive itself is not needed to read its files.
- MLflow, where it is installed (here, or in the interpreter ``--mlflow-python`` or
  ``$MLFLOW_PYTHON`` names): the same runs, params and last metric values in its
  sqlite store, read with ``mlflow.search_runs``.

Targets: gitruns warm costs no more than the DVCLive read; cold at most 1.5x warm. The
warm/DVCLive ratio is the median of each repeat's ratio: two processes a few seconds
apart share the machine's state, while the medians of 41 processes each still move by
1-2% from one benchmark to the next.

gitruns' bytecode is compiled first, as ``pip install`` does: an editable install (or
``PYTHONDONTWRITEBYTECODE``) would have every process compile gitruns from source, which
no installed copy does, while pandas' bytecode is there.

    python benchmarks/bench_readback.py --runs 1000 --mlflow-python ~/venvs/mlflow/bin/python
"""

from __future__ import annotations

import argparse
import compileall
import importlib.util
import json
import random
import resource
import shutil
import statistics
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path

from common import add_mlflow_python_option, add_workspace_option, copy_runs, new_repository

GITRUNS_READ = """
import gitruns
frame = gitruns.search_runs(experiment_names=["bench"])
best = frame.loc[frame["metrics.rmse"].idxmin(), "run_id"]
print(len(frame), best)
"""

MLFLOW_READ = """
import mlflow
mlflow.set_tracking_uri("sqlite:///mlflow.db")
frame = mlflow.search_runs(experiment_names=["bench"], max_results=100000)
best = frame.loc[frame["metrics.rmse"].idxmin(), "tags.gitruns.run_id"]
print(len(frame), best)
"""

# The runs, written into MLflow's store with its client: one log_batch a run.
MLFLOW_WRITE = """
import json, sys
import mlflow
from mlflow.entities import Metric, Param, RunTag
from mlflow.tracking import MlflowClient
mlflow.set_tracking_uri("sqlite:///mlflow.db")
client = MlflowClient()
experiment = client.create_experiment("bench")
for run in json.load(open(sys.argv[1])):
    made = client.create_run(experiment, start_time=run["start"])
    client.log_batch(
        made.info.run_id,
        metrics=[Metric(k, v, run["start"], 99) for k, v in run["metrics"].items()],
        params=[Param(k, v) for k, v in run["params"].items()],
        tags=[RunTag("gitruns.run_id", run["id"])],
    )
    client.set_terminated(made.info.run_id, end_time=run["start"] + 1000)
"""

DVCLIVE_READ = """
import json, pathlib
import pandas as pd
folders = sorted(pathlib.Path("dvclive-runs").iterdir())
frame = pd.DataFrame([json.loads((f / "metrics.json").read_text()) for f in folders])
frame["run"] = [f.name for f in folders]
best = frame.loc[frame["rmse"].idxmin(), "run"]
print(len(frame), best)
"""


def timed(
    code: str, before: Sequence[Path] = (), python: str = sys.executable
) -> tuple[float, float, str]:
    """CPU and wall seconds of a fresh interpreter running ``code`` here, and its output."""
    for path in before:
        shutil.rmtree(path, ignore_errors=True)
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    done = subprocess.run([python, "-c", code], capture_output=True, text=True, check=True)
    wall = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - usage.ru_utime) + (after.ru_stime - usage.ru_stime)
    return cpu, wall, done.stdout.strip()


def has_mlflow() -> bool:
    return importlib.util.find_spec("mlflow") is not None


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--runs", type=int, default=1_000)
    parser.add_argument("--repeat", type=int, default=5)
    add_mlflow_python_option(parser)
    add_workspace_option(parser)
    args = parser.parse_args()

    with new_repository(args.workspace, "bench-readback-") as workspace:
        copy_runs(args.runs)
        import gitruns

        compileall.compile_dir(Path(gitruns.__file__).parent, quiet=1)

        frame = gitruns.search_runs(experiment_names=["bench"])
        written = []
        for _, row in frame.iterrows():  # the same values, as DVCLive would have written them
            folder = workspace / "dvclive-runs" / row["run_id"]
            folder.mkdir(parents=True)
            metrics = {
                key[len("metrics.") :]: row[key] for key in frame if key.startswith("metrics.")
            }
            (folder / "metrics.json").write_text(json.dumps({**metrics, "step": 99}, indent=4))
            params = {
                key[len("params.") :]: row[key]
                for key in frame
                if key.startswith("params.") and isinstance(row[key], str)
            }
            start = int(row["start_time"].timestamp() * 1000)
            written.append(
                {"id": row["run_id"], "start": start, "params": params, "metrics": metrics}
            )
        mlflow_python = args.mlflow_python or (sys.executable if has_mlflow() else None)
        if mlflow_python is not None:
            (workspace / "runs.json").write_text(json.dumps(written))
            subprocess.run(
                [mlflow_python, "-c", MLFLOW_WRITE, "runs.json"], check=True, capture_output=True
            )

        readers = [
            ("cold", GITRUNS_READ, [workspace / "runs" / ".index"], sys.executable),
            ("warm", GITRUNS_READ, [], sys.executable),
            ("dvclive", DVCLIVE_READ, [], sys.executable),
        ]
        if mlflow_python is not None:
            readers.append(("mlflow", MLFLOW_READ, [], mlflow_python))
        results: dict[str, list[tuple[float, float]]] = {name: [] for name, *_ in readers}
        answers = set()
        for repeat in range(args.repeat):
            # In a new order each time (the same from one benchmark to the next): a
            # process right after the cold reader, which writes the index, costs 1-2% more.
            order = list(readers)
            random.Random(repeat).shuffle(order)
            for name, code, before, python in order:
                cpu, wall, output = timed(code, before, python)
                results[name].append((cpu, wall))
                answers.add(output)
        assert len(answers) == 1, answers  # every reader found the same best run
        cpu = {name: statistics.median(c for c, _ in found) for name, found in results.items()}
        wall = {name: statistics.median(w for _, w in found) for name, found in results.items()}
        print(f"{args.runs:,} runs: the last value of every metric and the best run, fresh process")
        for name, label in (
            ("warm", "gitruns, index written"),
            ("cold", "gitruns, fresh clone (no index)"),
            ("dvclive", "DVCLive's metrics.json files, pandas"),
            ("mlflow", "MLflow's sqlite store, mlflow.search_runs"),
        ):
            if name in cpu:
                print(f"  {label}: {cpu[name] * 1000:.0f} ms CPU, {wall[name] * 1000:.0f} ms wall")
        # Each repeat runs every reader once, so a ratio within a repeat compares processes
        # that ran seconds apart: the machine's drift over minutes cancels out.
        paired = statistics.median(
            warm[0] / dvclive[0]
            for warm, dvclive in zip(results["warm"], results["dvclive"], strict=True)
        )
        print(
            f"gitruns warm / DVCLive: {paired:.3f}x CPU, the median of each repeat's ratio "
            f"(of the medians: {cpu['warm'] / cpu['dvclive']:.3f}x; target at most 1); "
            f"cold / warm: {cpu['cold'] / cpu['warm']:.2f}x (target at most 1.5)"
        )
        if "mlflow" in cpu:
            print(f"gitruns warm / MLflow: {cpu['warm'] / cpu['mlflow']:.2f}x CPU")


if __name__ == "__main__":
    main()
