"""The XGBoost flavor: save, log and load boosters (and the scikit-learn wrappers).

Models are saved in XGBoost's own format (UBJSON, as MLflow does); no pickle.

Example::

    import gitruns as mlflow

    mlflow.xgboost.autolog()
    with mlflow.start_run():
        booster = xgb.train(params, train, evals=[(valid, "validation")])
        mlflow.xgboost.log_model(booster, artifact_path="models_mlflow")
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from gitruns.models.xgboost import (  # the flavor itself lives with the models
    FLAVOR,
    MODEL_CLASSES,
    load_from_folder,
    load_model,
    log_model,
    save_model,
)

__all__ = [
    "FLAVOR",
    "MODEL_CLASSES",
    "autolog",
    "load_from_folder",
    "load_model",
    "log_model",
    "save_model",
]


def autolog(
    importance_types: list[str] | None = None,
    log_input_examples: bool = False,
    log_model_signatures: bool = True,
    log_models: bool = True,
    log_datasets: bool = True,
    disable: bool = False,
    exclusive: bool = False,
    disable_for_unsupported_versions: bool = False,
    silent: bool = False,
    registered_model_name: str | None = None,
    model_format: str = "ubj",
    extra_tags: Mapping[str, Any] | None = None,
) -> None:
    """Log params, per-iteration metrics of every eval set, feature importances (of each
    of ``importance_types``, default ``["weight"]``), the data's description and the model
    (in ``model_format``) of every ``xgb.train`` and XGBoost scikit-learn ``fit``, with
    MLflow's keywords and defaults. ``disable_for_unsupported_versions`` changes nothing:
    gitruns supports every XGBoost it installs with.

    Example::

        gitruns.xgboost.autolog(importance_types=["weight", "gain"])
        booster = xgb.train(params, train, evals=[(valid, "validation")])
    """
    from gitruns.autologging.common import Options
    from gitruns.autologging.xgboost import configure

    asked = Options.of(locals())
    configure(disable, asked, importance_types=importance_types, model_format=model_format)
