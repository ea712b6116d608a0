"""Autologging for XGBoost: ``xgb.train`` and the scikit-learn wrappers' ``fit``.

Each logs its params, every eval set's metric at every iteration as a history
named as MLflow names it (``validation-rmse``), the best and stopped iteration,
the training time, feature importances (JSON, and a PNG where matplotlib is
installed) and the model under ``model/``.
"""

from __future__ import annotations

import functools
import inspect
import json
import logging
import time
from typing import Any

from gitruns.autologging.common import (
    Options,
    inside_training,
    log_estimator,
    log_params_quietly,
    training_run,
)

logger = logging.getLogger(__name__)


class _Settings:
    options = Options()
    originals: dict[str, Any] = {}


_settings = _Settings()


def configure(disable: bool = False, options: Options | None = None) -> None:
    import xgboost
    import xgboost.sklearn

    _settings.options = options or Options()
    if disable:
        if "train" in _settings.originals:
            xgboost.train = _settings.originals.pop("train")
        if "fit" in _settings.originals:
            xgboost.sklearn.XGBModel.fit = _settings.originals.pop("fit")  # type: ignore[method-assign]
        return
    if "train" not in _settings.originals:
        _settings.originals["train"] = xgboost.train
        xgboost.train = _patched_train(xgboost.train)
    if "fit" not in _settings.originals:
        _settings.originals["fit"] = xgboost.sklearn.XGBModel.fit
        xgboost.sklearn.XGBModel.fit = _patched_fit(xgboost.sklearn.XGBModel.fit)  # type: ignore[method-assign]


def _metrics_callback(live: Any) -> Any:
    import xgboost

    class LogEveryIteration(xgboost.callback.TrainingCallback):
        """Each eval set's metrics, every iteration, as ``<set>-<metric>`` histories."""

        def after_iteration(self, model: Any, epoch: int, evals_log: dict[str, Any]) -> bool:
            moment = int(time.time() * 1000)
            for data_name, metrics in evals_log.items():
                for metric_name, values in metrics.items():
                    value = values[-1]
                    if isinstance(value, tuple):  # cross-validation: (mean, std)
                        value = value[0]
                    live.log_metric(f"{data_name}-{metric_name}", float(value), epoch, moment)
            return False

    return LogEveryIteration()


def _patched_train(original: Any) -> Any:
    signature = inspect.signature(original)

    @functools.wraps(original)
    def train(*args: Any, **kwargs: Any) -> Any:
        if inside_training():
            return original(*args, **kwargs)
        bound = signature.bind(*args, **kwargs)
        bound.apply_defaults()
        arguments = bound.arguments
        with training_run(extra_tags=_settings.options.extra_tags) as live:
            params = dict(arguments.get("params") or {})
            for key in ("num_boost_round", "early_stopping_rounds", "maximize", "verbose_eval"):
                if key in arguments:
                    params[key] = arguments[key]
            log_params_quietly(live, params)
            arguments["callbacks"] = [*(arguments.get("callbacks") or []), _metrics_callback(live)]
            started = time.perf_counter()
            booster = original(**arguments)
            _after_training(live, booster, time.perf_counter() - started)
            return booster

    return train


def _patched_fit(original: Any) -> Any:
    @functools.wraps(original)
    def fit(self: Any, *args: Any, **kwargs: Any) -> Any:
        if inside_training():
            return original(self, *args, **kwargs)
        with training_run(extra_tags=_settings.options.extra_tags) as live:
            log_estimator(live, self, self.get_params())
            started = time.perf_counter()
            result = original(self, *args, **kwargs)
            booster = self.get_booster()
            for data_name, metrics in (
                self.evals_result() if kwargs.get("eval_set") else {}
            ).items():
                for metric_name, values in metrics.items():
                    for step, value in enumerate(values):
                        live.log_metric(f"{data_name}-{metric_name}", float(value), step, None)
            _after_training(live, booster, time.perf_counter() - started, model=self)
            return result

    return fit


def _after_training(live: Any, booster: Any, seconds: float, model: Any = None) -> None:
    """Best iteration, training time, feature importances and the model."""
    try:
        live.log_metric("training_time", seconds, None, None)
        rounds = booster.num_boosted_rounds()
        live.log_metric("stopped_iteration", rounds - 1, None, None)
        best = getattr(booster, "best_iteration", None)
        if best is not None and "best_iteration" in booster.attributes():
            live.log_metric("best_iteration", int(best), None, None)
        _log_importance(live, booster)
        if _settings.options.log_models:
            from gitruns.models import log_model_folder
            from gitruns.models.xgboost import save_folder

            log_model_folder(
                lambda folder, run_id, path: save_folder(
                    model or booster, folder, run_id, path, "ubj", None, None
                ),
                "model",
                _settings.options.registered_model_name,
            )
    except Exception as error:  # autologging must never break training
        logger.warning("Autolog could not record everything about this training: %s", error)


def _log_importance(live: Any, booster: Any) -> None:
    scores = booster.get_score(importance_type="weight")
    if not scores:
        return
    ordered = dict(sorted(scores.items(), key=lambda item: item[1], reverse=True))
    live.write_artifact("feature_importance_weight.json", json.dumps(ordered, indent=2))
    try:
        import matplotlib

        matplotlib.use("Agg", force=False)
        import matplotlib.pyplot as plt
    except ImportError:
        return
    top = list(ordered.items())[:20][::-1]
    figure, axes = plt.subplots(figsize=(6, max(2.0, 0.3 * len(top) + 1)))
    axes.barh([name for name, _ in top], [value for _, value in top])
    axes.set_title("Feature importance (weight)")
    figure.tight_layout()
    target = live.artifact_target("feature_importance_weight.png")
    figure.savefig(target)
    plt.close(figure)
