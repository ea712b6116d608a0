"""Autologging: training calls that log their own run.

A patched ``fit`` or ``xgb.train`` logs into the active run, or starts one and
ends it when training ends. Only the outermost training call logs: a
scikit-learn ``Pipeline`` logs once, not once per step, and an XGBoost
scikit-learn model's ``fit`` does not log its inner ``xgb.train`` again.
"""

from __future__ import annotations

import importlib.util
from collections.abc import Mapping
from typing import Any

from gitruns.autologging.common import Options, refuse_unsupported


def autolog(
    disable: bool = False,
    log_models: bool = True,
    extra_tags: Mapping[str, Any] | None = None,
    registered_model_name: str | None = None,
    **options: Any,
) -> None:
    """Turn autologging on (or off) for every installed library: scikit-learn and XGBoost.

    MLflow's keywords are honoured (``disable``, ``log_models``, ``extra_tags``,
    ``registered_model_name``) or refused with a clear error, never dropped.

    Example::

        import gitruns as mlflow
        mlflow.autolog()
    """
    refuse_unsupported("autolog", options)
    asked = Options.of(log_models, extra_tags, registered_model_name)
    if importlib.util.find_spec("sklearn") is not None:
        from gitruns.autologging.sklearn import configure as configure_sklearn

        configure_sklearn(disable, asked)
    if importlib.util.find_spec("xgboost") is not None:
        from gitruns.autologging.xgboost import configure as configure_xgboost

        configure_xgboost(disable, asked)
