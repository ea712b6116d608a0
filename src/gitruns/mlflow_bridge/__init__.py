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

import contextlib
import os
from collections.abc import Iterator
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
