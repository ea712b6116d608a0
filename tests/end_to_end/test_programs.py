"""MLflow programs run unchanged but for the import (tests/programs/): with gitruns, and
with real MLflow where its side virtualenv is installed, so each is shown to be a real
MLflow program that gitruns runs to the end too."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from tests.conftest import git, make_repo

PROGRAMS = sorted((Path(__file__).parents[1] / "programs").glob("*.py"))
MLFLOW_PYTHON = os.environ.get("GITRUNS_TEST_MLFLOW_PYTHON")

pytestmark = pytest.mark.slow


def as_gitruns(source: str) -> str:
    """The change a user makes: ``import mlflow`` -> ``import gitruns as mlflow``."""
    source = re.sub(r"^import mlflow\b", "import gitruns as mlflow", source, flags=re.M)
    return re.sub(r"^from mlflow(\.| )", r"from gitruns\1", source, flags=re.M)


Ran = tuple[subprocess.CompletedProcess[str], Path]  # what it printed, and its repository


def run_program(python: str, program: Path, source: str, folder: Path, env: dict[str, str]) -> Ran:
    """The program in a git repository of its own, as a user's project would hold it."""
    repo = make_repo(folder / program.stem)
    (repo / program.name).write_text(source)
    git(repo, "add", program.name)
    git(repo, "commit", "-qm", f"Add {program.name}")
    return subprocess.run(
        [python, program.name],
        cwd=repo,
        capture_output=True,
        text=True,
        timeout=600,
        env={**os.environ, **env},
    ), repo


def run_all(python: str, folder: Path, gitruns: bool, **env: str) -> dict[str, Ran]:
    """Every program, two at a time (the machine's two cores; each mostly imports)."""

    def one(program: Path) -> Ran:
        source = as_gitruns(program.read_text()) if gitruns else program.read_text()
        return run_program(python, program, source, folder, env)

    with ThreadPoolExecutor(max_workers=2) as pool:
        return dict(zip([p.stem for p in PROGRAMS], pool.map(one, PROGRAMS), strict=True))


@pytest.fixture(scope="module")
def with_gitruns(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Ran]:
    return run_all(sys.executable, tmp_path_factory.mktemp("gitruns"), gitruns=True)


@pytest.fixture(scope="module")
def with_mlflow(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Ran]:
    if MLFLOW_PYTHON is None:
        pytest.skip("MLflow is not installed in its side venv (GITRUNS_TEST_MLFLOW_PYTHON)")
    return run_all(
        MLFLOW_PYTHON,
        tmp_path_factory.mktemp("mlflow"),
        gitruns=False,
        MLFLOW_TRACKING_URI="sqlite:///mlflow.db",
        MLFLOW_ALLOW_PICKLE_DESERIALIZATION="true",
    )


def ran_to_the_end(ran: Ran) -> None:
    result, _ = ran
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-4000:]
    assert result.stdout.strip().splitlines()[-1] == "OK"


@pytest.mark.parametrize("program", PROGRAMS, ids=[p.stem for p in PROGRAMS])
def test_the_program_runs_with_gitruns(program: Path, with_gitruns):
    source = program.read_text()
    assert "import mlflow" in source and "gitruns" not in source
    ran_to_the_end(with_gitruns[program.stem])
    _, repo = with_gitruns[program.stem]
    assert list((repo / "runs").rglob("run.yaml")), "it logged to runs/"


@pytest.mark.parametrize("program", PROGRAMS, ids=[p.stem for p in PROGRAMS])
def test_the_program_runs_with_mlflow(program: Path, with_mlflow):
    ran_to_the_end(with_mlflow[program.stem])
