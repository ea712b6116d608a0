"""``gitruns init``: set up a repository for gitruns, and with ``--github`` its workflows.

It writes ``runs/.gitignore`` (the search index stays out of git) and, with
``github=True``, two workflows pinned to the installed gitruns: one builds the
site and publishes it on GitHub Pages on every push to the default branch, the
other posts the pull-request review. Existing files are never overwritten
unless ``force`` is given.
"""

from __future__ import annotations

import logging
from importlib import resources
from pathlib import Path

from gitruns import __version__
from gitruns.exceptions import GitrunsError
from gitruns.index import IGNORE_LINE

logger = logging.getLogger(__name__)

WORKFLOWS = ("gitruns-site.yml", "gitruns-review.yml")


def workflow_text(name: str, requirement: str | None = None) -> str:
    """A workflow shipped with gitruns, pinned to ``requirement`` (default: this version)."""
    template = resources.files("gitruns.workflows").joinpath(name).read_text()
    pin = requirement or f'"gitruns[ml]=={__version__}"'
    return template.replace("GITRUNS_REQUIREMENT", pin).replace("GITRUNS_VERSION", __version__)


def init_project(
    repo_top: Path, runs_dir: str = "runs", github: bool = False, force: bool = False
) -> list[Path]:
    """Prepare ``repo_top`` for gitruns; returns the files written.

    Example::

        init_project(Path("."), github=True)
    """
    planned: dict[Path, str] = {repo_top / runs_dir / ".gitignore": f"{IGNORE_LINE}\n"}
    if github:
        for name in WORKFLOWS:
            planned[repo_top / ".github" / "workflows" / name] = workflow_text(name)
    existing = [path for path in planned if path.exists() and not force]
    ignore = repo_top / runs_dir / ".gitignore"
    if ignore in existing and IGNORE_LINE in ignore.read_text().splitlines():
        existing.remove(ignore)
        planned.pop(ignore)
    if existing:
        raise GitrunsError(
            f"{', '.join(str(path) for path in existing)} already exist(s); gitruns init does not "
            "overwrite them. Pass --force to replace them.",
            error_code="RESOURCE_ALREADY_EXISTS",
        )
    written = []
    for path, text in planned.items():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
        written.append(path)
        logger.info("Wrote %s", path)
    return written
