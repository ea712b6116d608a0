"""Autologging for scikit-learn: every estimator's ``fit``.

Each logs the estimator's params, MLflow's ``estimator_name`` and
``estimator_class`` tags, MLflow's training metrics (``training_score``, then
``training_root_mean_squared_error``… for regressors,
``training_accuracy_score``… and, with probabilities, ``training_log_loss`` and
``training_roc_auc`` for classifiers), the training time and the model under
``model/``.
"""

from __future__ import annotations

import functools
import logging
import time
from typing import Any

from gitruns.autologging.common import (
    Options,
    inside_training,
    log_estimator,
    log_training_data,
    model_extras,
    training_run,
)

logger = logging.getLogger(__name__)


# Fitted as steps of other work, not models (MLflow leaves them out too): a LabelEncoder
# that classification_report fits must not become the run's model.
NOT_MODELS = (
    "sklearn.preprocessing",
    "sklearn.impute",
    "sklearn.feature_extraction",
    "sklearn.feature_selection",
)


class _Settings:
    options = Options()
    max_tuning_runs: int | None = 5
    serialization_format: str | None = None
    pos_label: Any = None
    originals: dict[type, Any] = {}  # class -> its own fit, or None when it inherited one


_settings = _Settings()


def configure(
    disable: bool = False,
    options: Options | None = None,
    max_tuning_runs: int | None = 5,
    serialization_format: str | None = None,
    pos_label: Any = None,
    post_training_metrics: bool = True,
) -> None:
    from sklearn.utils import all_estimators

    from gitruns.autologging import post_training

    _settings.options = options or Options()
    _settings.max_tuning_runs = max_tuning_runs
    _settings.serialization_format = serialization_format
    _settings.pos_label = pos_label
    post_training.configure(not disable and post_training_metrics, _settings.options)
    if disable:
        for cls, original in _settings.originals.items():
            if original is None:
                del cls.fit  # type: ignore[attr-defined]  # it inherits its fit again
            else:
                cls.fit = original  # type: ignore[attr-defined]
        _settings.originals.clear()
        return
    for _name, cls in all_estimators():
        if not hasattr(cls, "fit") or cls.__module__.startswith(NOT_MODELS):
            continue
        post_training.patch_estimator(cls)
        if cls in _settings.originals:
            continue
        # Every estimator, its fit inherited or not (RandomForest*, Lasso, SVC, GridSearchCV
        # define none of their own): each gets a wrapper of the unpatched fit it would run.
        had_own = "fit" in vars(cls)
        original = _unpatched_fit(cls)
        _settings.originals[cls] = original if had_own else None
        cls.fit = _patched_fit(original)  # type: ignore[attr-defined]


def _unpatched_fit(cls: type) -> Any:
    """The fit ``cls`` runs, as scikit-learn defines it (never one of our wrappers)."""
    for klass in cls.__mro__:
        if klass in _settings.originals:  # patched: its own fit, or none (look further up)
            own = _settings.originals[klass]
            if own is not None:
                return own
        elif "fit" in vars(klass):
            return vars(klass)["fit"]
    raise AttributeError(f"{cls.__name__} has no fit")


def _patched_fit(original: Any) -> Any:
    @functools.wraps(original)
    def fit(self: Any, *args: Any, **kwargs: Any) -> Any:
        # Forward exactly what was passed: some estimators' fit takes no y at all.
        if inside_training() or _settings.options.skips():
            return original(self, *args, **kwargs)
        x = args[0] if args else kwargs.get("X")
        y = args[1] if len(args) > 1 else kwargs.get("y")
        with training_run(_settings.options) as live:
            log_estimator(live, self, self.get_params(deep=True))
            log_training_data(live, _settings.options, x, y, "train")
            started = time.perf_counter()
            result = original(self, *args, **kwargs)
            _after_fit(live, self, x, y, time.perf_counter() - started)
            return result

    return fit


def _after_fit(live: Any, estimator: Any, x: Any, y: Any, seconds: float) -> None:
    try:
        live.log_metric("training_time", seconds, None, None)
        for key, value in _training_metrics(estimator, x, y).items():
            live.log_metric(key, value, None, None)
        if hasattr(estimator, "cv_results_") and hasattr(estimator, "best_params_"):
            _log_search(live, estimator)
        from gitruns.autologging import post_training

        post_training.remember(estimator, live.run_id)
        if _settings.options.log_models:
            from gitruns.models.sklearn import log_model

            log_model(
                estimator,
                "model",
                registered_model_name=_settings.options.registered_model_name,
                serialization_format=_settings.serialization_format,
                **model_extras(_settings.options, x, getattr(estimator, "predict", None)),
            )
    except Exception as error:  # autologging must never break training
        _settings.options.warn("Autolog could not record everything about this fit: %s", error)


def _log_search(live: Any, search: Any) -> None:
    """A parameter search, as MLflow logs it: the best candidate's params (``best_*``)
    and score on the search's run, and a child run for each of the best
    ``max_tuning_runs`` candidates with its params and cross-validation scores."""
    from gitruns import tracking

    live.log_params({f"best_{key}": str(value) for key, value in search.best_params_.items()})
    live.log_metric("best_cv_score", float(search.best_score_), None, None)
    results = search.cv_results_
    ranks = list(results["rank_test_score"])
    order = sorted(range(len(ranks)), key=lambda index: (ranks[index], index))
    if _settings.max_tuning_runs is not None:
        order = order[: _settings.max_tuning_runs]
    scores = [key for key in results if key.startswith(("mean_", "std_", "rank_"))]
    for index in order:
        with tracking.start_run(nested=True, run_name=f"candidate-{index}"):
            tracking.log_params(
                {key: str(value) for key, value in results["params"][index].items()}
            )
            tracking.log_metrics({key: float(results[key][index]) for key in scores})


def _training_metrics(estimator: Any, x: Any, y: Any) -> dict[str, float]:
    from sklearn.base import is_classifier

    if y is None or not hasattr(estimator, "predict"):
        return {}
    predicted = estimator.predict(x)
    found = _probability_metrics(estimator, x, y) if is_classifier(estimator) else {}
    if hasattr(estimator, "score"):
        try:
            found["training_score"] = float(estimator.score(x, y))
        except (TypeError, ValueError) as error:  # a score that needs more than x and y
            logger.debug("No training_score for %s: %s", type(estimator).__name__, error)
    return {**found, **_prediction_metrics(estimator, y, predicted)}


def _probability_metrics(estimator: Any, x: Any, y: Any) -> dict[str, float]:
    """MLflow's log loss and ROC AUC of a classifier that gives probabilities."""
    from sklearn import metrics

    if not hasattr(estimator, "predict_proba"):
        return {}
    found: dict[str, float] = {}
    try:
        probabilities = estimator.predict_proba(x)
        found["training_log_loss"] = float(
            metrics.log_loss(y, probabilities, labels=estimator.classes_)
        )
        if len(estimator.classes_) == 2:
            found["training_roc_auc"] = float(metrics.roc_auc_score(y, probabilities[:, 1]))
        else:
            found["training_roc_auc"] = float(
                metrics.roc_auc_score(
                    y, probabilities, multi_class="ovo", labels=estimator.classes_
                )
            )
    except (AttributeError, TypeError, ValueError) as error:  # e.g. one class in y
        logger.debug("No probability metrics for %s: %s", type(estimator).__name__, error)
    return found


def _prediction_metrics(estimator: Any, y: Any, predicted: Any) -> dict[str, float]:
    from sklearn import metrics
    from sklearn.base import is_classifier, is_regressor

    if is_regressor(estimator):
        mse = metrics.mean_squared_error(y, predicted)
        return {
            "training_mean_squared_error": float(mse),
            "training_root_mean_squared_error": float(mse**0.5),
            "training_mean_absolute_error": float(metrics.mean_absolute_error(y, predicted)),
            "training_r2_score": float(metrics.r2_score(y, predicted)),
        }
    if is_classifier(estimator):
        # MLflow's: weighted over the classes, or binary for the class pos_label names
        average = "weighted" if _settings.pos_label is None else "binary"
        label = {} if _settings.pos_label is None else {"pos_label": _settings.pos_label}
        return {
            "training_accuracy_score": float(metrics.accuracy_score(y, predicted)),
            "training_precision_score": float(
                metrics.precision_score(y, predicted, average=average, zero_division=0, **label)
            ),
            "training_recall_score": float(
                metrics.recall_score(y, predicted, average=average, zero_division=0, **label)
            ),
            "training_f1_score": float(
                metrics.f1_score(y, predicted, average=average, zero_division=0, **label)
            ),
        }
    return {}
