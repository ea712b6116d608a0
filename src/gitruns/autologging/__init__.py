"""Autologging: training calls that log their own run.

A patched ``fit`` or ``xgb.train`` logs into the active run, or starts one and
ends it when training ends. Only the outermost training call logs: a
scikit-learn ``Pipeline`` logs once, not once per step, and an XGBoost
scikit-learn model's ``fit`` does not log its inner ``xgb.train`` again.
"""

from __future__ import annotations

import importlib.util
import logging
from collections.abc import Mapping
from typing import Any

from gitruns.autologging.common import Options

logger = logging.getLogger(__name__)

FLAVORS = ("sklearn", "xgboost")


def autolog(
    log_input_examples: bool = False,
    log_model_signatures: bool = True,
    log_models: bool = True,
    log_datasets: bool = True,
    log_traces: bool = True,
    disable: bool = False,
    exclusive: bool = False,
    disable_for_unsupported_versions: bool = False,
    silent: bool = False,
    extra_tags: Mapping[str, Any] | None = None,
    exclude_flavors: list[str] | None = None,
) -> None:
    """Turn autologging on (or off) for every installed library gitruns knows:
    scikit-learn and XGBoost, less those in ``exclude_flavors``. MLflow's keywords mean
    what they mean in MLflow; ``log_traces`` has nothing to trace in these libraries.

    Example::

        import gitruns as mlflow
        mlflow.autolog(log_input_examples=True, exclude_flavors=["xgboost"])
    """
    excluded = set(exclude_flavors or [])
    unknown = excluded - set(FLAVORS)
    if unknown:
        logger.warning(
            "autolog(exclude_flavors=...): gitruns autologs only %s; %s changes nothing.",
            " and ".join(FLAVORS),
            ", ".join(sorted(unknown)),
        )
    asked = Options.of(locals())
    if "sklearn" not in excluded and importlib.util.find_spec("sklearn") is not None:
        from gitruns.autologging.sklearn import configure as configure_sklearn

        configure_sklearn(disable, asked)
    if "xgboost" not in excluded and importlib.util.find_spec("xgboost") is not None:
        from gitruns.autologging.xgboost import configure as configure_xgboost

        configure_xgboost(disable, asked)
