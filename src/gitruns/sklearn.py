"""The scikit-learn flavor: save, log and load estimators as MLflow does.

Estimators are saved with skops where it is installed (a format that does not
run code on loading unless told which types to trust), and with pickle
otherwise. Loading trusts only types gitruns names (never the list a model
file carries about itself), and a pickle loads only when the user allows it.

Example::

    import gitruns as mlflow

    with mlflow.start_run():
        model = Ridge().fit(x_train, y_train)
        info = mlflow.sklearn.log_model(model, artifact_path="model", input_example=x_train[:5])
    loaded = mlflow.sklearn.load_model(info.model_uri)
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from gitruns.models.sklearn import (  # the flavor itself lives with the models
    FLAVOR,
    TRUSTED_MODULES,
    load_from_folder,
    load_model,
    log_model,
    save_model,
)

__all__ = [
    "FLAVOR",
    "TRUSTED_MODULES",
    "autolog",
    "load_from_folder",
    "load_model",
    "log_model",
    "save_model",
]


def autolog(
    disable: bool = False,
    log_models: bool = True,
    max_tuning_runs: int | None = 5,
    extra_tags: Mapping[str, Any] | None = None,
    registered_model_name: str | None = None,
    serialization_format: str | None = None,
    **options: Any,
) -> None:
    """Log params, training metrics, tags and the model of every estimator's ``fit``; a
    parameter search (GridSearchCV...) also logs its best params and a child run for each
    of its best ``max_tuning_runs`` candidates. Other MLflow keywords are refused unless
    their value asks for what gitruns does anyway.

    Example::

        gitruns.sklearn.autolog()
        Ridge(alpha=1.0).fit(x_train, y_train)   # a run, with params, metrics and model
    """
    from gitruns.autologging.common import Options, refuse_unsupported
    from gitruns.autologging.sklearn import configure

    refuse_unsupported("sklearn.autolog", options)
    asked = Options.of(log_models, extra_tags, registered_model_name)
    configure(disable, asked, max_tuning_runs, serialization_format)
