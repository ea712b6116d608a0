"""What the benchmarks share: a fresh git repository to log into."""

from __future__ import annotations

import argparse
import subprocess
import tempfile
from pathlib import Path

GIT = ["git", "-c", "user.name=bench", "-c", "user.email=bench@example.com"]
# Not /tmp: creating a file there costs 10-30x more on some machines, hiding storage costs.
BENCH_HOME = Path.home() / "bench"


def add_workspace_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--workspace", type=Path, default=BENCH_HOME, help="where to work (not /tmp)"
    )


def new_workspace(folder: Path, prefix: str) -> Path:
    """A fresh folder for one benchmark under ``folder`` (made if missing)."""
    folder.mkdir(parents=True, exist_ok=True)
    return Path(tempfile.mkdtemp(prefix=prefix, dir=folder))


def make_repository(folder: Path) -> None:
    """A git repository with one commit, as a training project would be."""
    subprocess.run([*GIT, "init", "-q", str(folder)], check=True)
    (folder / "train.py").write_text("print('training')\n")
    subprocess.run([*GIT, "-C", str(folder), "add", "."], check=True)
    subprocess.run([*GIT, "-C", str(folder), "commit", "-qm", "init"], check=True)


def log_runs(count: int, seed: int = 0, experiment: str = "bench") -> None:
    """Runs as a tuning job makes them: 10 params, 5 metrics x 100 steps each (seeded)."""
    import random

    import gitruns

    gitruns.set_experiment(experiment, primary_metric="rmse")
    rng = random.Random(seed)
    for index in range(count):
        with gitruns.start_run():
            gitruns.log_params(
                {
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
            )
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
