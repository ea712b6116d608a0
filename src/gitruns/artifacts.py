"""``mlflow.artifacts``: a run's artifacts by URI (``runs:/RUN_ID/PATH``) or by run id.

Example::

    import gitruns as mlflow

    config = mlflow.artifacts.load_dict(f"runs:/{run_id}/config.json")
    local = mlflow.artifacts.download_artifacts(run_id=run_id, artifact_path="model")
"""

from __future__ import annotations

import json
from typing import Any

from gitruns.client import MlflowClient
from gitruns.entities import FileInfo
from gitruns.exceptions import InvalidValue
from gitruns.registry import split_runs_uri
from gitruns.utils.files import read_regular_file

MAX_LOADED_BYTES = 64 * 1024 * 1024


def _run_and_path(
    artifact_uri: str | None, run_id: str | None, artifact_path: str | None
) -> tuple[str, str]:
    if artifact_uri is not None:
        if run_id is not None or artifact_path is not None:
            raise InvalidValue(
                "pass either artifact_uri, or run_id (with artifact_path), not both."
            )
        if not str(artifact_uri).startswith("runs:/"):
            raise InvalidValue(
                f"artifact_uri {artifact_uri!r} is not a run's: write it as "
                "'runs:/RUN_ID/path/in/artifacts'."
            )
        return split_runs_uri(str(artifact_uri))
    if run_id is None:
        raise InvalidValue("pass artifact_uri='runs:/RUN_ID/path', or run_id=... .")
    return run_id, artifact_path or ""


def download_artifacts(
    artifact_uri: str | None = None,
    run_id: str | None = None,
    artifact_path: str | None = None,
    dst_path: str | None = None,
    tracking_uri: str | None = None,
) -> str:
    """Copy a run's artifact (a file or a folder) to ``dst_path`` (a new temporary
    folder by default); returns its absolute local path."""
    run, path = _run_and_path(artifact_uri, run_id, artifact_path)
    return MlflowClient(tracking_uri).download_artifacts(run, path, dst_path)


def list_artifacts(
    artifact_uri: str | None = None,
    run_id: str | None = None,
    artifact_path: str | None = None,
    tracking_uri: str | None = None,
) -> list[FileInfo]:
    """The files and folders directly inside a run's artifact folder."""
    run, path = _run_and_path(artifact_uri, run_id, artifact_path)
    return MlflowClient(tracking_uri).list_artifacts(run, path or None)


def _load(artifact_uri: str) -> bytes:
    run, path = _run_and_path(artifact_uri, None, None)
    return read_regular_file(MlflowClient().workspace.artifact_path(run, path), MAX_LOADED_BYTES)


def load_text(artifact_uri: str) -> str:
    """The text of a run's artifact file (UTF-8)."""
    return _load(artifact_uri).decode("utf-8")


def load_dict(artifact_uri: str) -> dict[str, Any]:
    """A run's JSON or YAML artifact file, as a dict."""
    from gitruns.utils.yamlcodec import load_yaml

    text = _load(artifact_uri).decode("utf-8")
    try:
        data = json.loads(text)
    except ValueError:
        data = load_yaml(text)
    if not isinstance(data, dict):
        raise InvalidValue(f"{artifact_uri} does not hold a mapping (JSON object or YAML map).")
    return data


def load_image(artifact_uri: str) -> Any:
    """A run's image artifact as a ``PIL.Image`` (Pillow must be installed)."""
    import io

    from gitruns.models import require

    image = require("PIL.Image", "pillow")
    return image.open(io.BytesIO(_load(artifact_uri)))
