"""MLflow's artifact repository for ``gitruns:`` URIs: a run's ``artifacts/`` folder.

Registered as the ``gitruns`` scheme of MLflow's ``mlflow.artifact_repository``
entry point. The URI must name the artifacts folder of a run under a ``runs/``
tree (``gitruns:///…/runs/<experiment>/<run id>/artifacts[/path]``), and nothing is
written or read through a link: a run's folder may come from someone else's
branch, and a link in it could point anywhere.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from mlflow.exceptions import MlflowException
from mlflow.protos.databricks_pb2 import INVALID_PARAMETER_VALUE
from mlflow.store.artifact.local_artifact_repo import LocalArtifactRepository

from gitruns.location import resolve
from gitruns.store.names import RUN_ID_PATTERN
from gitruns.store.record import ARTIFACTS_DIR, RUN_FILE


def artifacts_path(uri: str) -> Path:
    """The folder a ``gitruns:`` artifact URI names, checked to lie in a run's artifacts."""
    path = resolve(uri).runs_dir
    run_dir = next(
        (
            folder.parent
            for folder in [path, *path.parents]
            if folder.name == ARTIFACTS_DIR and RUN_ID_PATTERN.match(folder.parent.name)
        ),
        None,
    )
    if run_dir is None or not (run_dir / RUN_FILE).is_file():
        raise MlflowException(
            f"{uri!r} is not the artifacts folder of a gitruns run "
            "(gitruns:///…/runs/<experiment>/<run id>/artifacts). Log artifacts to a run.",
            error_code=INVALID_PARAMETER_VALUE,
        )
    return path


def _refuse_links(root: Path, target: Path) -> None:
    """Refuse a target reached through a link, at any level below the run's folder."""
    run_dir = next(p for p in [root, *root.parents] if p.name == ARTIFACTS_DIR).parent
    current = target
    while current != run_dir and current != current.parent:
        if current.is_symlink():
            raise MlflowException(
                f"{current} is a link; gitruns neither writes nor reads through links in a "
                "run's folder. Remove the link and log the artifact again.",
                error_code=INVALID_PARAMETER_VALUE,
            )
        current = current.parent


class GitrunsArtifactRepository(LocalArtifactRepository):
    """A run's ``artifacts/`` folder, as MLflow's local repository with gitruns' checks."""

    def __init__(self, artifact_uri: str, *args: Any, **kwargs: Any) -> None:
        self.root = artifacts_path(artifact_uri)
        super().__init__(self.root.as_uri(), *args, **kwargs)

    def _checked(self, artifact_path: str | None) -> None:
        target = self.root / artifact_path if artifact_path else self.root
        _refuse_links(self.root, target)

    def log_artifact(self, local_file: str, artifact_path: str | None = None) -> None:
        self._checked(artifact_path)
        name = os.path.basename(local_file)
        _refuse_links(self.root, self.root / (artifact_path or "") / name)
        super().log_artifact(local_file, artifact_path)

    def log_artifacts(self, local_dir: str, artifact_path: str | None = None) -> None:
        self._checked(artifact_path)
        super().log_artifacts(local_dir, artifact_path)

    def list_artifacts(self, path: str | None = None) -> list[Any]:
        self._checked(path)
        return super().list_artifacts(path)

    def _download_file(self, remote_file_path: str, local_path: str) -> None:
        _refuse_links(self.root, self.root / remote_file_path)
        super()._download_file(remote_file_path, local_path)
