"""gitruns and MLflow, both ways, through MLflow's own client (the ``gitruns[mlflow]`` extra).

- :mod:`~gitruns.mlflow_bridge.importing`: ``gitruns import mlflow SOURCE`` brings an
  ``mlruns/`` folder, a database or a tracking server's runs and registry into ``runs/``
  and registry tags, reading each run's artifacts only where
  :mod:`~gitruns.mlflow_bridge.artifact_sources` allows;
- :mod:`~gitruns.mlflow_bridge.exporting`: ``gitruns export mlflow DEST`` writes them
  back into an MLflow store;
- :mod:`~gitruns.mlflow_bridge.tracking_store`, :mod:`~.registry_store`,
  :mod:`~.artifact_repo` and :mod:`~.context`: MLflow's plugin entry points, so that
  ``mlflow.set_tracking_uri("gitruns:./runs")`` makes MLflow itself write gitruns runs.

Nothing here reads MLflow's files or tables by hand: MLflow's client does, so every
store MLflow supports is read the way MLflow reads it.
"""

from __future__ import annotations

import contextlib
import logging
import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any, ClassVar

from gitruns import system_tags
from gitruns.exceptions import MissingLibrary

logger = logging.getLogger(__name__)

SCHEME = "gitruns"
# MLflow 3.13+ refuses to open an mlruns/ folder unless told it may; reading one to
# move its runs out is exactly what that switch is for.
FILE_STORE_SWITCH = "MLFLOW_ALLOW_FILE_STORE"
# What each side marks a run the other made with: export and import recognise each
# other's runs by them, so a round trip brings nothing twice.
EXPORTED_ID_TAG = system_tags.EXPORTED_ID  # on an MLflow run gitruns exported: its gitruns id
IMPORTED_TAG = system_tags.IMPORTED_FROM  # on a gitruns run an import made: "mlflow"


def require_mlflow() -> Any:
    """MLflow's package, or a clear error saying how to install it."""
    try:
        import mlflow
    except ImportError as error:
        raise MissingLibrary(
            "this needs MLflow, which is not installed. Install it with "
            "pip install 'gitruns[mlflow]'."
        ) from error
    return mlflow


@contextlib.contextmanager
def mlflow_client(uri: str) -> Iterator[Any]:
    """MLflow's client for a tracking and registry URI: an ``mlruns/`` folder, a
    ``sqlite:///…`` (or other database) URI, or an ``http(s)://`` server.

    While it is in use, the URI is also MLflow's default: some of MLflow's stores
    make a client of their own, which would otherwise open (and create) a database
    in the working directory.
    """
    require_mlflow()
    from mlflow.tracking import MlflowClient

    settings = {
        FILE_STORE_SWITCH: "true",
        "MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR": "false",  # gitruns shows its own
        "MLFLOW_TRACKING_URI": uri,
        "MLFLOW_REGISTRY_URI": uri,
    }
    previous = {key: os.environ.get(key) for key in settings}
    os.environ.update(settings)
    try:
        yield MlflowClient(tracking_uri=uri, registry_uri=uri)
    finally:
        for key, value in previous.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


@dataclass
class TransferReport:
    """What an import or export moved, and what it could not move (with why)."""

    verb: ClassVar[str] = "moved"
    runs: list[str] = field(default_factory=list)  # gitruns run ids
    already_there: int = 0  # runs an earlier import or export moved already
    metric_points: int = 0
    artifact_files: int = 0
    model_versions: list[str] = field(default_factory=list)  # "name vN"
    problems: list[tuple[str, str]] = field(default_factory=list)  # (what, why)

    def skip(self, what: str, why: str) -> None:
        self.problems.append((what, why))
        logger.warning("Not %s: %s: %s", self.verb, what, why)

    def summary(self) -> str:
        lines = [
            f"{len(self.runs)} runs {self.verb} ({self.metric_points} metric values, "
            f"{self.artifact_files} artifact files), {self.already_there} already there; "
            f"{self._more()}{len(self.model_versions)} model versions registered."
        ]
        if self.problems:
            lines.append(f"{len(self.problems)} things could not be {self.verb}:")
            lines += [f"  {what}: {why}" for what, why in self.problems]
        return "\n".join(lines)

    def _more(self) -> str:
        return ""
