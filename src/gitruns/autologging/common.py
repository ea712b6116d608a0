"""What every autolog integration shares: the training run a fit opens (or joins),
params logged without breaking training, and MLflow's keywords (honoured or refused)."""

from __future__ import annotations

import contextlib
import logging
import threading
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from gitruns import system_tags

logger = logging.getLogger(__name__)

MAX_PARAM_LENGTH = 6000


class _Depth(threading.local):
    value = 0


_depth = _Depth()


def inside_training() -> bool:
    """True within a training call that is already being logged."""
    return _depth.value > 0


@contextlib.contextmanager
def training_run(
    run_name: str | None = None, extra_tags: Mapping[str, Any] | None = None
) -> Iterator[Any]:
    """The run one training call logs into: the active run, else a new one ended after it.
    ``extra_tags`` (autolog's) are set on it."""
    from gitruns import tracking
    from gitruns.store.session import status_for_exception

    _depth.value += 1
    try:
        active = tracking.active_run()
        if active is not None:
            if extra_tags:
                active.live.set_tags(extra_tags)
            yield active.live
            return
        started = tracking.start_run(run_name=run_name, tags=extra_tags)
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


def log_estimator(live: Any, estimator: Any, params: Mapping[str, Any]) -> None:
    """What MLflow logs of every fitted estimator: its params, and its class as tags."""
    log_params_quietly(live, params)
    kind = type(estimator)
    live.set_tags(
        {
            system_tags.ESTIMATOR_NAME: kind.__name__,
            system_tags.ESTIMATOR_CLASS: f"{kind.__module__}.{kind.__qualname__}",
        }
    )


@dataclass
class Options:
    """What an autolog call asked of a library's patches (MLflow's common keywords)."""

    log_models: bool = True
    extra_tags: dict[str, Any] = field(default_factory=dict)
    registered_model_name: str | None = None

    @classmethod
    def of(
        cls,
        log_models: bool,
        extra_tags: Mapping[str, Any] | None,
        registered_model_name: str | None,
    ) -> Options:
        return cls(log_models, dict(extra_tags or {}), registered_model_name)


# MLflow's autolog keywords that gitruns does not act on, with the one value that asks
# for what gitruns does anyway. Any other value is refused, never silently dropped.
AS_GITRUNS_DOES: dict[str, Any] = {
    "exclusive": False,
    "disable_for_unsupported_versions": False,
    "log_input_examples": False,
    "log_datasets": False,
    "log_post_training_metrics": False,
    "log_traces": False,
    "pos_label": None,
    "silent": False,
}


def refuse_unsupported(function: str, options: Mapping[str, Any]) -> None:
    """Raise for an autolog keyword gitruns cannot honour (or does not know), naming it."""
    from gitruns.exceptions import InvalidValue

    for key, value in options.items():
        if key not in AS_GITRUNS_DOES:
            raise InvalidValue(
                f"{function}() got an unexpected keyword {key!r}. gitruns takes disable, "
                "log_models, extra_tags, registered_model_name (and max_tuning_runs, "
                "serialization_format for scikit-learn)."
            )
        if value != AS_GITRUNS_DOES[key]:
            raise InvalidValue(
                f"{function}({key}={value!r}) is not supported by gitruns, which does as "
                f"{key}={AS_GITRUNS_DOES[key]!r} would. Remove the keyword (or pass "
                f"{AS_GITRUNS_DOES[key]!r}) to go on."
            )
