"""Where a reproduction runs: a checkout of the run's commit that shares the repository's
objects and runs no hook or filter, the run's diff applied to it, data linked in, and,
on request, a fresh virtualenv holding the packages the run recorded."""

from __future__ import annotations

import logging
import os
import shlex
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from gitruns.reproduce.plan import ReproduceError, plain_requirements
from gitruns.utils.files import has_link_on_path
from gitruns.utils.git import run_git

logger = logging.getLogger(__name__)


def recorded_python(folder: Path, requirements: str) -> str:
    """A new virtualenv in ``folder`` holding the recorded packages; its Python.

    gitruns itself, when this one was installed from a folder (a clone, as in
    development), is installed from that folder: such a version is on no index.
    """
    lines = plain_requirements(requirements)
    subprocess.run([sys.executable, "-m", "venv", str(folder)], check=True, capture_output=True)
    python = folder / "bin" / "python"
    wanted = folder / "requirements.txt"
    wanted.write_text(_installable("\n".join(lines) + "\n"))
    uv = shutil.which("uv")
    command = (
        [uv, "pip", "install", "--python", str(python), "-r", str(wanted)]
        if uv
        else [str(python), "-m", "pip", "install", "--quiet", "-r", str(wanted)]
    )
    logger.info("Building the recorded environment: %s", shlex.join(command))
    done = subprocess.run(command, capture_output=True, text=True)
    if done.returncode != 0:
        raise ReproduceError(
            "the packages the run recorded could not be installed in a new virtualenv "
            f"({'uv' if uv else 'pip'} said: {(done.stderr or done.stdout).strip()[-800:]}). "
            "Reproduce with --env current, and read the drift table instead."
        )
    return str(python)


def installed_packages(python: str) -> str:
    """The package list another Python's environment would record."""
    code = (
        "from gitruns.store.capture import capture_environment as c; "
        "print(c().requirements, end='')"
    )
    done = subprocess.run([python, "-c", code], capture_output=True, text=True, check=True)
    return done.stdout


def _installable(requirements: str) -> str:
    """The recorded list, with gitruns from the folder this one came from when it was
    installed from one."""
    import json
    from importlib import metadata
    from urllib.parse import unquote, urlsplit

    try:
        direct = json.loads(metadata.distribution("gitruns").read_text("direct_url.json") or "{}")
    except (metadata.PackageNotFoundError, ValueError):
        direct = {}
    source = direct.get("url", "")
    if not source.startswith("file://"):
        return requirements
    folder = unquote(urlsplit(source).path)
    lines = [
        folder if line.lower().startswith("gitruns==") else line
        for line in requirements.splitlines()
    ]
    return "\n".join(lines) + "\n"


def apply_diff(diff: str, worktree: Path, run_id: str) -> None:
    result = subprocess.run(
        ["git", "apply", "--whitespace=nowarn", "-"],
        cwd=worktree,
        input=diff.encode("utf-8"),
        capture_output=True,
    )
    if result.returncode != 0:
        raise ReproduceError(
            f"the uncommitted changes of run {run_id} (code.diff) no longer apply to its "
            f"commit: {result.stderr.decode(errors='replace').strip()[:500]}"
        )


def link_data(repo_top: Path, worktree: Path, path: Path) -> None:
    """Make a file or folder of the work tree (data outside git) visible in the worktree
    at the same place. ``path`` is relative to the repository's top, or absolute inside
    it; a link on its way (data kept on another disk) is followed to what it names."""
    given = Path(os.path.abspath(path if path.is_absolute() else repo_top / path))
    try:
        relative = given.relative_to(repo_top)
    except ValueError:
        try:
            relative = given.resolve().relative_to(repo_top)
        except ValueError:
            raise ReproduceError(
                f"{path} is not inside {repo_top}; pass data inside the repository."
            ) from None
    source = given.resolve()
    if not source.exists():
        raise ReproduceError(f"{path} does not exist; pass the data the run read.")
    target = worktree / relative
    if target.exists():
        return  # git holds it at that commit, or a folder lent already holds it
    if has_link_on_path(worktree, relative.as_posix()):
        raise ReproduceError(
            f"the run's commit holds a link on the way to {relative}; data is never lent "
            "through a link a commit made (it could lead out of the checkout). Reproduce with "
            "--keep, then put the data in the kept checkout yourself and run the command there."
        )
    target.parent.mkdir(parents=True, exist_ok=True)
    target.symlink_to(source, target_is_directory=source.is_dir())


CHECKOUT_ATTRIBUTES = "* -filter !diff !merge\n"
NO_HOOKS = ["-c", f"core.hooksPath={os.devnull}"]


def checkout(repo_top: Path, commit: str, run_id: str) -> Path:
    """A clone of the repository at ``commit``, sharing its objects (no copy), with the
    user's remote (so runs record where the code lives, not this folder); private
    (mkdtemp's 0700), running no hook and no filter driver."""
    folder = Path(tempfile.mkdtemp(prefix=f"gitruns-reproduce-{run_id[:8]}-"))
    try:
        run_git(
            [
                *NO_HOOKS,
                "clone",
                "--quiet",
                "--shared",
                "--no-checkout",
                "--template=",
                str(repo_top),
                str(folder),
            ],
            repo_top,
        )
        run_git(["config", "core.hooksPath", os.devnull], folder)
        info = folder / ".git" / "info"
        info.mkdir(exist_ok=True)
        (info / "attributes").write_text(CHECKOUT_ATTRIBUTES)
        run_git([*NO_HOOKS, "checkout", "--quiet", "--detach", commit], folder)
        remote = run_git(["remote", "get-url", "origin"], repo_top, check=False).decode().strip()
        if remote:
            run_git(["remote", "set-url", "origin", remote], folder)
        else:
            run_git(["remote", "remove", "origin"], folder)
    except BaseException:
        shutil.rmtree(folder, ignore_errors=True)
        raise
    return folder
