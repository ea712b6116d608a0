"""The fluent API: ``start_run``, ``log_param``, ``log_metric``... as MLflow spells them.

Each thread has a stack of active runs; ``start_run(nested=True)`` pushes a
child onto it. The calls here check their arguments and hand the work to the
run being written (:class:`gitruns.store.writer.LiveRun`).
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import threading
import types
from collections.abc import Iterator, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from gitruns import location as locations
from gitruns import system_tags
from gitruns.entities import (
    Experiment,
    LoggedModel,
    ModelVersion,
    Run,
    RunData,
    RunInfo,
    ViewType,
    experiment_from_record,
    run_from_live,
    run_from_record,
)
from gitruns.exceptions import InvalidValue, RunAlreadyActive
from gitruns.searching import search_runs
from gitruns.store.names import (
    MAX_NAME_LENGTH,
    MAX_TAG_VALUE_LENGTH,
    as_text,
    check_experiment_name,
    check_key,
    check_text_name,
)
from gitruns.store.reads import watch_reads
from gitruns.store.record import FINISHED, TERMINAL_STATUSES, now_ms
from gitruns.store.session import install_exit_hooks, live_runs, status_for_exception
from gitruns.utils.yamlcodec import dump_yaml
from gitruns.workspace import Workspace

if TYPE_CHECKING:
    from gitruns.client import MlflowClient
    from gitruns.store.writer import LiveRun

logger = logging.getLogger(__name__)

# -- where runs go ----------------------------------------------------------------


def set_tracking_uri(uri: str | os.PathLike[str]) -> None:
    """Choose where runs go: a folder or ``file:`` URI.

    A database or server URI (``sqlite:///mlflow.db``) is accepted for
    compatibility: gitruns warns once and keeps runs in ``runs/``.

    Example::

        gitruns.set_tracking_uri("runs")
    """
    locations.set_tracking_uri(uri)


def get_tracking_uri() -> str:
    """The tracking URI in force: the one set, else the ``file:`` URI of the runs folder."""
    return locations.configured_uri() or locations.current().uri


def _workspace() -> Workspace:
    return Workspace.current()


def _client() -> MlflowClient:
    # Imported on first use: the client brings the model registry (its tags, locks and
    # YAML), which a script that logs or searches runs never needs.
    from gitruns.client import MlflowClient

    return MlflowClient()


# -- experiments ------------------------------------------------------------------


def _experiment_entity(workspace: Workspace, experiment_id: str) -> Experiment:
    experiment_id, record = workspace.experiment(experiment_id)
    return experiment_from_record(experiment_id, record, workspace.experiment_dir(experiment_id))


def set_experiment(
    experiment_name: str | None = None,
    experiment_id: str | None = None,
    *,
    description: str | None = None,
    primary_metric: str | None = None,
    goal: str | None = None,
) -> Experiment:
    """Make an experiment active for the runs that follow, creating it if needed.

    ``primary_metric`` and ``goal`` (``"minimize"`` or ``"maximize"``) tell the
    site and pull-request reviews which runs are best.

    Example::

        gitruns.set_experiment("nyc-taxi", primary_metric="rmse", goal="minimize")
    """
    workspace = _workspace()
    if experiment_id is not None:
        experiment_id, _ = workspace.experiment(experiment_id)
    elif experiment_name is not None:
        check_experiment_name(experiment_name)
        experiment_id = workspace.ensure_experiment(experiment_name)
    else:
        raise InvalidValue(
            "set_experiment needs an experiment_name or an experiment_id, "
            "e.g. set_experiment('nyc-taxi')."
        )
    if description is not None or primary_metric is not None or goal is not None:
        workspace.declare(
            experiment_id, description=description, primary_metric=primary_metric, goal=goal
        )
    locations.set_active_experiment(experiment_id)
    return _experiment_entity(workspace, experiment_id)


def create_experiment(
    name: str, artifact_location: str | None = None, tags: Mapping[str, Any] | None = None
) -> str:
    """Create an experiment and return its id (its folder name under ``runs/``); see
    :meth:`MlflowClient.create_experiment` for what becomes of ``tags`` and
    ``artifact_location``."""
    return _client().create_experiment(name, artifact_location, tags)


def set_experiment_tag(key: str, value: Any) -> None:
    """Set a tag on the current experiment (the one ``set_experiment`` chose)."""
    _client().set_experiment_tag(_workspace().active_experiment(), key, value)


def set_experiment_tags(tags: Mapping[str, Any]) -> None:
    """Set several tags on the current experiment."""
    for key, value in _check_mapping("tags", tags).items():
        set_experiment_tag(key, value)


def get_experiment(experiment_id: str) -> Experiment:
    return _experiment_entity(_workspace(), experiment_id)


def get_experiment_by_name(name: str) -> Experiment | None:
    workspace = _workspace()
    found = workspace.find_experiment(name)
    return None if found is None else _experiment_entity(workspace, found[0])


class _ThreadRuns(threading.local):
    def __init__(self) -> None:
        self.stack: list[LiveRun] = []
        self.lent: LiveRun | None = None  # a run that start_run() inside a block reuses


@contextlib.contextmanager
def lend_active_run() -> Iterator[None]:
    """Within this block, ``start_run()`` reuses the active run instead of refusing.

    This is how code that opens its own run (the course's hyperopt objective)
    logs into the child run a search opened for it.
    """
    previous = _thread.lent
    _thread.lent = _thread.stack[-1] if _thread.stack else None
    try:
        yield
    finally:
        _thread.lent = previous


class _LastRun:
    run: LiveRun | None = None


_thread = _ThreadRuns()
_last = _LastRun()


def forget_session() -> None:
    """Forget the active experiment and the last ended run (as a new process would);
    runs still active are the caller's to end first."""
    locations.set_active_experiment(None)
    _last.run = None


def _forget_parent_stack() -> None:
    _thread.stack.clear()
    _last.run = None


os.register_at_fork(after_in_child=_forget_parent_stack)


class ActiveRun(Run):
    """What ``start_run`` returns: a :class:`Run` that ends its run when its block ends.

    Its ``info`` and ``data`` are read live, so ``run.info.status`` after the
    block says how the run ended.
    """

    def __init__(self, live: LiveRun, borrowed: bool = False) -> None:
        # No super().__init__: info and data are read live. A borrowed run belongs to
        # an enclosing block (a hyperopt trial), which ends it.
        self._live = live
        self._borrowed = borrowed

    @property
    def info(self) -> RunInfo:  # type: ignore[override]
        return run_from_live(self._live).info

    @property
    def data(self) -> RunData:  # type: ignore[override]
        return run_from_live(self._live).data

    @property
    def live(self) -> LiveRun:
        return self._live

    def __enter__(self) -> ActiveRun:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: types.TracebackType | None,
    ) -> None:
        if not self._borrowed:
            _end_with_descendants(self._live, *status_for_exception(error))

    def __repr__(self) -> str:
        return f"<ActiveRun: run_id={self.info.run_id!r}, name={self.info.run_name!r}>"


# -- starting and ending runs ---------------------------------------------------------


def _prepare_tags(tags: Mapping[str, Any] | None) -> dict[str, str]:
    if tags is None:
        return {}
    if not isinstance(tags, Mapping):
        raise InvalidValue(
            f"tags must be a mapping of names to values, got {type(tags).__name__}. "
            "Pass e.g. tags={'team': 'forecasting'}."
        )
    return {
        check_key(key, "tag key"): as_text("tag", key, value, MAX_TAG_VALUE_LENGTH)
        for key, value in tags.items()
    }


def start_run(
    run_id: str | None = None,
    experiment_id: str | None = None,
    run_name: str | None = None,
    nested: bool = False,
    parent_run_id: str | None = None,
    tags: Mapping[str, Any] | None = None,
    description: str | None = None,
    log_system_metrics: bool | None = None,
) -> ActiveRun:
    """Start a run (or resume one by ``run_id``) and make it active in this thread.

    Use it as a context manager: the run ends FINISHED when the block ends,
    FAILED if it raises, KILLED on Ctrl-C.

    Example::

        with gitruns.start_run(run_name="baseline") as run:
            gitruns.log_param("alpha", 0.1)
            gitruns.log_metric("rmse", 5.2)
        print(run.info.run_id)
    """
    del log_system_metrics  # system metrics are not sampled; kept for MLflow's signature
    stack = _thread.stack
    if stack and stack[-1] is _thread.lent and not nested and run_id is None:
        return ActiveRun(stack[-1], borrowed=True)
    if stack and not nested and parent_run_id is None:
        raise RunAlreadyActive(
            f"run {stack[-1].run_id} is already active. End it first with end_run(), "
            "or pass nested=True to start a child run inside it."
        )
    new_tags = _prepare_tags(tags)
    if description is not None and system_tags.NOTE in new_tags:
        raise InvalidValue(
            f"the description is given twice: as description= and as the {system_tags.NOTE!r} tag. "
            "Pass only one of them."
        )
    if run_name is not None:
        check_text_name(run_name, "run name", max_length=MAX_NAME_LENGTH)
    workspace = _workspace()
    if run_id is not None:
        live = workspace.resume_run(run_id)
        # A resumed run takes a new name or description the way MLflow stores them.
        if run_name is not None:
            new_tags[system_tags.RUN_NAME] = run_name
        if description is not None:
            new_tags[system_tags.NOTE] = description
    else:
        parent = parent_run_id or (stack[-1].run_id if stack and nested else None)
        live = workspace.create_run(
            _experiment_for(workspace, experiment_id, parent), run_name, parent, description
        )
    if new_tags:
        live.set_tags(new_tags)
    live.reads_in = workspace.repo_top  # this script's reads are the run's data
    watch_reads(workspace.runs_dir)
    install_exit_hooks()
    live_runs.add(live)
    stack.append(live)
    logger.info("Run %s (%s) started in %s", live.run_id, live.record.name, live.run_dir)
    return ActiveRun(live)


def _experiment_for(workspace: Workspace, experiment_id: str | None, parent: str | None) -> str:
    """The experiment a new run goes to: the one named, its parent's, or the active one."""
    if experiment_id is not None:
        return workspace.experiment(experiment_id)[0]
    if parent is not None:
        return workspace.open_run(parent).record.experiment
    return workspace.active_experiment()


def end_run(status: str = FINISHED) -> None:
    """End the active run of this thread with ``status`` (FINISHED, FAILED or KILLED)."""
    if status not in TERMINAL_STATUSES:
        raise InvalidValue(
            f"status {status!r} does not end a run. Pass one of {', '.join(TERMINAL_STATUSES)}."
        )
    if _thread.stack:
        _end_with_descendants(_thread.stack[-1], status, None)


def _end_with_descendants(live: LiveRun, status: str, error: BaseException | None) -> None:
    stack = _thread.stack
    while live in stack:
        top = stack.pop()
        if top in live_runs:
            top.finish(status, error)
    if live in live_runs:  # ended from another thread than the one that started it
        live.finish(status, error)
    _last.run = live


def active_run() -> ActiveRun | None:
    """The active run of this thread, or None."""
    return ActiveRun(_thread.stack[-1]) if _thread.stack else None


def last_active_run() -> Run | None:
    """The active run, else the run that ended last in this process, else None."""
    if _thread.stack:
        return run_from_live(_thread.stack[-1])
    return None if _last.run is None else run_from_live(_last.run)


def get_run(run_id: str) -> Run:
    """A run by id or unique id prefix, with every value this process logged to it."""
    record, run_dir = _workspace().load_run(run_id)
    return run_from_record(record, run_dir)


# -- logging to the active run -------------------------------------------------------


def _target(run_id: str | None) -> LiveRun:
    """The run a logging call writes to: the active one, or the one named by id.

    With none active, one is started, as MLflow does: it stays active for the calls
    that follow and ends with ``end_run()``, or FINISHED when the process exits.
    """
    if run_id is None:
        if not _thread.stack:
            run = start_run()
            logger.info(
                "Started run %s to log to (no run was active). End it with end_run().",
                run.info.run_id,
            )
        return _thread.stack[-1]
    return _workspace().open_run(run_id)


def live_run(run_id: str | None = None) -> LiveRun:
    """The run being written that logging calls reach: the active one, or the one by id."""
    return _target(run_id)


def _check_mapping(name: str, value: object) -> Mapping[str, Any]:
    if not isinstance(value, Mapping):
        raise InvalidValue(
            f"{name} must be a mapping of names to values, got {type(value).__name__}. "
            f"Pass a dict, e.g. {name}={{'alpha': 0.1}}."
        )
    return value


def log_param(key: str, value: Any, synchronous: bool | None = None) -> Any:
    """Log one parameter of the active run; returns ``value``. Params are write-once."""
    _target(None).log_params({key: value})
    return value


def log_params(
    params: Mapping[str, Any], synchronous: bool | None = None, run_id: str | None = None
) -> None:
    """Log several parameters at once (all or none are written)."""
    _target(run_id).log_params(_check_mapping("params", params))


def set_tag(key: str, value: Any, synchronous: bool | None = None) -> None:
    """Set a tag on the active run; a later value replaces an earlier one."""
    _target(None).set_tags({key: value})


def set_tags(tags: Mapping[str, Any], synchronous: bool | None = None) -> None:
    _target(None).set_tags(_check_mapping("tags", tags))


def delete_tag(key: str) -> None:
    _target(None).delete_tag(key)


def log_metric(
    key: str,
    value: float,
    step: int | None = None,
    synchronous: bool | None = None,
    timestamp: int | None = None,
    run_id: str | None = None,
    **_: Any,
) -> None:
    """Log one value of a metric; NaN and infinities are kept.

    ``step`` defaults to 0 and ``timestamp`` (milliseconds) to now.

    Example::

        for epoch in range(10):
            gitruns.log_metric("loss", loss, step=epoch)
    """
    _target(run_id).log_metric(key, value, step, timestamp)


def log_metrics(
    metrics: Mapping[str, float],
    step: int | None = None,
    synchronous: bool | None = None,
    run_id: str | None = None,
    timestamp: int | None = None,
    **_: Any,
) -> None:
    """Log several metrics at one step."""
    live = _target(run_id)
    moment = now_ms() if timestamp is None else timestamp
    for key, value in _check_mapping("metrics", metrics).items():
        live.log_metric(key, value, step, moment)


# -- artifacts --------------------------------------------------------------------------


def log_artifact(
    local_path: str | os.PathLike[str], artifact_path: str | None = None, run_id: str | None = None
) -> None:
    """Copy a file (or a folder) into the run's ``artifacts/[artifact_path/]``.

    Example::

        gitruns.log_artifact("models/preprocessor.b", artifact_path="preprocessor")
    """
    _target(run_id).log_artifact(local_path, artifact_path)


def log_artifacts(
    local_dir: str | os.PathLike[str], artifact_path: str | None = None, run_id: str | None = None
) -> None:
    """Copy the contents of a folder into the run's ``artifacts/[artifact_path/]``."""
    _target(run_id).log_artifacts(local_dir, artifact_path)


def log_text(text: str, artifact_file: str, run_id: str | None = None) -> None:
    """Write ``text`` to ``artifacts/<artifact_file>``."""
    if not isinstance(text, str):
        raise InvalidValue(f"log_text needs a str, got {type(text).__name__}. Pass str(value).")
    _target(run_id).write_artifact(artifact_file, text)


def log_dict(
    dictionary: Mapping[str, Any] | list[Any], artifact_file: str, run_id: str | None = None
) -> None:
    """Write a dict to ``artifacts/<artifact_file>``: YAML for ``.yaml``/``.yml``, else JSON."""
    live = _target(run_id)
    if artifact_file.endswith((".yaml", ".yml")):
        text = dump_yaml(_plain(dictionary))
    else:
        try:
            text = json.dumps(dictionary, indent=2, default=_json_default, allow_nan=True)
        except (TypeError, ValueError) as error:
            raise InvalidValue(f"log_dict cannot write this value as JSON: {error}.") from error
    live.write_artifact(artifact_file, text)


def _json_default(value: Any) -> Any:
    if hasattr(value, "tolist"):
        return value.tolist()
    if hasattr(value, "item"):
        return value.item()
    raise TypeError(f"{type(value).__name__} is not JSON serializable; convert it first")


def _plain(value: Any) -> Any:
    """Numbers, strings, lists and dicts only, so YAML stays safe to load."""
    return json.loads(json.dumps(value, default=_json_default))


def log_figure(
    figure: Any,
    artifact_file: str,
    *,
    save_kwargs: Mapping[str, Any] | None = None,
    run_id: str | None = None,
) -> None:
    """Save a matplotlib (or plotly) figure to ``artifacts/<artifact_file>``."""
    live = _target(run_id)
    target = live.artifact_target(artifact_file, "artifact file")
    target.parent.mkdir(parents=True, exist_ok=True)
    module = type(figure).__module__
    temporary = target.with_name(f".{target.stem}.{os.getpid()}.tmp{target.suffix}")
    if module.startswith("matplotlib"):
        figure.savefig(temporary, **dict(save_kwargs or {}))
    elif module.startswith("plotly"):
        if target.suffix == ".html":
            figure.write_html(temporary, **dict(save_kwargs or {}))
        else:
            figure.write_image(temporary, **dict(save_kwargs or {}))
    else:
        raise InvalidValue(
            f"log_figure takes a matplotlib or plotly figure, got {type(figure).__name__}. "
            "Save other figures to a file and use log_artifact."
        )
    os.replace(temporary, target)


def get_artifact_uri(artifact_path: str | None = None) -> str:
    """The ``file:`` URI of the active run's artifacts, or of one path inside them."""
    live = _target(None)
    if artifact_path is None:
        return live.artifacts_dir.absolute().as_uri()
    return live.artifact_target(artifact_path).absolute().as_uri()


# -- searching ------------------------------------------------------------------------


def search_experiments(
    view_type: int = ViewType.ACTIVE_ONLY,
    max_results: int | None = None,
    filter_string: str | None = None,
    order_by: Sequence[str] | None = None,
) -> list[Experiment]:
    """Experiments, filtered on ``name`` or ``tags.KEY``."""
    return list(_client().search_experiments(view_type, max_results, filter_string, order_by))


def list_experiments(
    view_type: int = ViewType.ACTIVE_ONLY, max_results: int | None = None
) -> list[Experiment]:
    """MLflow 1.x's name for :func:`search_experiments`."""
    return search_experiments(view_type, max_results)


def delete_run(run_id: str) -> None:
    """Soft-delete a run (see :meth:`MlflowClient.delete_run`)."""
    _client().delete_run(run_id)


def log_input(
    dataset: Any,
    context: str | None = None,
    tags: Mapping[str, Any] | None = None,
    model: Any = None,
) -> None:
    """Record that the active run read ``dataset`` (from ``gitruns.data``), in ``context``
    (``"training"``, ``"validation"``…).

    Example::

        mlflow.log_input(mlflow.data.from_pandas(train, targets="duration"), context="training")
    """
    from gitruns.data import input_entry

    entry = input_entry(dataset, context, dict(tags) if tags else None)
    _target(None).log_inputs([entry])


def get_logged_model(model_id: str) -> LoggedModel:
    """A model a run logged, by ``ModelInfo.model_id`` (MLflow 3's logged models).

    Example::

        info = gitruns.sklearn.log_model(model, name="model")
        gitruns.get_logged_model(info.model_id).source_run_id
    """
    return _client().get_logged_model(model_id)


def set_logged_model_tags(model_id: str, tags: Mapping[str, Any]) -> None:
    """Tag a logged model; the tags are kept on its run."""
    _client().set_logged_model_tags(model_id, tags)


def delete_logged_model_tag(model_id: str, key: str) -> None:
    _client().delete_logged_model_tag(model_id, key)


def register_model(
    model_uri: str,
    name: str,
    await_registration_for: int = 300,
    *,
    tags: Mapping[str, Any] | None = None,
) -> ModelVersion:
    """Register the model at ``model_uri`` (``runs:/RUN_ID/model``) as a new version of ``name``.

    The version is an annotated git tag ``NAME@vN.0.0`` on a commit that holds the run;
    a run folder not yet committed is committed alone first.

    Example::

        version = gitruns.register_model(f"runs:/{run_id}/model", "nyc-taxi-regressor")
    """
    return _client().create_model_version(name, model_uri, tags=tags)


def flush() -> None:
    """Write every buffered metric line of this process's runs now."""
    for live in list(live_runs):
        live.flush()


def __getattr__(name: str) -> Any:
    if name == "MlflowClient":  # ``mlflow.tracking.MlflowClient``, loaded on first use
        from gitruns.client import MlflowClient

        return MlflowClient
    raise AttributeError(f"module 'gitruns.tracking' has no attribute {name!r}")


__all__ = [
    "ActiveRun",
    "LiveRun",
    "MlflowClient",
    "active_run",
    "create_experiment",
    "delete_run",
    "delete_tag",
    "end_run",
    "flush",
    "get_artifact_uri",
    "get_experiment",
    "get_experiment_by_name",
    "get_run",
    "get_tracking_uri",
    "last_active_run",
    "list_experiments",
    "log_artifact",
    "log_artifacts",
    "log_dict",
    "log_figure",
    "log_metric",
    "log_metrics",
    "log_param",
    "log_params",
    "log_text",
    "register_model",
    "search_experiments",
    "search_runs",
    "set_experiment",
    "set_experiment_tag",
    "set_experiment_tags",
    "set_tag",
    "set_tags",
    "set_tracking_uri",
    "start_run",
]
