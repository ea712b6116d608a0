"""Hyperopt searches as runs: one parent run, each trial a child run.

The course's pattern, ``fmin`` with an objective that opens ``start_run()``
for each trial, works as it is with plain ``hyperopt.fmin``. This module's
``fmin`` goes further: it opens the parent run, records the search space on
it, makes each trial a child run (an objective's own ``start_run()`` logs
into that child), logs each trial's params and loss, and tags the best trial.

Example::

    from gitruns.hyperopt import fmin

    best = fmin(objective, search_space, algo=tpe.suggest, max_evals=20)
"""

from __future__ import annotations

import contextlib
import math
from collections.abc import Callable, Mapping
from typing import Any

from gitruns import tracking
from gitruns.autologging import log_params_quietly
from gitruns.models import require


def _flatten(values: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    flat: dict[str, Any] = {}
    for key, value in values.items():
        name = f"{prefix}{key}"
        if isinstance(value, Mapping):
            flat.update(_flatten(value, f"{name}."))
        else:
            flat[name] = value
    return flat


def _describe(space: Any) -> str:
    """The search space as text: one entry per parameter, as hyperopt prints its graph."""
    if isinstance(space, Mapping):
        return "\n\n".join(f"{key}:\n{space[key]}" for key in space)
    return str(space)


def _loss(result: Any) -> float | None:
    value = result.get("loss") if isinstance(result, Mapping) else result
    if value is None:
        return None
    try:
        return float(value)
    except (TypeError, ValueError):
        return None


def fmin(
    fn: Callable[[Any], Any],
    space: Any,
    algo: Any = None,
    max_evals: int | None = None,
    trials: Any = None,
    *,
    run_name: str = "hyperopt-search",
    on_trial: Callable[[int, int, float | None], None] | None = None,
    **kwargs: Any,
) -> Any:
    """``hyperopt.fmin`` with a parent run and one child run per trial; returns what it returns.

    ``on_trial(number, max_evals, loss)`` is called after each trial (for progress bars).
    """
    hyperopt = require("hyperopt")
    algo = algo or hyperopt.tpe.suggest
    trials = trials if trials is not None else hyperopt.Trials()
    trial_runs: list[tuple[str, float | None]] = []
    with contextlib.ExitStack() as scope:
        parent = tracking.active_run() or scope.enter_context(tracking.start_run(run_name=run_name))
        parent.live.set_tags({"hyperopt.algo": getattr(algo, "__module__", str(algo))})
        log_params_quietly(parent.live, {"max_evals": max_evals})
        parent.live.write_artifact("search_space.txt", _describe(space))

        def objective(params: Any) -> Any:
            number = len(trial_runs) + 1
            with tracking.start_run(nested=True, run_name=f"trial-{number}") as child:
                child.live.set_tags({"hyperopt.trial": number})
                try:
                    with tracking.lend_active_run():
                        result = fn(params)
                finally:
                    if isinstance(params, Mapping):
                        log_params_quietly(child.live, _flatten(params))
                loss = _loss(result)
                if loss is not None and "loss" not in child.live.record.metrics:
                    child.live.log_metric("loss", loss, None, None)
                trial_runs.append((child.info.run_id, loss))
            if on_trial is not None:
                on_trial(number, max_evals or 0, loss)
            return result

        best = hyperopt.fmin(
            objective, space, algo=algo, max_evals=max_evals, trials=trials, **kwargs
        )
        scored = [
            (loss, run_id)
            for run_id, loss in trial_runs
            if loss is not None and not math.isnan(loss)
        ]
        if scored:
            best_loss, best_run = min(scored)
            client = tracking.MlflowClient()
            client.set_tag(best_run, "hyperopt.best_trial", "true")
            parent.live.set_tags({"hyperopt.best_run_id": best_run})
            parent.live.log_metric("best_loss", best_loss, None, None)
        if isinstance(best, Mapping):
            log_params_quietly(
                parent.live, {f"best.{key}": value for key, value in _flatten(best).items()}
            )
        return best
