"""The XGBoost flavor's saving and loading, below autologging; ``gitruns.xgboost`` is
its public face (with ``autolog``)."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from gitruns.exceptions import InvalidValue
from gitruns.models import (
    ModelInfo,
    flavor_conf,
    log_model_folder,
    model_file,
    model_folder,
    pinned,
    prepare_folder,
    require,
    write_model_folder,
)

FLAVOR = "xgboost"
MODEL_FORMATS = ("ubj", "json", "xgb")  # what XGBoost's save_model writes, by file suffix


def save_folder(
    xgb_model: Any,
    folder: Path,
    run_id: str | None,
    artifact_path: str | None,
    model_format: str,
    signature: Any,
    input_example: Any,
) -> ModelInfo:
    xgb = require("xgboost")
    if model_format not in MODEL_FORMATS:
        raise InvalidValue(
            f"model_format {model_format!r} is not one XGBoost saves; pass one of "
            f"{', '.join(MODEL_FORMATS)} (ubj, the default, is the smallest)."
        )
    model_file = f"model.{model_format}"
    xgb_model.save_model(str(folder / model_file))
    model_class = f"{type(xgb_model).__module__}.{type(xgb_model).__qualname__}"
    conf = {
        "code": None,
        "data": model_file,
        "model_class": model_class,
        "model_format": model_format,
        "xgb_version": xgb.__version__,
    }
    if signature is False:  # asked for none, as MLflow's log_model(signature=False)
        signature = None
    elif signature is None and input_example is not None:
        from gitruns.signature import infer_signature

        signature = infer_signature(input_example)
    return write_model_folder(
        folder,
        flavor=FLAVOR,
        flavor_conf=conf,
        loader_module="mlflow.xgboost",
        model_file=model_file,
        requirements=pinned("xgboost", "numpy", "scipy"),
        signature=signature,
        input_example=input_example,
        run_id=run_id,
        artifact_path=artifact_path,
    )


def save_model(
    xgb_model: Any,
    path: str | Path,
    model_format: str = "ubj",
    signature: Any = None,
    input_example: Any = None,
    **_: Any,
) -> ModelInfo:
    """Save a booster or an XGBoost scikit-learn model to a new folder ``path``."""
    folder = prepare_folder(path)
    return save_folder(xgb_model, folder, None, None, model_format, signature, input_example)


def log_model(
    xgb_model: Any,
    artifact_path: str | None = None,
    *,
    name: str | None = None,
    model_format: str = "ubj",
    registered_model_name: str | None = None,
    signature: Any = None,
    input_example: Any = None,
    params: Mapping[str, Any] | None = None,
    tags: Mapping[str, Any] | None = None,
    metadata: Mapping[str, Any] | None = None,
    **_: Any,
) -> ModelInfo:
    """Save a model into the active run's artifacts (``artifact_path`` or ``name``, default
    ``model``), and register it as a new version when a name is given."""
    return log_model_folder(
        lambda folder, run_id, path: save_folder(
            xgb_model, folder, run_id, path, model_format, signature, input_example
        ),
        artifact_path or name or "model",
        registered_model_name,
        params=params,
        tags=tags,
        metadata=metadata,
    )


def load_model(model_uri: str | Path, dst_path: str | None = None) -> Any:
    """The booster (or scikit-learn wrapper) saved at ``model_uri``."""
    return load_from_folder(model_folder(model_uri))


def load_from_folder(folder: Path) -> Any:
    import importlib

    require("xgboost")
    conf = flavor_conf(folder, FLAVOR)
    model_class = str(conf.get("model_class", "xgboost.core.Booster"))
    class_name = model_class.rpartition(".")[2]
    if not model_class.startswith("xgboost.") or class_name not in MODEL_CLASSES:
        raise InvalidValue(
            f"the MLmodel in {folder} names {model_class!r}, not one of XGBoost's model classes "
            f"({', '.join(MODEL_CLASSES)}), so gitruns will not load it. Save the model again."
        )
    model = getattr(importlib.import_module("xgboost"), class_name)()
    model.load_model(str(model_file(folder, conf.get("data"), "model data file")))
    return model


# What an MLmodel may name as its class: constructed with no arguments, then loaded.
MODEL_CLASSES = (
    "Booster",
    "XGBModel",
    "XGBRegressor",
    "XGBClassifier",
    "XGBRanker",
    "XGBRFRegressor",
    "XGBRFClassifier",
)
