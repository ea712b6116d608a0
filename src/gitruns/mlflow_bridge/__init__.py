"""gitruns and MLflow, both ways, through MLflow's own client (the ``gitruns[mlflow]`` extra).

- :mod:`~gitruns.mlflow_bridge.importing`: ``gitruns import mlflow SOURCE`` brings an
  ``mlruns/`` folder, a database or a tracking server's runs and registry into ``runs/``
  and registry tags;
- :mod:`~gitruns.mlflow_bridge.exporting`: ``gitruns export mlflow DEST`` writes them
  back into an MLflow store;
- :mod:`~gitruns.mlflow_bridge.tracking_store`, :mod:`~.registry_store`,
  :mod:`~.artifact_repo` and :mod:`~.context`: MLflow's plugin entry points, so that
  ``mlflow.set_tracking_uri("gitruns:./runs")`` makes MLflow itself write gitruns runs.

Nothing here reads MLflow's files or tables by hand: MLflow's client does, so every
store MLflow supports is read the way MLflow reads it.
"""

from __future__ import annotations

import os
from typing import Any

from gitruns.exceptions import MissingLibrary

SCHEME = "gitruns"
# MLflow 3.13+ refuses to open an mlruns/ folder unless told it may; reading one to
# move its runs out is exactly what that switch is for.
FILE_STORE_SWITCH = "MLFLOW_ALLOW_FILE_STORE"


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


def mlflow_client(uri: str) -> Any:
    """MLflow's client for a tracking and registry URI: an ``mlruns/`` folder, a
    ``sqlite:///…`` (or other database) URI, or an ``http(s)://`` server."""
    require_mlflow()
    from mlflow.tracking import MlflowClient

    os.environ.setdefault(FILE_STORE_SWITCH, "true")
    os.environ.setdefault("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", "false")  # ours is shown
    return MlflowClient(tracking_uri=uri, registry_uri=uri)
