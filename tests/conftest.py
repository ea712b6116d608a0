"""Shared fixtures: every test gets its own HOME, git config and git repository.

Nothing depends on the machine's settings: HOME and git's global config point
into a temporary folder, and gitruns' process-wide state is reset between tests.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

import gitruns
from gitruns import location, once, tracking
from gitruns.cli import console as cli_console
from gitruns.store import session

GIT_IDENTITY = ["-c", "user.name=Test User", "-c", "user.email=test@example.com"]


def git(repo: Path, *args: str) -> str:
    """Run git in ``repo`` and return its output (tests' own helper, not gitruns')."""
    result = subprocess.run(
        ["git", *GIT_IDENTITY, *args], cwd=repo, capture_output=True, text=True, check=True
    )
    return result.stdout


def make_repo(path: Path, files: dict[str, str] | None = None) -> Path:
    path.mkdir(parents=True, exist_ok=True)
    git(path, "init", "--quiet", "--initial-branch=main")
    for name, text in (files or {"train.py": "print('train')\n"}).items():
        (path / name).parent.mkdir(parents=True, exist_ok=True)
        (path / name).write_text(text)
    git(path, "add", ".")
    git(path, "commit", "--quiet", "-m", "initial commit")
    return path


@pytest.fixture(autouse=True)
def isolated_environment(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch):
    home = tmp_path_factory.mktemp("home")
    config = home / ".gitconfig"
    config.write_text("[user]\n\tname = Test User\n\temail = test@example.com\n")
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("GIT_CONFIG_GLOBAL", str(config))
    monkeypatch.setenv("GIT_CONFIG_NOSYSTEM", "1")
    # What the CLI prints is read at the width piped output gets, whatever terminal (or
    # test worker) runs the tests.
    monkeypatch.setattr(cli_console, "width", 160)
    for variable in (
        "GITRUNS_DIR",
        "MLFLOW_TRACKING_URI",
        "MLFLOW_EXPERIMENT_NAME",
        "MLFLOW_EXPERIMENT_ID",
    ):
        monkeypatch.delenv(variable, raising=False)
    yield
    while gitruns.active_run() is not None:
        gitruns.end_run()
    session.end_all("FINISHED", None)
    location.set_tracking_uri(None)
    tracking.forget_session()
    once.forget()


@pytest.fixture()
def repo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A real git repository with one commit, as the current directory."""
    path = make_repo(tmp_path / "project")
    monkeypatch.chdir(path)
    return path


def installed_command(name: str) -> str:
    """A console script installed with the package: beside this Python, else on PATH."""
    beside = Path(sys.executable).parent / name
    command = str(beside) if beside.exists() else shutil.which(name)
    assert command, f"{name} is installed with the package's dev extra"
    return command


def run_python(
    code: str, cwd: Path, timeout: float = 60, **kwargs
) -> subprocess.CompletedProcess[str]:
    """Run ``code`` in a fresh Python process (same interpreter, same environment)."""
    return subprocess.run(
        [sys.executable, "-c", code],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=timeout,
        env={**os.environ, **kwargs.pop("env", {})},
        **kwargs,
    )
