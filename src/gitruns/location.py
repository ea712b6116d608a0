"""Where runs go: the tracking URI, resolved to a ``runs/`` folder, and the experiment
``set_experiment`` chose.

In order: ``set_tracking_uri``, then ``GITRUNS_DIR``, then ``MLFLOW_TRACKING_URI``,
then ``runs/`` at the top of the current git repository (``./runs`` outside git).
A folder, a ``file:`` URI or a ``gitruns:`` URI (``gitruns:./runs``, the form MLflow
takes through gitruns' plugin) is used as given. A database or server URI
(``sqlite:///mlflow.db``, ``http://127.0.0.1:5000``), which MLflow tutorials
pass, does not fail: gitruns warns once and keeps runs in the default folder.
"""

from __future__ import annotations

import logging
import os
import re
from pathlib import Path
from typing import NamedTuple
from urllib.parse import unquote, urlsplit

from gitruns import once
from gitruns.utils.git import find_repo_top

logger = logging.getLogger(__name__)

DEFAULT_FOLDER = "runs"
GITRUNS_SCHEME = "gitruns"
_URI_SCHEME = re.compile(r"^(?P<scheme>[A-Za-z][A-Za-z0-9+.-]*):")


class Location(NamedTuple):
    """A resolved tracking location: the runs folder and the repository around it."""

    runs_dir: Path
    repo_top: Path | None

    @property
    def uri(self) -> str:
        return self.runs_dir.as_uri()


def warn_once(key: str, message: str, *args: object) -> None:
    once.warn_once(logger, ("location", key), message, *args)


def warn_if_untracked(where: Location) -> None:
    """Warn once per folder that runs logged outside git carry no code version."""
    if where.repo_top is None:
        warn_once(
            f"nogit:{where.runs_dir}",
            "%s is not inside a git repository: runs are kept there but no code version is "
            "captured. Run 'git init' there (or start from 'gitruns demo') to track code "
            "with runs.",
            where.runs_dir,
        )


class _Current:
    """The tracking URI and the experiment set in this process, and the URI's last
    resolution."""

    uri: str | None = None
    experiment_id: str | None = None
    resolved: Location | None = None
    resolved_for: tuple[str | None, str] | None = None


_current = _Current()


def set_tracking_uri(uri: str | os.PathLike[str] | None) -> None:
    _current.uri = None if uri is None else os.fspath(uri)
    _current.resolved = None


def set_active_experiment(experiment_id: str | None) -> None:
    """The experiment the fluent API's runs and searches use from now on (None: the
    environment's, else Default); :meth:`gitruns.workspace.Workspace.active_experiment`
    resolves it."""
    _current.experiment_id = experiment_id


def active_experiment() -> str | None:
    """The experiment id ``set_experiment`` chose in this process, if any."""
    return _current.experiment_id


def configured_uri(explicit: str | None = None) -> str | None:
    """The URI in force: ``explicit``, else the one set in this process, else the environment's."""
    return (
        explicit
        or _current.uri
        or os.environ.get("GITRUNS_DIR")
        or os.environ.get("MLFLOW_TRACKING_URI")
    )


def current(explicit: str | None = None) -> Location:
    """Where runs go now, for ``explicit`` or the configured URI (cached per URI and folder)."""
    key = (configured_uri(explicit), os.getcwd())
    if _current.resolved is None or _current.resolved_for != key:
        _current.resolved = resolve(key[0])
        _current.resolved_for = key
    return _current.resolved


def resolve(uri: str | None, cwd: Path | None = None) -> Location:
    """Turn a tracking URI (or None for the default) into a :class:`Location`."""
    here = cwd or Path.cwd()
    folder = _folder_of(uri, here) if uri else None
    if folder is not None:
        location = Location(runs_dir=folder, repo_top=find_repo_top(folder.parent))
    else:
        repo_top = find_repo_top(here)
        location = Location(
            runs_dir=(repo_top or here.resolve()) / DEFAULT_FOLDER, repo_top=repo_top
        )
        if uri:
            warn_once(
                f"uri:{uri}",
                "gitruns keeps runs as files in git, so the tracking URI %r (a database or "
                "server) is not used: runs go to %s. Pass a folder or a file: URI to choose "
                "another place.",
                uri,
                location.runs_dir,
            )
    return location


def _folder_of(uri: str, here: Path) -> Path | None:
    """The folder a URI names, or None when it names a database or a server."""
    match = _URI_SCHEME.match(uri)
    if match is None or len(match.group("scheme")) == 1:  # a plain path, or 'C:\\...'
        return (here / Path(uri).expanduser()).resolve()
    scheme = match.group("scheme").lower()
    if scheme == GITRUNS_SCHEME:
        rest = uri[len(GITRUNS_SCHEME) + 1 :]
        path = urlsplit(rest).path if rest.startswith("//") else rest
        return (here / Path(unquote(path or DEFAULT_FOLDER)).expanduser()).resolve()
    if scheme != "file":
        return None
    parts = urlsplit(uri)
    if parts.netloc not in ("", "localhost"):
        return None
    return (here / Path(unquote(parts.path))).resolve()
