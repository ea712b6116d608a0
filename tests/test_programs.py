"""MLflow programs run unchanged but for the import (tests/programs/): with gitruns, and
with real MLflow where its side virtualenv is installed, so each is shown to be a real
MLflow program that gitruns runs to the end too."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import git, make_repo

PROGRAMS = sorted((Path(__file__).parent / "programs").glob("*.py"))
MLFLOW_PYTHON = os.environ.get("GITRUNS_TEST_MLFLOW_PYTHON")

pytestmark = pytest.mark.slow


def as_gitruns(source: str) -> str:
    """The change a user makes: ``import mlflow`` -> ``import gitruns as mlflow``."""
    source = re.sub(r"^import mlflow\b", "import gitruns as mlflow", source, flags=re.M)
    return re.sub(r"^from mlflow(\.| )", r"from gitruns\1", source, flags=re.M)


def run_program(python: str, program: Path, source: str, tmp_path: Path, **env: str) -> str:
    repo = make_repo(tmp_path / "project")
    (repo / program.name).write_text(source)
    git(repo, "add", program.name)
    git(repo, "commit", "-qm", f"Add {program.name}")
    result = subprocess.run(
        [python, program.name],
        cwd=repo,
        capture_output=True,
        text=True,
        timeout=600,
        env={**os.environ, **env},
    )
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-4000:]
    assert result.stdout.strip().splitlines()[-1] == "OK"
    return result.stdout


@pytest.mark.parametrize("program", PROGRAMS, ids=[p.stem for p in PROGRAMS])
def test_the_program_runs_with_gitruns(program: Path, tmp_path: Path):
    source = program.read_text()
    assert "import mlflow" in source and "gitruns" not in source
    run_program(sys.executable, program, as_gitruns(source), tmp_path)
    assert list((tmp_path / "project" / "runs").rglob("run.yaml"))  # it logged to runs/


@pytest.mark.skipif(MLFLOW_PYTHON is None, reason="MLflow is not installed in its side venv")
@pytest.mark.parametrize("program", PROGRAMS, ids=[p.stem for p in PROGRAMS])
def test_the_program_runs_with_mlflow(program: Path, tmp_path: Path):
    assert MLFLOW_PYTHON is not None
    run_program(
        MLFLOW_PYTHON,
        program,
        program.read_text(),
        tmp_path,
        MLFLOW_TRACKING_URI="sqlite:///mlflow.db",
        MLFLOW_ALLOW_PICKLE_DESERIALIZATION="true",
    )
