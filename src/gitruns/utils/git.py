"""git, run as a program: the plumbing every layer calls (gitruns never reimplements git).

Example::

    top = find_repo_top(Path.cwd())
    commit = run_git(["rev-parse", "HEAD"], top).decode().strip()
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path
from typing import NamedTuple

from gitruns.exceptions import GitError


def find_repo_top(start: Path) -> Path | None:
    """The top folder of the git work tree holding ``start``, or None outside git."""
    folder = start.resolve()
    for candidate in (folder, *folder.parents):
        if (candidate / ".git").exists():
            return candidate
    return None


class GitUnavailable(GitError):
    """git is not installed, or the folder is not a usable repository."""


# Reading must never write: git refreshes its index as it looks unless told not to.
GIT_COMMAND = ("git", "--no-optional-locks")
NO_GIT = "git is not installed. Install it (e.g. 'apt-get install git') to record code versions."


def run_git(
    args: list[str], cwd: Path, check: bool = True, env: dict[str, str] | None = None
) -> bytes:
    """Run ``git args`` in ``cwd`` (with ``env`` added to the environment); its output."""
    result = _git(args, cwd, env)
    if check and result.returncode != 0:
        raise _failed(args, result.stderr)
    return result.stdout


def run_git_together(commands: list[list[str]], cwd: Path) -> list[bytes]:
    """Run read-only git commands in ``cwd`` side by side; their outputs, in order. As
    with :func:`run_git`, one that fails raises."""
    processes: list[subprocess.Popen[bytes]] = []
    try:
        for args in commands:
            processes.append(
                subprocess.Popen(
                    [*GIT_COMMAND, *args], cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.PIPE
                )
            )
        finished = [process.communicate() for process in processes]
    except FileNotFoundError as error:
        raise GitUnavailable(NO_GIT) from error
    finally:
        for process in processes:
            if process.poll() is None:  # left behind by an error
                process.kill()
                process.wait()
    for args, process, (_, stderr) in zip(commands, processes, finished, strict=True):
        if process.returncode != 0:
            raise _failed(args, stderr)
    return [stdout for stdout, _ in finished]


def _failed(args: list[str], stderr: bytes) -> GitUnavailable:
    message = stderr.decode(errors="replace").strip()
    return GitUnavailable(f"git {' '.join(args)} failed: {message}")


class GitOutcome(NamedTuple):
    """How a git command ended, for commands whose refusal is an answer (a push)."""

    returncode: int
    output: str  # what it printed, both streams


def try_git(args: list[str], cwd: Path, env: dict[str, str] | None = None) -> GitOutcome:
    """Run ``git args`` in ``cwd`` and say how it ended, without raising on failure."""
    result = _git(args, cwd, env)
    return GitOutcome(result.returncode, (result.stdout + result.stderr).decode(errors="replace"))


def _git(
    args: list[str], cwd: Path, env: dict[str, str] | None
) -> subprocess.CompletedProcess[bytes]:
    try:
        return subprocess.run(
            [*GIT_COMMAND, *args],
            cwd=cwd,
            capture_output=True,
            check=False,
            env=None if env is None else {**os.environ, **env},
        )
    except FileNotFoundError as error:
        raise GitUnavailable(NO_GIT) from error
