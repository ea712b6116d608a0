"""``gitruns init``: set up a repository for gitruns, and with ``--github`` its workflows.

It adds ``.gitignore`` lines (the search index, unfinished writes and the built
site stay out of git) and, with ``github=True``, three workflows that install
the gitruns this one is, the way it can be had (:func:`install_requirement`):
one builds the site and publishes it on GitHub Pages on every push to the
default branch, two review pull requests. Existing workflows are never
overwritten unless ``force`` is given.
"""

from __future__ import annotations

import importlib.metadata
import json
import logging
from importlib import resources
from pathlib import Path

from gitruns.exceptions import GitError, GitrunsError
from gitruns.store.index import IGNORE_LINES
from gitruns.utils.files import read_regular_file
from gitruns.utils.git import run_git
from gitruns.version import __version__

logger = logging.getLogger(__name__)

WORKFLOWS = ("gitruns-site.yml", "gitruns-review.yml", "gitruns-review-comment.yml")


def install_requirement(distribution: importlib.metadata.Distribution | None = None) -> str:
    """What ``pip install`` takes to get this very gitruns on a fresh machine, quoted.

    From a package index: ``"gitruns==0.1.0"``. From a git URL: that URL at the
    commit installed. From a folder (a clone, an editable install): the
    project's repository at this release's tag, since the folder is not on the
    runner. No extras: building the site and reviewing need no ML libraries.

    >>> install_requirement()  # doctest: +SKIP
    '"gitruns @ git+https://github.com/gitruns/gitruns@v0.1.0"'
    """
    found = distribution or importlib.metadata.distribution("gitruns")
    version = found.version
    try:
        direct = json.loads(found.read_text("direct_url.json") or "null")
    except ValueError:
        direct = None
    if not isinstance(direct, dict):
        return f'"gitruns=={version}"'  # from an index: PEP 610 writes no direct_url.json
    vcs = direct.get("vcs_info")
    url = str(direct.get("url", ""))
    if isinstance(vcs, dict) and vcs.get("vcs") == "git" and url.startswith("https://"):
        return f'"gitruns @ git+{url}@{vcs.get("commit_id") or "v" + version}"'
    urls = dict(
        (label.strip().lower(), link.strip())
        for label, _, link in (
            entry.partition(",") for entry in found.metadata.get_all("Project-URL") or []
        )
    )
    home = urls.get("repository") or urls.get("source") or urls.get("homepage") or PROJECT_URL
    return f'"gitruns @ git+{home.rstrip("/")}@v{version}"'


PROJECT_URL = "https://github.com/gitruns/gitruns"


def workflow_text(name: str, requirement: str | None = None) -> str:
    """A workflow shipped with gitruns, installing ``requirement`` (default: this gitruns,
    as :func:`install_requirement` finds it)."""
    template = resources.files("gitruns.workflows").joinpath(name).read_text()
    pin = requirement or install_requirement()
    return template.replace("GITRUNS_REQUIREMENT", pin).replace("GITRUNS_VERSION", __version__)


SITE_IGNORE_LINE = "/site/"


def add_ignore_lines(path: Path, lines: tuple[str, ...]) -> bool:
    """Append the ``lines`` a ``.gitignore`` (or ``.gitattributes``) lacks, keeping the
    user's own; True if it changed."""
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


# Artifact files that are models or data: stored in Git LFS once the user opts in.
LFS_PATTERNS = (
    "*.pkl", "*.pickle", "*.joblib", "*.skops", "*.ubj", "*.xgb", "*.bin", "*.onnx", "*.pt",
    "*.pth", "*.safetensors", "*.h5", "*.keras", "*.cbm", "*.parquet", "*.feather", "*.arrow",
    "*.npy", "*.npz", "*.gz", "*.zip",
)  # fmt: skip


def lfs_lines(runs_dir: str = "runs") -> tuple[str, ...]:
    """``.gitattributes`` lines that send the runs' model and data artifacts to Git LFS."""
    return tuple(
        f"{runs_dir}/**/artifacts/**/{pattern} filter=lfs diff=lfs merge=lfs -text"
        for pattern in LFS_PATTERNS
    )


def enable_lfs(repo_top: Path, runs_dir: str = "runs") -> list[Path]:
    """Store the runs' model and data artifacts in Git LFS: ``git lfs install`` for this
    repository, and ``.gitattributes`` lines for the artifact patterns (:data:`LFS_PATTERNS`).

    Example::

        enable_lfs(Path("."))
    """
    try:
        run_git(["lfs", "install", "--local"], repo_top)
    except GitError as error:
        raise GitrunsError(
            "Git LFS is not installed, so large artifacts cannot be kept out of git's history "
            f"({error.message}). Install it (apt-get install git-lfs, brew install git-lfs, or "
            "https://git-lfs.com), then run 'gitruns init --lfs' again."
        ) from error
    attributes = repo_top / ".gitattributes"
    return [attributes] if add_ignore_lines(attributes, lfs_lines(runs_dir)) else []


def init_project(
    repo_top: Path,
    runs_dir: str = "runs",
    github: bool = False,
    force: bool = False,
    lfs: bool = False,
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
    if lfs:
        written += enable_lfs(repo_top, runs_dir)
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
