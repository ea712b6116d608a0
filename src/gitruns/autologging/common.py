"""What every autolog integration shares: the training run a fit opens (or joins),
params logged without breaking training, and MLflow's keywords (honoured or refused)."""

from __future__ import annotations

import contextlib
import logging
import threading
import warnings
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
def training_run(options: Options, run_name: str | None = None) -> Iterator[Any]:
    """The run one training call logs into: the active run, else a new one ended after it.
    Autolog's ``extra_tags`` are set on it; with ``silent``, gitruns says nothing while
    the training is logged (the library's own warnings still show)."""
    from gitruns import tracking
    from gitruns.store.session import status_for_exception

    _depth.value += 1
    try:
        with quiet(options.silent):
            active = tracking.active_run()
            if active is not None:
                if options.extra_tags:
                    active.live.set_tags(options.extra_tags)
                yield active.live
                return
            started = tracking.start_run(run_name=run_name, tags=options.extra_tags or None)
            try:
                yield started.live
            except BaseException as error:
                tracking.end_run(status_for_exception(error)[0])
                raise
            tracking.end_run()
    finally:
        _depth.value -= 1


@contextlib.contextmanager
def quiet(silent: bool) -> Iterator[None]:
    """gitruns' log lines and warnings held back, when ``silent``."""
    if not silent:
        yield
        return
    package = logging.getLogger("gitruns")
    level = package.level
    package.setLevel(logging.ERROR)
    try:
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", module="gitruns")
            yield
    finally:
        package.setLevel(level)


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
    """What an autolog call asked of a library's patches: MLflow's keywords, with MLflow's
    defaults."""

    log_models: bool = True
    log_input_examples: bool = False
    log_model_signatures: bool = True
    log_datasets: bool = True
    exclusive: bool = False
    silent: bool = False
    extra_tags: dict[str, Any] = field(default_factory=dict)
    registered_model_name: str | None = None

    @classmethod
    def of(cls, keywords: Mapping[str, Any]) -> Options:
        """The options among an autolog call's keywords (its ``locals()``)."""
        chosen = {name: keywords[name] for name in cls.__dataclass_fields__ if name in keywords}
        chosen["extra_tags"] = dict(chosen.get("extra_tags") or {})
        return cls(**chosen)

    def warn(self, message: str, *args: Any) -> None:
        """A warning about what autolog could not record; a debug line when ``silent``."""
        logger.log(logging.DEBUG if self.silent else logging.WARNING, message, *args)

    def skips(self) -> bool:
        """True when this fit is not logged: ``exclusive`` keeps autolog out of a run the
        user started."""
        from gitruns import tracking

        return self.exclusive and tracking.active_run() is not None


def model_extras(options: Options, x: Any, predict: Any) -> dict[str, Any]:
    """``log_model``'s input example and signature, from the first rows of the training
    data, as ``log_input_examples`` and ``log_model_signatures`` ask."""
    extras: dict[str, Any] = {"signature": False}
    if not (options.log_input_examples or options.log_model_signatures) or x is None:
        return extras
    try:
        example = first_rows(x)
        if options.log_model_signatures and predict is not None:
            from gitruns.signature import infer_signature

            extras["signature"] = infer_signature(example, predict(example))
        if options.log_input_examples:
            extras["input_example"] = example
    except Exception as error:  # an example or a signature must never break training
        options.warn("Autolog could not infer the model's input example or signature: %s", error)
    return extras


def first_rows(x: Any, rows: int = 5) -> Any:
    """The first rows of training data, dense (what an input example holds)."""
    if hasattr(x, "iloc"):
        return x.iloc[:rows]
    head = x[:rows]
    return head.toarray() if hasattr(head, "toarray") else head


def log_training_data(live: Any, options: Options, x: Any, y: Any, context: str) -> None:
    """Record the data a fit read as the run's input (``log_datasets``), as MLflow does:
    its digest, schema and size, never the data."""
    if not options.log_datasets or x is None:
        return
    from gitruns import data

    try:
        if hasattr(x, "toarray"):
            return  # a sparse matrix: its digest would need the whole of it made dense
        if hasattr(x, "columns"):
            frame, targets = x, None
            name = getattr(y, "name", None)
            if y is not None and hasattr(y, "to_frame") and name is not None and name not in x:
                frame, targets = x.join(y.to_frame()), str(name)
            dataset: Any = data.from_pandas(frame, targets=targets)
        else:
            dataset = data.from_numpy(x, targets=y)
        live.log_inputs([data.input_entry(dataset, context, None)])
    except Exception as error:  # describing the data must never break training
        options.warn("Autolog could not record the training data as an input: %s", error)
