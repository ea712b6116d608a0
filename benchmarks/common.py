"""What the benchmarks share: a fresh git repository to log into."""

from __future__ import annotations

import subprocess
from pathlib import Path

GIT = ["git", "-c", "user.name=bench", "-c", "user.email=bench@example.com"]


def make_repository(folder: Path) -> None:
    """A git repository with one commit, as a training project would be."""
    subprocess.run([*GIT, "init", "-q", str(folder)], check=True)
    (folder / "train.py").write_text("print('training')\n")
    subprocess.run([*GIT, "-C", str(folder), "add", "."], check=True)
    subprocess.run([*GIT, "-C", str(folder), "commit", "-qm", "init"], check=True)
