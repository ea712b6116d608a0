"""Autologging: training calls that log their own run.

A patched ``fit`` or ``xgb.train`` logs into the active run, or starts one and
ends it when training ends. Only the outermost training call logs: a
scikit-learn ``Pipeline`` logs once, not once per step, and an XGBoost
scikit-learn model's ``fit`` does not log its inner ``xgb.train`` again.
"""

from __future__ import annotations

import contextlib
import importlib.util
import logging
import threading
from collections.abc import Iterator, Mapping
from typing import Any

logger = logging.getLogger(__name__)

MAX_PARAM_LENGTH = 6000


class _Depth(threading.local):
    value = 0


_depth = _Depth()


def inside_training() -> bool:
    """True within a training call that is already being logged."""
    return _depth.value > 0


@contextlib.contextmanager
def training_run(run_name: str | None = None) -> Iterator[Any]:
    """The run one training call logs into: the active run, else a new one ended after it."""
    from gitruns import tracking
    from gitruns.writer import status_for_exception

    _depth.value += 1
    try:
        active = tracking.active_run()
        if active is not None:
            yield active.live
            return
        started = tracking.start_run(run_name=run_name)
        try:
            yield started.live
        except BaseException as error:
            tracking.end_run(status_for_exception(error)[0])
            raise
        tracking.end_run()
    finally:
        _depth.value -= 1


def log_params_quietly(live: Any, params: Mapping[str, Any]) -> None:
    """Log training params, keeping any value the user logged first under the same key."""
    fresh = {}
    for key, value in params.items():
        text = str(value)[:MAX_PARAM_LENGTH]
        existing = live.record.params.get(key)
        if existing is None:
            fresh[key] = text
        elif existing != text:
            logger.debug("Autolog keeps param %s=%r the user logged (not %r)", key, existing, text)
    try:
        live.log_params(fresh)
    except Exception as error:  # autologging must never break training
        logger.warning("Autolog could not log params: %s", error)


def autolog(disable: bool = False, log_models: bool = True, **_: Any) -> None:
    """Turn autologging on (or off) for every installed library: scikit-learn and XGBoost.

    Example::

        import gitruns as mlflow
        mlflow.autolog()
    """
    if importlib.util.find_spec("sklearn") is not None:
        from gitruns.autologging.sklearn import configure as configure_sklearn

        configure_sklearn(disable=disable, log_models=log_models)
    if importlib.util.find_spec("xgboost") is not None:
        from gitruns.autologging.xgboost import configure as configure_xgboost

        configure_xgboost(disable=disable, log_models=log_models)
