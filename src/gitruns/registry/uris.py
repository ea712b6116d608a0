"""Model URIs: ``runs:/RUN_ID/PATH``, ``models:/NAME/VERSION``, ``models:/NAME/STAGE``,
``models:/NAME@ALIAS`` and ``models:/MODEL_ID``, resolved to a version or a folder."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from gitruns.exceptions import InvalidPath
from gitruns.registry.state import VersionNotFound, VersionState
from gitruns.registry.tags import (
    gto_stage,
    mlflow_stage,
)
from gitruns.store.logged_models import is_standalone_model_id, model_artifacts_dir, model_dir
from gitruns.store.names import check_relative_path, parse_logged_model_id
from gitruns.store.record import ARTIFACTS_DIR

if TYPE_CHECKING:
    from gitruns.registry.operations import Registry


def split_runs_uri(uri: str) -> tuple[str, str]:
    """``runs:/ID/PATH`` -> (ID, PATH); PATH defaults to the artifacts' root."""
    body = uri.removeprefix("runs:/").lstrip("/")
    run_id, _, path = body.partition("/")
    if not run_id:
        raise InvalidPath(f"{uri!r} names no run: write it as 'runs:/RUN_ID/model'.")
    return run_id, path.strip("/")


def locate_model(registry: Registry, uri: str) -> Path:
    """The folder a model URI names, inside its run's artifacts.

    ``models:/NAME/3``, ``models:/NAME/Production``, ``models:/NAME/latest``,
    ``models:/NAME@champion``, ``models:/MODEL_ID`` (a logged model),
    ``runs:/RUN_ID/model``, a ``file:`` URI or a path.
    """
    model_id = uri.removeprefix("models:/").strip("/")
    if uri.startswith("models:/m-") and is_standalone_model_id(model_id):
        return standalone_model_folder(registry, model_id)
    if uri.startswith("models:/m-"):  # a model a run logged: its id names its run and path
        run_id, path = parse_logged_model_id(model_id)
        uri = f"runs:/{run_id}/{path}"
    if uri.startswith("models:/"):
        return registry.model_folder(resolve_version(registry, uri))
    if uri.startswith("runs:/"):
        run_id, path = split_runs_uri(uri)
        run_dir = registry.store.find_run_dir(run_id)
        target = run_dir / ARTIFACTS_DIR / (check_relative_path(path) if path else "")
    else:
        target = Path(uri.removeprefix("file://")) if uri.startswith("file://") else Path(uri)
    if not target.exists():
        raise InvalidPath(
            f"{uri!r} names nothing: {target} does not exist. Check the path (list a run's "
            "artifacts with 'gitruns runs show RUN_ID'), or log the model first."
        )
    return target


def standalone_model_folder(registry: Registry, model_id: str) -> Path:
    """The files of a logged model no run holds (``runs/<experiment>/models/<id>/``)."""
    for experiment_id in registry.store.experiment_ids():
        folder = model_dir(registry.store.experiment_dir(experiment_id), model_id)
        if folder.is_dir() and not folder.is_symlink():
            return model_artifacts_dir(folder)
    raise InvalidPath(
        f"no logged model has the id {model_id!r} in {registry.store.runs_dir}. List them "
        "with search_logged_models."
    )


def resolve_version(registry: Registry, uri: str) -> VersionState:
    """The version a ``models:/`` URI names."""
    body = uri.removeprefix("models:/").strip("/")
    if "@" in body and "/" not in body.split("@", 1)[1]:
        name, alias = body.rsplit("@", 1)
        return registry.alias_holder(name, alias)
    name, _, selector = body.rpartition("/")
    if not name or not selector:
        raise InvalidPath(
            f"{uri!r} is not a model URI: write models:/NAME/VERSION, models:/NAME/STAGE "
            "or models:/NAME@ALIAS."
        )
    model = registry.model(name)
    if selector.isdigit():
        return model.version(selector)
    if selector.lower() == "latest":
        live = model.live_versions()
        if not live:
            raise VersionNotFound(f"model {name!r} has no versions yet.")
        return live[-1]
    stage = gto_stage(selector)
    wanted = mlflow_stage(stage)
    holders = [v for v in model.live_versions() if v.current_stage == wanted or stage in v.stages]
    if not holders:
        raise VersionNotFound(
            f"no version of {name!r} is in stage {wanted!r}. Move one there with "
            f"'gitruns models promote {name} VERSION {wanted}'."
        )
    return holders[-1]
