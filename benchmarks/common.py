"""What the benchmarks share: a fresh git repository to log into."""

from __future__ import annotations

import argparse
import contextlib
import os
import random
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

GIT = ["git", "-c", "user.name=bench", "-c", "user.email=bench@example.com"]
# Not /tmp: creating a file there costs 10-30x more on some machines, hiding storage costs.
BENCH_HOME = Path.home() / "bench"


def add_workspace_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--workspace", type=Path, default=BENCH_HOME, help="where to work (not /tmp)"
    )


def add_mlflow_python_option(parser: argparse.ArgumentParser) -> None:
    """``--mlflow-python``: the interpreter of a side virtualenv with MLflow (default
    ``$MLFLOW_PYTHON``), made absolute as it is read, since a benchmark then moves into
    its workspace, where a relative path would name nothing."""

    def interpreter(named: str) -> str:
        found = shutil.which(named)
        if found is None:
            raise argparse.ArgumentTypeError(
                f"{named}: no such interpreter. Give the python of a virtualenv with MLflow "
                "installed (python3 -m venv ~/venvs/mlflow && ~/venvs/mlflow/bin/pip "
                "install mlflow), or leave the option out to measure gitruns alone."
            )
        return os.path.abspath(found)

    parser.add_argument(
        "--mlflow-python",
        type=interpreter,
        default=os.environ.get("MLFLOW_PYTHON"),
        help="Python of a virtualenv with MLflow (default: $MLFLOW_PYTHON)",
    )


def new_workspace(folder: Path, prefix: str) -> Path:
    """A fresh folder for one benchmark under ``folder`` (made if missing)."""
    folder.mkdir(parents=True, exist_ok=True)
    return Path(tempfile.mkdtemp(prefix=prefix, dir=folder))


@contextlib.contextmanager
def new_repository(folder: Path, prefix: str, subfolder: str = "") -> Iterator[Path]:
    """A fresh git repository in a new folder under ``folder`` (in ``subfolder`` of it,
    if named), the current directory while the block runs; all of it removed after."""
    workspace = new_workspace(folder, prefix)
    repository = workspace / subfolder if subfolder else workspace
    here = Path.cwd()
    try:
        make_repository(repository)
        os.chdir(repository)
        yield repository
    finally:
        os.chdir(here)
        shutil.rmtree(workspace, ignore_errors=True)


def make_repository(folder: Path) -> None:
    """A git repository with one commit, as a training project would be."""
    subprocess.run([*GIT, "init", "-q", str(folder)], check=True)
    (folder / "train.py").write_text("print('training')\n")
    subprocess.run([*GIT, "-C", str(folder), "add", "."], check=True)
    subprocess.run([*GIT, "-C", str(folder), "commit", "-qm", "init"], check=True)


def tuning_params(rng: random.Random, index: int) -> dict[str, object]:
    """The 10 params of a tuning job's trial (an xgboost search's), drawn from ``rng``."""
    return {
        "max_depth": rng.randint(2, 12),
        "learning_rate": round(rng.uniform(0.01, 0.5), 4),
        "min_child_weight": round(rng.uniform(0.5, 10), 3),
        "subsample": round(rng.uniform(0.5, 1), 3),
        "colsample_bytree": round(rng.uniform(0.5, 1), 3),
        "reg_alpha": round(10 ** rng.uniform(-4, 1), 6),
        "reg_lambda": round(10 ** rng.uniform(-4, 1), 6),
        "n_estimators": rng.choice([100, 200, 500, 1000]),
        "model": rng.choice(["xgboost", "lightgbm", "ridge"]),
        "seed": index,
    }


def log_runs(count: int, seed: int = 0, experiment: str = "bench") -> None:
    """Runs as a tuning job makes them: 10 params, 5 metrics x 100 steps each (seeded)."""
    import gitruns

    gitruns.set_experiment(experiment, primary_metric="rmse")
    rng = random.Random(seed)
    for index in range(count):
        with gitruns.start_run():
            gitruns.log_params(tuning_params(rng, index))
            for step in range(100):
                gitruns.log_metrics(
                    {
                        "rmse": 9 - step * 0.03 + rng.random(),
                        "mae": 6 - step * 0.02 + rng.random(),
                        "r2": step / 120 + rng.random() * 0.1,
                        "train-rmse": 8 - step * 0.04 + rng.random(),
                        "lr": 0.3 * 0.99**step,
                    },
                    step=step,
                )


def copy_runs(count: int, seed: int = 0, experiment: str = "bench") -> list[Path]:
    """``count`` runs of the shape :func:`log_runs` makes, as a pull brings them: one run
    is logged, then its folder is written again ``count - 1`` times under new ids with
    other params and metric values (its histories hard links to the first's). 100,000 runs take a
    minute this way, against over an hour logged one by one. Their files are dated a
    minute back, as a pull's are. Returns their folders."""
    import errno
    import os
    import re
    import shutil
    import time
    from datetime import datetime, timezone

    import gitruns
    from gitruns.utils.yamlcodec import emit_record_yaml

    gitruns.set_experiment(experiment, primary_metric="rmse")
    rng = random.Random(seed)
    with gitruns.start_run() as model_run:
        gitruns.log_param("seed", -1)
        gitruns.log_metrics({"rmse": 5.0, "mae": 4.0, "r2": 0.5, "train-rmse": 4.5, "lr": 0.3})
        gitruns.log_metrics(
            {"rmse": 4.0, "mae": 3.0, "r2": 0.6, "train-rmse": 3.5, "lr": 0.2}, step=1
        )
    folder = Path.cwd() / "runs" / model_run.info.experiment_id  # benchmarks work in the repo
    template = (folder / model_run.info.run_id / "run.yaml").read_text()
    history = folder / model_run.info.run_id / "metrics.tsv"
    start = int(time.time() * 1000) - count * 1000
    back = time.time() - 60
    made = [folder / model_run.info.run_id]
    for path in made[0].iterdir():
        os.utime(path, (back, back))
    for index in range(count - 1):
        moment = start + index * 1000
        run_id = f"{moment:012x}{rng.getrandbits(80):020x}"
        params = tuning_params(rng, index)
        text = template.replace(model_run.info.run_id, run_id)
        started = datetime.fromtimestamp(moment / 1000, tz=timezone.utc)
        ended = datetime.fromtimestamp(moment / 1000 + rng.uniform(1, 60), tz=timezone.utc)
        text = re.sub(r"\nname: [^\n]+", f"\nname: trial-{index}", text, count=1)
        for field, when in (("start_time", started), ("end_time", ended)):
            stamp = when.strftime("%Y-%m-%dT%H:%M:%S.") + f"{when.microsecond // 1000:03d}Z"
            text = re.sub(rf'\n{field}: "[^"]+"', f'\n{field}: "{stamp}"', text, count=1)
        written = emit_record_yaml({"params": {key: str(value) for key, value in params.items()}})
        text = re.sub(r"params:\n(?:  .*\n)+", lambda _, w=written: w, text)  # as gitruns writes it
        text = re.sub(r"(  rmse:\n    last: )[^\n]+", lambda m: f"{m[1]}{rng.uniform(3, 9)}", text)
        run_dir = folder / run_id
        run_dir.mkdir()
        try:
            os.link(history, run_dir / "metrics.tsv")
        except OSError as error:  # a file takes about 65,000 links: link the next ones here
            if error.errno != errno.EMLINK:
                raise
            shutil.copy2(history, run_dir / "metrics.tsv")
            history = run_dir / "metrics.tsv"
        (run_dir / "run.yaml").write_text(text)
        os.utime(run_dir / "run.yaml", (back + index / count, back + index / count))
        made.append(run_dir)
    return made
