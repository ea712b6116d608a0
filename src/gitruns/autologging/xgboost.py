"""Autologging for XGBoost: ``xgb.train`` and the scikit-learn wrappers' ``fit``.

Each logs its params, every eval set's metric at every iteration as a history
named as MLflow names it (``validation-rmse``), the best and stopped iteration,
the training time, feature importances (JSON, and a PNG where matplotlib is
installed) and the model under ``model/``.
"""

from __future__ import annotations

import contextlib
import functools
import inspect
import json
import logging
import time
import weakref
from typing import Any

from gitruns.autologging.common import (
    Options,
    first_rows,
    inside_training,
    log_estimator,
    log_params_quietly,
    log_training_data,
    model_extras,
    training_run,
)
from gitruns.store.record import now_ms

logger = logging.getLogger(__name__)


IMPORTANCE_TYPES = ("weight", "gain", "cover", "total_gain", "total_cover")


class _Settings:
    options = Options()
    importance_types: list[str] = ["weight"]
    model_format = "ubj"
    originals: dict[str, Any] = {}


_settings = _Settings()


def configure(
    disable: bool = False,
    options: Options | None = None,
    importance_types: list[str] | None = None,
    model_format: str = "ubj",
) -> None:
    import xgboost
    import xgboost.sklearn

    from gitruns.exceptions import InvalidValue
    from gitruns.models.xgboost import MODEL_FORMATS

    chosen = list(importance_types) if importance_types is not None else ["weight"]
    unknown = [kind for kind in chosen if kind not in IMPORTANCE_TYPES]
    if unknown:
        raise InvalidValue(
            f"xgboost.autolog: importance type {unknown[0]!r} is not one XGBoost computes. "
            f"Pass some of {', '.join(IMPORTANCE_TYPES)}."
        )
    if model_format not in MODEL_FORMATS:
        raise InvalidValue(
            f"xgboost.autolog: model_format {model_format!r} is not one XGBoost saves. "
            f"Pass one of {', '.join(MODEL_FORMATS)}."
        )
    _settings.options = options or Options()
    _settings.importance_types = chosen
    _settings.model_format = model_format
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
            moment = now_ms()
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
        if inside_training() or _settings.options.skips():
            return original(*args, **kwargs)
        bound = signature.bind(*args, **kwargs)
        bound.apply_defaults()
        arguments = bound.arguments
        with training_run(_settings.options) as live:
            params = dict(arguments.get("params") or {})
            for key in ("num_boost_round", "early_stopping_rounds", "maximize", "verbose_eval"):
                if key in arguments:
                    params[key] = arguments[key]
            log_params_quietly(live, params)
            _log_matrices(live, arguments.get("dtrain"), arguments.get("evals"))
            arguments["callbacks"] = [*(arguments.get("callbacks") or []), _metrics_callback(live)]
            started = time.perf_counter()
            booster = original(**arguments)
            example = _matrix_head(arguments.get("dtrain"))
            _after_training(live, booster, time.perf_counter() - started, example=example)
            return booster

    return train


def _patched_fit(original: Any) -> Any:
    @functools.wraps(original)
    def fit(self: Any, *args: Any, **kwargs: Any) -> Any:
        if inside_training() or _settings.options.skips():
            return original(self, *args, **kwargs)
        x = args[0] if args else kwargs.get("X")
        y = args[1] if len(args) > 1 else kwargs.get("y")
        with training_run(_settings.options) as live:
            log_estimator(live, self, self.get_params())
            log_training_data(live, _settings.options, x, y, "train")
            for eval_x, eval_y in kwargs.get("eval_set") or []:
                log_training_data(live, _settings.options, eval_x, eval_y, "eval")
            started = time.perf_counter()
            result = original(self, *args, **kwargs)
            booster = self.get_booster()
            for data_name, metrics in (
                self.evals_result() if kwargs.get("eval_set") else {}
            ).items():
                for metric_name, values in metrics.items():
                    for step, value in enumerate(values):
                        live.log_metric(f"{data_name}-{metric_name}", float(value), step, None)
            example = None if x is None else first_rows(x)
            _after_training(live, booster, time.perf_counter() - started, self, example)
            return result

    return fit


def _matrix_head(matrix: Any) -> Any:
    """The first rows of a DMatrix as a DataFrame (its feature names as columns), or None."""
    try:
        import pandas as pd

        head = matrix.get_data()[:5].toarray()
        return pd.DataFrame(head, columns=matrix.feature_names)
    except Exception as error:  # a matrix built from an external source, or no pandas
        logger.debug("No rows to show of the training matrix: %s", error)
        return None


def _log_matrices(live: Any, train: Any, evals: Any) -> None:
    """The DMatrix of ``xgb.train`` and each of its eval sets as the run's inputs: their
    digest, shape and feature names (a DMatrix keeps no file name)."""
    if not _settings.options.log_datasets or train is None:
        return
    seen = {id(train)}
    matrices = [(train, "train")]
    for matrix, _name in evals or []:
        if id(matrix) not in seen:
            seen.add(id(matrix))
            matrices.append((matrix, "eval"))
    for matrix, context in matrices:
        try:
            live.log_inputs([_matrix_input(matrix, context)])
        except Exception as error:  # describing the data must never break training
            _settings.options.warn("Autolog could not record a training matrix: %s", error)


# A search trains many times on the same matrices: each is described once.
_described: weakref.WeakKeyDictionary[Any, dict[str, Any]] = weakref.WeakKeyDictionary()


def _matrix_input(matrix: Any, context: str) -> dict[str, Any]:
    try:
        entry = _described.get(matrix)
    except TypeError:  # not weakly referable: described each time
        entry = None
    if entry is None:
        entry = _describe_matrix(matrix)
        with contextlib.suppress(TypeError):
            _described[matrix] = entry
    return {**entry, "context": context}


def _describe_matrix(matrix: Any) -> dict[str, Any]:
    import hashlib

    from gitruns.data import MAX_DIGEST_ROWS, Dataset, DatasetSource, input_entry

    rows, columns = matrix.num_row(), matrix.num_col()
    head = matrix.get_data()[:MAX_DIGEST_ROWS]
    digest = hashlib.sha256()
    for part in (head.data, head.indices, head.indptr, matrix.get_label()[:MAX_DIGEST_ROWS]):
        digest.update(part.tobytes())
    digest.update(f"{rows}x{columns}".encode())
    names = matrix.feature_names or [f"f{index}" for index in range(columns)]
    dataset = Dataset(
        name="dataset",
        digest=digest.hexdigest()[:8],
        source=DatasetSource.of(None),
        schema={"mlflow_colspec": [{"type": "double", "name": str(n)} for n in names]},
        profile={"num_rows": rows, "num_elements": rows * columns},
    )
    return input_entry(dataset, None, None)


def _after_training(
    live: Any, booster: Any, seconds: float, model: Any = None, example: Any = None
) -> None:
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

            extras = model_extras(_settings.options, example, _predictor(model or booster))
            log_model_folder(
                lambda folder, run_id, path: save_folder(
                    model or booster,
                    folder,
                    run_id,
                    path,
                    _settings.model_format,
                    extras["signature"],
                    extras.get("input_example"),
                ),
                "model",
                _settings.options.registered_model_name,
            )
    except Exception as error:  # autologging must never break training
        _settings.options.warn("Autolog could not record everything about this training: %s", error)


def _predictor(model: Any) -> Any:
    """``predict`` on rows, for a scikit-learn wrapper or a bare booster."""
    import xgboost

    if isinstance(model, xgboost.Booster):
        return lambda rows: model.predict(xgboost.DMatrix(rows))
    return model.predict


def _log_importance(live: Any, booster: Any) -> None:
    for kind in _settings.importance_types:
        _log_importance_of(live, booster, kind)


def _log_importance_of(live: Any, booster: Any, kind: str) -> None:
    scores = booster.get_score(importance_type=kind)
    if not scores:
        return
    ordered = dict(sorted(scores.items(), key=lambda item: item[1], reverse=True))
    live.write_artifact(f"feature_importance_{kind}.json", json.dumps(ordered, indent=2))
    try:
        import matplotlib

        matplotlib.use("Agg", force=False)
        import matplotlib.pyplot as plt
    except ImportError:
        return
    top = list(ordered.items())[:20][::-1]
    figure, axes = plt.subplots(figsize=(6, max(2.0, 0.3 * len(top) + 1)))
    axes.barh([name for name, _ in top], [value for _, value in top])
    axes.set_title(f"Feature importance ({kind})")
    figure.tight_layout()
    target = live.artifact_target(f"feature_importance_{kind}.png")
    figure.savefig(target)
    plt.close(figure)
