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
    log_input_examples: bool = False,
    log_model_signatures: bool = True,
    log_models: bool = True,
    log_datasets: bool = True,
    disable: bool = False,
    exclusive: bool = False,
    disable_for_unsupported_versions: bool = False,
    silent: bool = False,
    max_tuning_runs: int | None = 5,
    log_post_training_metrics: bool = True,
    serialization_format: str | None = None,
    registered_model_name: str | None = None,
    pos_label: Any = None,
    extra_tags: Mapping[str, Any] | None = None,
) -> None:
    """Log params, training metrics, tags, the training data's description and the model
    of every estimator's ``fit``, with MLflow's keywords and defaults. A parameter search
    (GridSearchCV...) also logs its best params and a child run for each of its best
    ``max_tuning_runs`` candidates; ``pos_label`` makes precision, recall and F1 binary;
    with ``log_post_training_metrics``, a ``sklearn.metrics`` function called on an
    autologged model's predictions logs its value to that model's run
    (``mean_squared_error_X_test``). Models are saved with skops where it is installed
    (``serialization_format="cloudpickle"`` or ``"pickle"`` as MLflow does).
    ``disable_for_unsupported_versions`` changes nothing: gitruns supports every
    scikit-learn it installs with.

    Example::

        gitruns.sklearn.autolog(log_input_examples=True)
        Ridge(alpha=1.0).fit(x_train, y_train)   # a run, with params, metrics and model
    """
    from gitruns.autologging.common import Options
    from gitruns.autologging.sklearn import configure

    asked = Options.of(locals())
    configure(
        disable,
        asked,
        max_tuning_runs=max_tuning_runs,
        serialization_format=serialization_format,
        pos_label=pos_label,
        post_training_metrics=log_post_training_metrics,
    )
