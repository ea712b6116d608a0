"""``gitruns demo``: a git repository with taxi data, a training script, and its runs.

The demo does what a user would: it writes a training script that logs with
``import gitruns as mlflow``, commits it, runs it with this Python, and
commits the runs it made. Nothing is downloaded; the data is generated.
"""

from __future__ import annotations

import importlib.util
import logging
import os
import re
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path

from gitruns.exceptions import GitrunsError
from gitruns.store.record import FINISHED, ExperimentRecord
from gitruns.store.repo import commit_paths, identity_env
from gitruns.store.run_record import read_run_record
from gitruns.utils.git import find_repo_top, run_git
from gitruns.workspace import Workspace

logger = logging.getLogger(__name__)

SCRIPT = "train.py"
SCRIPT_MARK = "`gitruns demo` wrote this file."
EXPERIMENT = "nyc-taxi-experiment"
NEEDED_MODULES = ("numpy", "pandas", "sklearn", "xgboost", "hyperopt")
MODEL_NAME = "nyc-taxi-regressor"
_PROGRESS_LINE = re.compile(r"^\[(?P<done>\d+)/(?P<total>\d+)\]")

GITIGNORE = "data/\nmodels/\n__pycache__/\nsite/\n"
README = """# gitruns demo

Made by `gitruns demo`: generated NYC-taxi-like trips in `data/` (not committed;
`gitruns demo` makes them again), a training script `train.py` that logs with
`import gitruns as mlflow`, and its runs under `runs/`.

    python train.py                       # train again: new runs, with this commit and your diff
    gitruns runs list -o "metrics.rmse"   # the runs, best first
    gitruns models show nyc-taxi-regressor   # the registry, read from git tags
    gitruns check                         # validate every run record

`train.py` calls MLflow's API only: with `import mlflow` in place of
`import gitruns as mlflow` it runs on MLflow as it is.
"""


class DemoError(GitrunsError):
    """The demo cannot run here."""


@dataclass
class DemoResult:
    directory: Path
    code_commit: str | None
    runs_commit: str | None
    runs: list[tuple[str, str, float | None]] = field(default_factory=list)  # id, name, rmse
    model_versions: list[tuple[str, str, str]] = field(default_factory=list)  # name, version, stage
    site: Path | None = None


def check_requirements() -> None:
    missing = [name for name in NEEDED_MODULES if importlib.util.find_spec(name) is None]
    if missing:
        raise DemoError(
            f"the demo trains scikit-learn and XGBoost models and needs {', '.join(missing)}. "
            "Install them with: pip install 'gitruns[ml]'"
        )


def script_text() -> str:
    return resources.files("gitruns.demo").joinpath("train_script.py").read_text()


def prepare_directory(directory: Path) -> None:
    """Make ``directory`` a git repository for the demo; refuse to write over other work,
    the user's edits to an earlier demo's files included."""
    if directory.exists() and any(directory.iterdir()):
        script = directory / SCRIPT
        written = script.read_text(errors="replace") if script.is_file() else ""
        if SCRIPT_MARK not in written:
            raise DemoError(
                f"{directory} is not empty and holds no earlier demo; the demo will not "
                "write into it. Pass a new folder, e.g. 'gitruns demo gitruns-demo-2'."
            )
        edited = [
            name
            for name, text in (
                (SCRIPT, script_text()),
                (".gitignore", GITIGNORE),
                ("README.md", README),
            )
            if (directory / name).exists()
            and (directory / name).read_text(errors="replace") != text
        ]
        if edited:
            raise DemoError(
                f"{directory} holds an earlier demo whose {', '.join(edited)} you changed; the "
                "demo will not overwrite your edits. Run 'python train.py' in it to train "
                f"with your changes, or pass a new folder, e.g. 'gitruns demo {directory}-2'."
            )
    directory.mkdir(parents=True, exist_ok=True)
    if find_repo_top(directory) != directory.resolve():
        run_git(["init", "--quiet", "--initial-branch=main", "."], directory)


def write_files(directory: Path, rows: int) -> None:
    from gitruns.demo.data import taxi_trips

    (directory / SCRIPT).write_text(script_text())
    (directory / ".gitignore").write_text(GITIGNORE)
    (directory / "README.md").write_text(README)
    data = directory / "data"
    data.mkdir(exist_ok=True)
    for month in (1, 2):
        path = data / f"green_tripdata_2021-{month:02d}.csv"
        if not path.exists():
            taxi_trips(2021, month, rows=rows).to_csv(path, index=False)


def train(
    directory: Path,
    trials: int = 20,
    on_progress: Callable[[int, int, str], None] | None = None,
) -> None:
    """Run the demo's ``train.py`` with this Python, reporting each step as it finishes."""
    env = {
        **os.environ,
        **identity_env(directory, fallback=True),
        "PYTHONUNBUFFERED": "1",
    }
    process = subprocess.Popen(
        [sys.executable, SCRIPT, str(trials)],
        cwd=directory,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env=env,
    )
    output: list[str] = []
    for line in process.stdout or ():
        output.append(line)
        match = _PROGRESS_LINE.match(line)
        if match and on_progress is not None:
            on_progress(int(match["done"]), int(match["total"]), line.strip())
    if process.wait() != 0:
        tail = "".join(output[-40:]).strip()
        raise DemoError(f"training failed in {directory / SCRIPT}:\n{tail}")


def run_demo(
    directory: Path,
    rows: int = 10_000,
    trials: int = 20,
    on_progress: Callable[[int, int, str], None] | None = None,
) -> DemoResult:
    """Make ``directory`` a demo repository, train, log and commit; returns what it made.

    Example::

        result = run_demo(Path("gitruns-demo"))
        print(result.runs_commit)
    """
    check_requirements()
    prepare_directory(directory)
    write_files(directory, rows)
    code_commit = commit_paths(
        directory,
        [directory / SCRIPT, directory / ".gitignore", directory / "README.md"],
        "Add the demo's training script",
        fallback_identity=True,
    )
    runs_dir = directory / "runs"
    # The metric that ranks the runs, declared (the script itself stays MLflow's own
    # code): the listings, the site and a review of the demo's runs all judge by rmse.
    workspace = Workspace.at(runs_dir)
    workspace.create_experiment(
        ExperimentRecord(name=EXPERIMENT, primary_metric="rmse", goal="minimize")
    )
    before = {path.name for path in workspace.run_dirs()}
    train(directory, trials, on_progress)
    runs_commit = commit_paths(directory, [runs_dir], "Add demo runs", fallback_identity=True)
    result = DemoResult(directory=directory, code_commit=code_commit, runs_commit=runs_commit)
    for run_dir in workspace.run_dirs():
        if run_dir.name in before:
            continue
        record = read_run_record(run_dir)
        rmse = record.metrics.get("rmse")
        if record.status == FINISHED and rmse is not None:
            result.runs.append((record.id, record.name, rmse.last))
    model = workspace.registry.models().get(MODEL_NAME)
    for state in model.live_versions() if model else []:
        result.model_versions.append((MODEL_NAME, state.label, state.current_stage))
    from gitruns.site import build_site

    build_site(runs_dir, directory / "site")
    result.site = directory / "site" / "index.html"
    return result
