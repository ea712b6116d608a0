"""A team on one remote: pushes a minute with 8 writers at once.

Each writer is a clone of one bare repository, in a process of its own, doing what a
training machine does, ``--rounds`` times: log a run (10 params, 5 metrics) holding a
model, register it as a new version of one model, and ``gitruns push``. Every push
has to land (the remote moves on under it 7 times out of 8, so most merge and try
again); the figure is pushes landed a minute, all writers together, and what one push
costs its writer (median, with its retries).

Where MLflow is installed (``--mlflow-python``, a side virtualenv), the same work
goes to one ``mlflow server`` on sqlite from 8 processes: log the run, log the model
file, register the version. Its figure is printed beside gitruns' as a ratio.

    python benchmarks/bench_team.py --writers 8 --rounds 5 --mlflow-python ~/venvs/mlflow/bin/python
"""

from __future__ import annotations

import argparse
import json
import shutil
import socket
import statistics
import subprocess
import sys
import time
from pathlib import Path

from common import GIT, add_mlflow_python_option, add_workspace_option, new_workspace

GITRUNS_WRITER = """\
import json, sys, time
from pathlib import Path
import gitruns as mlflow
from gitruns.team import push

rounds, name = int(sys.argv[1]), sys.argv[2]
mlflow.set_experiment("team")
costs, tries = [], []
for number in range(rounds):
    with mlflow.start_run(run_name=f"{name}-{number}") as run:
        mlflow.log_params({f"param_{i}": i for i in range(10)})
        mlflow.log_metrics({f"metric_{i}": i / 4 for i in range(5)})
        Path("model").mkdir(exist_ok=True)
        Path("model/MLmodel").write_text(name)
        mlflow.log_artifacts("model", "model")
    mlflow.register_model(f"runs:/{run.info.run_id}/model", "taxi")
    started = time.perf_counter()
    report = push(Path("runs"))
    costs.append(time.perf_counter() - started)
    tries.append(report.attempts)
print(json.dumps({"costs": costs, "tries": tries}))
"""

MLFLOW_WRITER = """\
import json, sys, time
from pathlib import Path
import mlflow

rounds, name, uri = int(sys.argv[1]), sys.argv[2], sys.argv[3]
mlflow.set_tracking_uri(uri)
mlflow.set_experiment("team")
costs = []
Path("model").mkdir(exist_ok=True)
Path("model/MLmodel").write_text(name)
for number in range(rounds):
    started = time.perf_counter()
    with mlflow.start_run(run_name=f"{name}-{number}") as run:
        mlflow.log_params({f"param_{i}": i for i in range(10)})
        mlflow.log_metrics({f"metric_{i}": i / 4 for i in range(5)})
        mlflow.log_artifacts("model", "model")
    mlflow.register_model(f"runs:/{run.info.run_id}/model", "taxi")
    costs.append(time.perf_counter() - started)
print(json.dumps({"costs": costs, "tries": [1] * rounds}))
"""


def run_writers(command: list[list[str]], folders: list[Path]) -> tuple[float, list[dict]]:
    """Start every writer at once; the wall time until the last one ends, and what each said."""
    started = time.perf_counter()
    processes = [
        subprocess.Popen(
            args, cwd=folder, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
        )
        for args, folder in zip(command, folders, strict=True)
    ]
    said = []
    for process in processes:
        out, err = process.communicate()
        if process.returncode != 0:
            raise SystemExit(f"a writer failed:\n{err[-2000:]}")
        said.append(json.loads(out.strip().splitlines()[-1]))
    return time.perf_counter() - started, said


def gitruns_team(workspace: Path, writers: int, rounds: int) -> dict[str, float]:
    bare = workspace / "origin.git"
    subprocess.run([*GIT, "init", "-q", "--bare", "-b", "main", str(bare)], check=True)
    seed = workspace / "seed"
    subprocess.run([*GIT, "clone", "-q", str(bare), str(seed)], check=True, capture_output=True)
    (seed / "train.py").write_text("print('train')\n")
    (seed / ".gitignore").write_text("model/\n")
    subprocess.run([*GIT, "-C", str(seed), "add", "-A"], check=True)
    subprocess.run([*GIT, "-C", str(seed), "commit", "-qm", "Code"], check=True)
    subprocess.run([*GIT, "-C", str(seed), "push", "-q", "origin", "main"], check=True)
    folders = []
    for number in range(writers):
        folder = workspace / f"clone-{number}"
        subprocess.run([*GIT, "clone", "-q", str(bare), str(folder)], check=True)
        for key, value in (("user.name", folder.name), ("user.email", f"{folder.name}@x.org")):
            subprocess.run(["git", "-C", str(folder), "config", key, value], check=True)
        (folder / "writer.py").write_text(GITRUNS_WRITER)
        folders.append(folder)
    commands = [[sys.executable, "writer.py", str(rounds), f.name] for f in folders]
    wall, said = run_writers(commands, folders)
    tags = subprocess.run(
        ["git", "-C", str(bare), "tag", "-l", "taxi@*"], capture_output=True, text=True, check=True
    ).stdout.split()
    expected = [f"taxi@v{n}.0.0" for n in range(1, writers * rounds + 1)]
    if sorted(tags) != sorted(expected):
        raise SystemExit(f"the remote's versions are not 1..{writers * rounds}: {sorted(tags)}")
    return summary(wall, said, writers * rounds)


def mlflow_team(python: str, workspace: Path, writers: int, rounds: int) -> dict[str, float]:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server_dir = workspace / "server"
    server_dir.mkdir()
    mlflow = str(Path(python).parent / "mlflow")
    server = subprocess.Popen(
        [
            mlflow,
            "server",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--workers",
            "2",
            "--backend-store-uri",
            f"sqlite:///{server_dir / 'mlflow.db'}",
            "--artifacts-destination",
            str(server_dir / "artifacts"),
        ],
        cwd=server_dir,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        uri = f"http://127.0.0.1:{port}"
        deadline = time.time() + 120
        while time.time() < deadline:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                time.sleep(0.5)
        folders = []
        for number in range(writers):
            folder = workspace / f"mlflow-writer-{number}"
            folder.mkdir()
            (folder / "writer.py").write_text(MLFLOW_WRITER)
            folders.append(folder)
        # The first experiment is made once, as a team's would be already.
        subprocess.run(
            [
                python,
                "-c",
                f"import mlflow; mlflow.set_tracking_uri('{uri}'); mlflow.set_experiment('team')",
            ],
            check=True,
            capture_output=True,
        )
        commands = [[python, "writer.py", str(rounds), f.name, uri] for f in folders]
        wall, said = run_writers(commands, folders)
        return summary(wall, said, writers * rounds)
    finally:
        server.terminate()
        server.wait(timeout=30)


def summary(wall: float, said: list[dict], landed: int) -> dict[str, float]:
    costs = [cost for writer in said for cost in writer["costs"]]
    tries = [count for writer in said for count in writer["tries"]]
    return {
        "wall": wall,
        "per_minute": landed / wall * 60,
        "median_cost": statistics.median(costs),
        "mean_tries": statistics.mean(tries),
        "most_tries": max(tries),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--writers", type=int, default=8)
    parser.add_argument("--rounds", type=int, default=5)
    add_mlflow_python_option(parser)
    add_workspace_option(parser)
    args = parser.parse_args()
    workspace = new_workspace(args.workspace, "team-")
    try:
        ours = gitruns_team(workspace, args.writers, args.rounds)
        print(
            f"gitruns: {args.writers} writers x {args.rounds} rounds landed in "
            f"{ours['wall']:.1f} s: "
            f"{ours['per_minute']:.0f} pushes a minute (each a run and a version); a push "
            f"{ours['median_cost'] * 1000:.0f} ms median, {ours['mean_tries']:.1f} tries on "
            f"average, {ours['most_tries']:.0f} at most; versions 1..{args.writers * args.rounds} "
            "on the remote, no gap, no double"
        )
        if args.mlflow_python:
            theirs = mlflow_team(args.mlflow_python, workspace, args.writers, args.rounds)
            print(
                f"MLflow (one server on sqlite): {theirs['per_minute']:.0f} runs+versions a "
                f"minute, one {theirs['median_cost'] * 1000:.0f} ms median; gitruns lands "
                f"{ours['per_minute'] / theirs['per_minute']:.2f}x as many"
            )
        else:
            print("MLflow is not installed here (pass --mlflow-python PATH to compare).")
    finally:
        shutil.rmtree(workspace, ignore_errors=True)


if __name__ == "__main__":
    main()
