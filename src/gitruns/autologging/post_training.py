"""Metrics computed after training (``log_post_training_metrics``), as MLflow logs them.

An estimator fitted under autolog remembers its run. What its ``predict`` or
``predict_proba`` returns remembers the run and the name of the variable that held
the data (``X_test``). A ``sklearn.metrics`` function (``*_score``, ``*_error``,
``*_loss``) given one of those predictions logs its value to that run as
``<function>_<data>``: ``mean_squared_error_X_test``, then
``mean_squared_error_X_test-2`` for a second call. ``estimator.score(X_test,
y_test)`` logs ``<Estimator>_score_X_test``.

Only functions looked up on ``sklearn.metrics`` after ``autolog()`` are seen
(``from sklearn.metrics import f1_score`` before it keeps the plain function),
as in MLflow.
"""

from __future__ import annotations

import functools
import inspect
import logging
import threading
import weakref
from collections import Counter
from typing import Any

from gitruns.autologging.common import Options, inside_training

logger = logging.getLogger(__name__)

METRIC_SUFFIXES = ("_score", "_error", "_loss")
PREDICTING = ("predict", "predict_proba")
UNKNOWN_DATA = "unknown_dataset"


class _State(threading.local):
    depth = 0


class _Settings:
    enabled = False
    options = Options()
    trained: weakref.WeakKeyDictionary[Any, str] = weakref.WeakKeyDictionary()
    # id of a prediction -> (a reference to it, its run, the data's name)
    predictions: dict[int, tuple[Any, str, str]] = {}
    logged: Counter[tuple[str, str]] = Counter()
    originals: dict[tuple[Any, str], Any] = {}


_settings = _Settings()
_state = _State()


def configure(enabled: bool, options: Options) -> None:
    """Patch (or restore) the metric functions; estimators' methods are patched by
    ``patch_estimator`` as their ``fit`` is."""
    import sklearn.metrics

    _settings.enabled = enabled
    _settings.options = options
    if not enabled:
        for (owner, name), original in _settings.originals.items():
            if original is None:
                delattr(owner, name)  # it inherits the method again
            else:
                setattr(owner, name, original)
        _settings.originals.clear()
        _settings.predictions.clear()
        return
    for name in sorted(getattr(sklearn.metrics, "__all__", [])):
        function = getattr(sklearn.metrics, name, None)
        key = (sklearn.metrics, name)
        if key in _settings.originals or not inspect.isfunction(function):
            continue
        if name.endswith(METRIC_SUFFIXES) and not name.startswith(("get_", "make_")):
            _settings.originals[key] = function
            setattr(sklearn.metrics, name, _metric(function))


def patch_estimator(cls: type) -> None:
    """Make ``cls``'s predictions and score remember where they came from."""
    if not _settings.enabled:
        return
    for name in (*PREDICTING, "score"):
        if (cls, name) in _settings.originals or not hasattr(cls, name):
            continue
        original = getattr(cls, name)
        _settings.originals[(cls, name)] = vars(cls).get(name)
        wrapper = _watched(original, _log_score if name == "score" else _remember_prediction)
        setattr(cls, name, wrapper)


def remember(estimator: Any, run_id: str) -> None:
    """``estimator`` was fitted under autolog, in run ``run_id``."""
    if _settings.enabled:
        try:
            _settings.trained[estimator] = run_id
        except TypeError:  # an estimator that cannot be weakly referenced
            logger.debug("No post-training metrics for %s", type(estimator).__name__)


def _data_name(data: Any, frame: Any) -> str:
    """The name of the caller's variable holding ``data``."""
    while frame is not None and frame.f_globals.get("__name__", "").startswith(__package__):
        frame = frame.f_back
    if frame is None:
        return UNKNOWN_DATA
    for name, value in frame.f_locals.items():
        if value is data and not name.startswith("_"):
            return name
    return UNKNOWN_DATA


def _watching() -> bool:
    return _settings.enabled and _state.depth == 0 and not inside_training()


def _watched(original: Any, after: Any) -> Any:
    """``original`` of an autologged estimator, then ``after(estimator, result, data
    name)``; anything else (a fit inside training, an estimator autolog did not fit, a
    call inside another watched one) runs as it is."""

    @functools.wraps(original)
    def method(self: Any, *args: Any, **kwargs: Any) -> Any:
        if not _watching() or self not in _settings.trained:
            return original(self, *args, **kwargs)
        _state.depth += 1
        try:
            result = original(self, *args, **kwargs)
        finally:
            _state.depth -= 1
        data = args[0] if args else kwargs.get("X")
        after(self, result, _data_name(data, inspect.currentframe()))
        return result

    return method


def _remember_prediction(estimator: Any, result: Any, data_name: str) -> None:
    key = id(result)
    try:
        reference = weakref.ref(result, lambda _: _settings.predictions.pop(key, None))
    except TypeError:  # a list, say: nothing to recognise it by later
        return
    _settings.predictions[key] = (reference, _settings.trained[estimator], data_name)


def _log_score(estimator: Any, result: Any, data_name: str) -> None:
    _log(_settings.trained[estimator], f"{type(estimator).__name__}_score_{data_name}", result)


def _metric(function: Any) -> Any:
    @functools.wraps(function)
    def metric(*args: Any, **kwargs: Any) -> Any:
        result = function(*args, **kwargs)
        if not _watching():
            return result
        for value in (*args, *kwargs.values()):
            found = _settings.predictions.get(id(value))
            if found is not None and found[0]() is value:
                _, run_id, data_name = found
                _log(run_id, f"{function.__name__}_{data_name}", result)
                break
        return result

    return metric


def _log(run_id: str, name: str, value: Any) -> None:
    try:
        number = float(value)
    except (TypeError, ValueError):  # a report or an array, not one number
        return
    _settings.logged[(run_id, name)] += 1
    count = _settings.logged[(run_id, name)]
    key = name if count == 1 else f"{name}-{count}"
    try:
        from gitruns.client import MlflowClient

        MlflowClient().log_metric(run_id, key, number)
    except Exception as error:  # a metric must never break the user's evaluation
        _settings.options.warn("Autolog could not log %s to run %s: %s", key, run_id, error)
