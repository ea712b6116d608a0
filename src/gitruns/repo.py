"""Writing to the git repository that holds the runs: committing them.

Only the paths given are committed; anything else the user has staged stays
staged and out of the commit.
"""

from __future__ import annotations

import logging
from pathlib import Path

from gitruns.capture import find_repo_top, run_git
from gitruns.exceptions import GitError

logger = logging.getLogger(__name__)

# Used only where gitruns makes a repository itself (the demo) and git has no identity.
FALLBACK_IDENTITY = ("gitruns demo", "demo@gitruns.invalid")


def has_identity(repo_top: Path) -> bool:
    """Whether git can name the author of a commit (from config or GIT_* variables)."""
    try:
        run_git(["var", "GIT_COMMITTER_IDENT"], repo_top)
        run_git(["var", "GIT_AUTHOR_IDENT"], repo_top)
    except GitError:
        return False
    return True


def commit_paths(
    repo_top: Path, paths: list[Path], message: str, *, fallback_identity: bool = False
) -> str | None:
    """Commit ``paths`` alone; returns the new commit, or None when nothing changed.

    Example::

        commit_paths(Path("."), [Path("runs")], "Add tuning runs")
    """
    relative = [str(path.resolve().relative_to(repo_top.resolve())) for path in paths]
    run_git(["add", "--", *relative], repo_top)
    staged = run_git(["diff", "--cached", "--name-only", "--", *relative], repo_top)
    if not staged.strip():
        logger.info("Nothing new to commit in %s", ", ".join(relative))
        return None
    identity: list[str] = []
    if not has_identity(repo_top):
        if not fallback_identity:
            raise GitError(
                "git does not know who you are, so it cannot commit. Run "
                "'git config --global user.name \"Your Name\"' and "
                "'git config --global user.email you@example.com', then try again."
            )
        identity = [
            "-c",
            f"user.name={FALLBACK_IDENTITY[0]}",
            "-c",
            f"user.email={FALLBACK_IDENTITY[1]}",
        ]
    run_git(
        [*identity, "commit", "--quiet", "--no-verify", "-m", message, "--", *relative], repo_top
    )
    commit = run_git(["rev-parse", "HEAD"], repo_top).decode().strip()
    logger.info("Committed %s as %s", ", ".join(relative), commit[:10])
    return commit


def commit_runs(runs_dir: Path, message: str | None = None) -> str | None:
    """Commit the ``runs/`` folder alone; returns the commit, or None when nothing changed."""
    repo_top = find_repo_top(runs_dir.parent if not runs_dir.exists() else runs_dir)
    if repo_top is None:
        raise GitError(
            f"{runs_dir} is not inside a git repository, so there is nothing to commit to. "
            "Run 'git init' in your project first."
        )
    if not runs_dir.exists():
        raise GitError(f"{runs_dir} does not exist yet: log a run first.")
    return commit_paths(repo_top, [runs_dir], message or "Add runs")
