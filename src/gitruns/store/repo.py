"""Writing to the git repository that holds the runs: committing them.

Only the paths given are committed; anything else the user has staged stays
staged and out of the commit.
"""

from __future__ import annotations

import logging
from pathlib import Path

from gitruns.exceptions import GitError
from gitruns.store.folder import remove_stale_temporaries
from gitruns.store.index import INDEX_FOLDER, ensure_ignore_file
from gitruns.store.migrate import fold_ended_logs
from gitruns.utils.git import find_repo_top, run_git

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


def identity_env(repo_top: Path, *, fallback: bool = False) -> dict[str, str]:
    """Environment for git commands that record an author: empty when git knows the user.

    Without an identity, ``fallback`` (used where gitruns made the repository
    itself, as the demo does) names the demo; otherwise this raises.
    """
    if has_identity(repo_top):
        return {}
    if not fallback:
        raise GitError(
            "git does not know who you are, so it cannot commit or tag. Run "
            "'git config --global user.name \"Your Name\"' and "
            "'git config --global user.email you@example.com', then try again."
        )
    name, email = FALLBACK_IDENTITY
    return {
        "GIT_AUTHOR_NAME": name,
        "GIT_AUTHOR_EMAIL": email,
        "GIT_COMMITTER_NAME": name,
        "GIT_COMMITTER_EMAIL": email,
    }


def commit_paths(
    repo_top: Path, paths: list[Path], message: str, *, fallback_identity: bool = False
) -> str | None:
    """Commit ``paths`` alone; returns the new commit, or None when nothing changed.

    Example::

        commit_paths(Path("."), [Path("runs")], "Add tuning runs")
    """
    relative = [str(path.resolve().relative_to(repo_top.resolve())) for path in paths]
    # The search index is a cache of each machine's own: never added, even where a
    # .gitignore line is missing or a branch force-added it.
    caches = [f":(exclude,glob){folder}/**/{INDEX_FOLDER}/**" for folder in relative]
    run_git(["add", "--", *relative, *caches], repo_top)
    staged = run_git(["diff", "--cached", "--name-only", "--", *relative], repo_top)
    if not staged.strip():
        logger.info("Nothing new to commit in %s", ", ".join(relative))
        return None
    env = identity_env(repo_top, fallback=fallback_identity)
    everything = run_git(["diff", "--cached", "--name-only"], repo_top)
    # Commit what is staged when it is all ours (a cache taken out of git is a deletion
    # git could not commit by path); else only the paths, leaving the user's staging be.
    only = [] if everything == staged else ["--", *relative, *caches]
    run_git(["commit", "--quiet", "--no-verify", "-m", message, *only], repo_top, env=env)
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
    remove_stale_temporaries(runs_dir)
    fold_ended_logs(runs_dir)
    ensure_ignore_file(runs_dir)
    _untrack_index(repo_top, runs_dir)
    return commit_paths(repo_top, [runs_dir], message or "Add runs")


def _untrack_index(repo_top: Path, runs_dir: Path) -> None:
    """A search index a branch committed leaves git (the files stay: they are a cache)."""
    cache = (runs_dir.resolve().relative_to(repo_top.resolve()) / INDEX_FOLDER).as_posix()
    if run_git(["ls-files", "--", cache], repo_top, check=False).strip():
        logger.warning("%s was committed; it is a cache, so it leaves git now.", cache)
        run_git(["rm", "-r", "--cached", "--quiet", "--", cache], repo_top)
