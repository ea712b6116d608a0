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
from gitruns.index import IGNORE_LINES
from gitruns.record import read_regular_file

logger = logging.getLogger(__name__)

WORKFLOWS = ("gitruns-site.yml", "gitruns-review.yml", "gitruns-review-comment.yml")


def workflow_text(name: str, requirement: str | None = None) -> str:
    """A workflow shipped with gitruns, pinned to ``requirement`` (default: this version)."""
    template = resources.files("gitruns.workflows").joinpath(name).read_text()
    pin = requirement or f'"gitruns[ml]=={__version__}"'
    return template.replace("GITRUNS_REQUIREMENT", pin).replace("GITRUNS_VERSION", __version__)


SITE_IGNORE_LINE = "/site/"


def add_ignore_lines(path: Path, lines: tuple[str, ...]) -> bool:
    """Append the ``lines`` a ``.gitignore`` lacks, keeping the user's own; True if it changed."""
    try:
        existing = read_regular_file(path).decode("utf-8").splitlines()
    except FileNotFoundError:
        existing = []
    except (GitrunsError, UnicodeDecodeError) as error:
        raise GitrunsError(
            f"{path} is not a plain text file ({error}). Replace it with one, then run "
            "gitruns init again."
        ) from error
    missing = [line for line in lines if line not in existing]
    if not missing:
        return False
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join([*existing, *missing]) + "\n")
    return True


def init_project(
    repo_top: Path, runs_dir: str = "runs", github: bool = False, force: bool = False
) -> list[Path]:
    """Prepare ``repo_top`` for gitruns; returns the files written.

    ``runs/.gitignore`` keeps the search index and unfinished writes out of git,
    and the top ``.gitignore`` keeps the built site out (else every later run's
    diff would carry it). Both only gain the lines they lack.

    Example::

        init_project(Path("."), github=True)
    """
    written = []
    ignores = {
        repo_top / runs_dir / ".gitignore": IGNORE_LINES,
        repo_top / ".gitignore": (SITE_IGNORE_LINE,),
    }
    for path, lines in ignores.items():
        if add_ignore_lines(path, lines):
            written.append(path)
            logger.info("Wrote %s", path)
    if not github:
        return written
    planned = {repo_top / ".github" / "workflows" / name: workflow_text(name) for name in WORKFLOWS}
    existing = [path for path in planned if path.exists() and not force]
    if existing:
        raise GitrunsError(
            f"{', '.join(str(path) for path in existing)} already exist(s); gitruns init does not "
            "overwrite them. Pass --force to replace them.",
            error_code="RESOURCE_ALREADY_EXISTS",
        )
    for path, text in planned.items():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
        written.append(path)
        logger.info("Wrote %s", path)
    return written
