"""A run-context provider for MLflow: the branch, dirty flag and diff of runs MLflow
makes in a git work tree, whatever store they go to.

Registered in MLflow's ``mlflow.run_context_provider`` entry point. MLflow records
the commit itself; this adds ``mlflow.source.git.branch``, ``gitruns.git.dirty``
and, when the tree has changes, ``gitruns.git.diff``: the uncommitted diff with
secrets redacted (gitruns' own scanning), cut to fit MLflow's tag limit. A run in a
``gitruns:`` store keeps the whole diff in ``code.diff`` instead.
"""

from __future__ import annotations

import logging
from pathlib import Path

from mlflow.tracking.context.abstract_context import RunContextProvider

from gitruns import system_tags
from gitruns.exceptions import GitrunsError
from gitruns.location import DEFAULT_FOLDER
from gitruns.store.capture import capture_git
from gitruns.utils.git import find_repo_top

logger = logging.getLogger(__name__)

MAX_DIFF_TAG = 7_900  # MLflow's tag values hold 8,000 characters
CUT_NOTE = "\n[cut: the diff is longer; a gitruns store keeps it whole in code.diff]\n"


class GitContextProvider(RunContextProvider):
    """Adds what gitruns captures of the work tree to runs MLflow starts in one."""

    def in_context(self) -> bool:
        return find_repo_top(Path.cwd()) is not None

    def tags(self) -> dict[str, str]:
        repo_top = find_repo_top(Path.cwd())
        if repo_top is None:
            return {}
        try:
            snapshot = capture_git(repo_top, repo_top / DEFAULT_FOLDER)
        except (GitrunsError, OSError) as error:
            logger.warning("Could not read the git work tree for the run's tags: %s", error)
            return {}
        if snapshot is None:
            return {}
        tags = {system_tags.GIT_DIRTY: str(snapshot.dirty).lower()}
        if snapshot.branch:
            tags[system_tags.GIT_BRANCH] = snapshot.branch
        if snapshot.diff:
            diff = snapshot.diff
            tags[system_tags.GIT_DIFF] = (
                diff
                if len(diff) <= MAX_DIFF_TAG
                else diff[: MAX_DIFF_TAG - len(CUT_NOTE)] + CUT_NOTE
            )
        return tags
