"""Reading runs back: the last value of every metric of N runs and the best run by one,
in a fresh process, against DVCLive's layout read with pandas.

Three fresh processes are timed (CPU: user + system, the median of ``--repeat``):

- gitruns, its search index written (a machine that searched before);
- gitruns cold: no index (a fresh clone: ``runs/.index`` is not committed), so every
  ``run.yaml`` is read and the index written;
- DVCLive's layout: a folder per run holding the ``metrics.json`` DVCLive writes (the
  last value of each metric and the step), every file read with ``json`` into one
  pandas frame. DVCLive itself is not needed to read its files.

Targets: gitruns warm costs no more than the DVCLive read; cold at most 1.5x warm.

gitruns' bytecode is compiled first, as ``pip install`` does: an editable install (or
``PYTHONDONTWRITEBYTECODE``) would have every process compile gitruns from source, which
no installed copy does, while pandas' bytecode is there.

    python benchmarks/bench_readback.py --runs 1000
"""

from __future__ import annotations

import argparse
import compileall
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path

from common import add_workspace_option, copy_runs, make_repository, new_workspace

GITRUNS_READ = """
import gitruns
frame = gitruns.search_runs(experiment_names=["bench"])
best = frame.loc[frame["metrics.rmse"].idxmin(), "run_id"]
print(len(frame), best)
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


def timed(code: str, before: Sequence[Path] = ()) -> tuple[float, float, str]:
    """CPU and wall seconds of a fresh interpreter running ``code`` here, and its output."""
    for path in before:
        shutil.rmtree(path, ignore_errors=True)
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    wall = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - usage.ru_utime) + (after.ru_stime - usage.ru_stime)
    return cpu, wall, done.stdout.strip()


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--runs", type=int, default=1_000)
    parser.add_argument("--repeat", type=int, default=5)
    add_workspace_option(parser)
    args = parser.parse_args()

    workspace = new_workspace(args.workspace, "bench-readback-")
    here = Path.cwd()
    try:
        make_repository(workspace)
        os.chdir(workspace)
        copy_runs(args.runs)
        import gitruns

        compileall.compile_dir(Path(gitruns.__file__).parent, quiet=1)

        frame = gitruns.search_runs(experiment_names=["bench"])
        for _, row in frame.iterrows():  # the same values, as DVCLive would have written them
            folder = workspace / "dvclive-runs" / row["run_id"]
            folder.mkdir(parents=True)
            metrics = {
                key[len("metrics.") :]: row[key] for key in frame if key.startswith("metrics.")
            }
            (folder / "metrics.json").write_text(json.dumps({**metrics, "step": 99}, indent=4))

        results: dict[str, list[tuple[float, float]]] = {"warm": [], "cold": [], "dvclive": []}
        answers = set()
        for _ in range(args.repeat):
            for name, code, before in (
                ("cold", GITRUNS_READ, [workspace / "runs" / ".index"]),
                ("warm", GITRUNS_READ, []),
                ("dvclive", DVCLIVE_READ, []),
            ):
                cpu, wall, output = timed(code, before)
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
        ):
            print(f"  {label}: {cpu[name] * 1000:.0f} ms CPU, {wall[name] * 1000:.0f} ms wall")
        print(
            f"gitruns warm / DVCLive: {cpu['warm'] / cpu['dvclive']:.2f}x CPU (target at most 1); "
            f"cold / warm: {cpu['cold'] / cpu['warm']:.2f}x (target at most 1.5)"
        )
    finally:
        os.chdir(here)
        shutil.rmtree(workspace, ignore_errors=True)


if __name__ == "__main__":
    main()
