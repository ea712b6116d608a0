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
    disable: bool = False,
    log_models: bool = True,
    extra_tags: Mapping[str, Any] | None = None,
    registered_model_name: str | None = None,
    **options: Any,
) -> None:
    """Log params, per-iteration metrics of every eval set, feature importances and the
    model of every ``xgb.train`` and XGBoost scikit-learn ``fit``. Other MLflow keywords
    are refused unless their value asks for what gitruns does anyway."""
    from gitruns.autologging.common import Options, refuse_unsupported
    from gitruns.autologging.xgboost import configure

    refuse_unsupported("xgboost.autolog", options)
    configure(disable, Options.of(log_models, extra_tags, registered_model_name))
