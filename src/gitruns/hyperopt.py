"""Hyperopt searches as runs: one parent run, each trial a child run.

The course's pattern, ``fmin`` with an objective that opens ``start_run()``
for each trial, works as it is with plain ``hyperopt.fmin``. This module's
``fmin`` goes further: it opens the parent run, records the search space on
it, makes each trial a child run (an objective's own ``start_run()`` logs
into that child), logs each trial's params and loss, and tags the best trial.

Example::

    from gitruns.hyperopt import fmin

    best = fmin(objective, search_space, algo=tpe.suggest, max_evals=20)

With ``trials=SparkTrials(parallelism=N)`` the trials run on Spark's executors. No
shared filesystem or server is needed: each trial logs, on its executor, into a
folder of its own; what it logged (params, metrics with their histories, tags,
small artifacts, how it ended) travels back with the trial's result, and the
driver writes it as a child run in its own repository. An objective that opens
``start_run()`` itself (the course's pattern) works unchanged there too.
"""

from __future__ import annotations

import base64
import contextlib
import functools
import logging
import math
import shutil
import tempfile
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from gitruns import location, system_tags, tracking
from gitruns.autologging.common import log_params_quietly
from gitruns.models import require
from gitruns.redact import public_text
from gitruns.utils.processes import host_token
from gitruns.workspace import Workspace

logger = logging.getLogger(__name__)

CAPTURE_KEY = "gitruns_trial"  # the key of a Spark trial's result that carries its run
MAX_ARTIFACT_BYTES = 1024 * 1024  # per file, sent back with a Spark trial's result
MAX_TRIAL_ARTIFACT_BYTES = 8 * 1024 * 1024  # all of one trial's files


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
        parent.live.set_tags({system_tags.HYPEROPT_ALGO: getattr(algo, "__module__", str(algo))})
        log_params_quietly(parent.live, {"max_evals": max_evals})
        parent.live.write_artifact("search_space.txt", _describe(space))

        def objective(params: Any) -> Any:
            number = len(trial_runs) + 1
            with tracking.start_run(nested=True, run_name=f"trial-{number}") as child:
                child.live.set_tags({system_tags.HYPEROPT_TRIAL: number})
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

        distributed = _is_spark(trials)
        if distributed:  # each trial runs on an executor: its run comes back with its result
            objective = functools.partial(remote_trial, fn)  # type: ignore[assignment]
        try:
            best = hyperopt.fmin(
                objective, space, algo=algo, max_evals=max_evals, trials=trials, **kwargs
            )
        finally:  # trials that ran are written even when the search failed
            if distributed:
                trial_runs = write_remote_trials(
                    hyperopt, trials, space, parent, on_trial, max_evals
                )
        scored = [
            (loss, run_id)
            for run_id, loss in trial_runs
            if loss is not None and not math.isnan(loss)
        ]
        if scored:
            best_loss, best_run = min(scored)
            client = tracking.MlflowClient()
            client.set_tag(best_run, system_tags.HYPEROPT_BEST_TRIAL, "true")
            parent.live.set_tags({system_tags.HYPEROPT_BEST_RUN_ID: best_run})
            parent.live.log_metric("best_loss", best_loss, None, None)
        if isinstance(best, Mapping):
            log_params_quietly(
                parent.live, {f"best.{key}": value for key, value in _flatten(best).items()}
            )
        return best


# -- trials on Spark ----------------------------------------------------------------------


def _is_spark(trials: Any) -> bool:
    return type(trials).__name__ == "SparkTrials"


def remote_trial(fn: Callable[[Any], Any], params: Any) -> dict[str, Any]:
    """Run one trial on an executor, logging into a folder of its own; its result, with
    the run it logged under ``CAPTURE_KEY`` (plain JSON: hyperopt stores results)."""
    folder = Path(tempfile.mkdtemp(prefix="gitruns-trial-"))
    quiet = logging.getLogger("gitruns")
    level = quiet.level
    quiet.setLevel(logging.ERROR)  # no git here, and nobody reads an executor's warnings
    location.set_tracking_uri(str(folder))
    failure: BaseException | None = None
    result: Any = None
    run_id = None
    try:
        with tracking.start_run(run_name="trial") as run:
            run_id = run.info.run_id
            with tracking.lend_active_run():
                result = fn(params)
    except Exception as error:  # the run ended FAILED with it; the search goes on
        failure = error
    finally:
        location.set_tracking_uri(None)
        quiet.setLevel(level)
    try:
        capture = _captured(folder, run_id)
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    if failure is not None:
        return {
            "status": "fail",
            "failure": f"{type(failure).__name__}: {failure}",
            CAPTURE_KEY: capture,
        }
    returned = dict(result) if isinstance(result, Mapping) else {"loss": result, "status": "ok"}
    returned[CAPTURE_KEY] = capture
    return returned


def _captured(folder: Path, run_id: str | None) -> dict[str, Any] | None:
    """What a trial's run logged, as plain data: its record, every metric value, and its
    artifacts up to a size (larger ones are named in ``left_out``)."""
    from gitruns.store.history import read_histories
    from gitruns.store.record import ARTIFACTS_DIR

    if run_id is None:
        return None
    record, run_dir = Workspace.at(folder).load_run(run_id)
    artifacts: dict[str, str] = {}
    left_out: list[str] = []
    total = 0
    root = run_dir / ARTIFACTS_DIR
    for path in sorted(root.rglob("*")) if root.is_dir() else []:
        if path.is_symlink() or not path.is_file():
            continue
        relative = path.relative_to(root).as_posix()
        size = path.stat().st_size
        if size > MAX_ARTIFACT_BYTES or total + size > MAX_TRIAL_ARTIFACT_BYTES:
            left_out.append(relative)
            continue
        total += size
        artifacts[relative] = base64.b64encode(path.read_bytes()).decode("ascii")
    return {
        "status": record.status,
        "error": record.error,
        "start_time": record.start_time,
        "end_time": record.end_time,
        "description": record.description,
        "params": record.params,
        "tags": record.tags,
        "metrics": {
            key: [[step, timestamp, value] for timestamp, step, value in history]
            for key, history in read_histories(run_dir, record.schema).items()
        },
        "artifacts": artifacts,
        "left_out": left_out,
        "host": host_token(),
    }


def write_remote_trials(
    hyperopt: Any,
    trials: Any,
    space: Any,
    parent: Any,
    on_trial: Callable[[int, int, float | None], None] | None,
    max_evals: int | None,
) -> list[tuple[str, float | None]]:
    """Write each Spark trial as a child run of ``parent``: what it logged on its
    executor, or, for a trial that failed or was cancelled there, that it did."""
    workspace = Workspace.current()
    written = []
    # trials.trials leaves out the trials that errored or were cancelled; those are runs too.
    every = getattr(trials, "_dynamic_trials", None) or trials.trials
    for number, trial in enumerate(sorted(every, key=lambda t: t["tid"]), start=1):
        result = trial.get("result") or {}
        capture = result.pop(CAPTURE_KEY, None) if isinstance(result, dict) else None
        live = workspace.create_run(
            parent.info.experiment_id, run_name=f"trial-{number}", parent=parent.info.run_id
        )
        live.set_tags({system_tags.HYPEROPT_TRIAL: number})
        loss = None
        try:
            params = {k: v[0] for k, v in trial["misc"]["vals"].items() if v}
            with contextlib.suppress(Exception):  # a space hyperopt cannot evaluate back
                params = hyperopt.space_eval(space, params)
            if isinstance(params, Mapping):  # first: a result refused below keeps them
                log_params_quietly(live, _flatten(params))
            if capture:
                _apply(live, capture)
            loss = _loss(result) if result.get("status") == "ok" else None
            if loss is not None and "loss" not in live.record.metrics:
                live.log_metric("loss", loss, None, None)
            status, error = _ending(trial, result, capture)
            times = (
                (int(capture["start_time"]), capture["end_time"] and int(capture["end_time"]))
                if capture
                else None
            )
        except Exception as refused:  # what came back is not a run gitruns writes
            loss, times = None, None
            status, error = (
                "FAILED",
                {
                    "type": "RefusedTrialResult",
                    "message": public_text(
                        f"gitruns refused what this trial sent back from its executor, so the run "
                        f"holds only part of it: {getattr(refused, 'message', None) or refused}"
                    )[:2000],
                },
            )
            logger.warning("Trial %d: %s", number, error["message"])
        live.finish(status)
        if capture and times is not None:
            live.record.start_time, live.record.end_time = times
        if error:
            live.record.error = error
        live.save()
        written.append((live.run_id, loss))
        if on_trial is not None:
            on_trial(number, max_evals or 0, loss)
    return written


def _apply(live: Any, capture: Mapping[str, Any]) -> None:
    """Log what a trial logged on its executor into its run here."""
    log_params_quietly(live, dict(capture.get("params") or {}))
    live.set_tags(dict(capture.get("tags") or {}))
    if capture.get("description"):
        live.record.description = str(capture["description"])
    for key, points in (capture.get("metrics") or {}).items():
        for step, timestamp, value in points:
            live.log_metric(key, value, step, timestamp)
    for relative, encoded in (capture.get("artifacts") or {}).items():
        live.write_artifact(relative, base64.b64decode(encoded))
    if capture.get("left_out"):
        live.set_tags({system_tags.TRIAL_ARTIFACTS_LEFT_OUT: ", ".join(capture["left_out"])[:7000]})
    live.set_tags({system_tags.TRIAL_HOST: str(capture.get("host", ""))})


def _ending(
    trial: Mapping[str, Any], result: Mapping[str, Any], capture: Mapping[str, Any] | None
) -> tuple[str, dict[str, str] | None]:
    """How a Spark trial ended, as a run's status, and its error if it had one."""
    from hyperopt.base import JOB_STATE_CANCEL, JOB_STATE_ERROR

    misc_error = (trial.get("misc") or {}).get("error")
    if trial.get("state") == JOB_STATE_CANCEL:
        return "KILLED", {
            "type": "Cancelled",
            "message": public_text(str(misc_error or "cancelled"))[:2000],
        }
    if trial.get("state") == JOB_STATE_ERROR:
        kind, message = [*misc_error, "", ""][:2] if misc_error else ("Error", "")
        return "FAILED", {"type": str(kind), "message": public_text(str(message))[:2000]}
    if result.get("status") == "fail":
        error = (capture or {}).get("error") or {
            "type": "Failure",
            "message": public_text(str(result.get("failure", "")))[:2000],
        }
        return "FAILED", error
    return "FINISHED", None
