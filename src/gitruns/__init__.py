"""gitruns: experiment tracking that lives in git.

Log runs with MLflow's fluent API; each run lands as plain files under
``runs/`` next to your code, with the commit, the uncommitted diff and the
environment that produced it. Existing MLflow code runs unchanged with::

    import gitruns as mlflow
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from gitruns.store.reads import watch_reads
from gitruns.version import __version__

# What ``import gitruns`` offers, by the module that defines it. Each is imported on
# first use (PEP 562): a script that only searches runs never loads the writer, the
# registry or the model flavors, and starts 100 ms sooner.
_EXPORTS: dict[str, tuple[str, ...]] = {
    "gitruns.autologging": ("autolog",),
    "gitruns.client": ("MlflowClient",),
    "gitruns.entities": ("Experiment", "Run", "RunData", "RunInfo", "RunStatus", "ViewType"),
    "gitruns.exceptions": ("GitrunsError", "MlflowException"),
    "gitruns.searching": ("search_runs",),
    "gitruns.signature": ("infer_signature",),
    "gitruns.tracking": (
        "ActiveRun",
        "active_run",
        "create_experiment",
        "delete_logged_model_tag",
        "delete_run",
        "delete_tag",
        "end_run",
        "flush",
        "get_artifact_uri",
        "get_experiment",
        "get_experiment_by_name",
        "get_logged_model",
        "get_run",
        "get_tracking_uri",
        "last_active_run",
        "list_experiments",
        "log_artifact",
        "log_artifacts",
        "log_dict",
        "log_figure",
        "log_input",
        "log_metric",
        "log_metrics",
        "log_param",
        "log_params",
        "log_text",
        "register_model",
        "search_experiments",
        "set_experiment",
        "set_experiment_tag",
        "set_experiment_tags",
        "set_logged_model_tags",
        "set_tag",
        "set_tags",
        "set_tracking_uri",
        "start_run",
    ),
}
_SUBMODULES = ("artifacts", "data", "entities", "exceptions", "pyfunc", "sklearn", "xgboost")
_HOME = {name: module for module, names in _EXPORTS.items() for name in names}

__all__ = sorted([*_HOME, *_SUBMODULES, "__version__"])

if TYPE_CHECKING:  # what type checkers and editors see; a test keeps it and _EXPORTS alike
    from gitruns import artifacts, data, entities, exceptions, pyfunc, sklearn, xgboost
    from gitruns.autologging import autolog
    from gitruns.client import MlflowClient
    from gitruns.entities import Experiment, Run, RunData, RunInfo, RunStatus, ViewType
    from gitruns.exceptions import GitrunsError, MlflowException
    from gitruns.searching import search_runs
    from gitruns.signature import infer_signature
    from gitruns.tracking import (
        ActiveRun,
        active_run,
        create_experiment,
        delete_logged_model_tag,
        delete_run,
        delete_tag,
        end_run,
        flush,
        get_artifact_uri,
        get_experiment,
        get_experiment_by_name,
        get_logged_model,
        get_run,
        get_tracking_uri,
        last_active_run,
        list_experiments,
        log_artifact,
        log_artifacts,
        log_dict,
        log_figure,
        log_input,
        log_metric,
        log_metrics,
        log_param,
        log_params,
        log_text,
        register_model,
        search_experiments,
        set_experiment,
        set_experiment_tag,
        set_experiment_tags,
        set_logged_model_tags,
        set_tag,
        set_tags,
        set_tracking_uri,
        start_run,
    )


def __getattr__(name: str) -> Any:
    module = _HOME.get(name)
    if module is not None:
        value = getattr(importlib.import_module(module), name)
        globals()[name] = value  # the next lookup is a plain attribute
        return value
    if not name.startswith("_"):  # a submodule, as after its import: mlflow.tracking.MlflowClient
        try:
            return importlib.import_module(f"gitruns.{name}")
        except ModuleNotFoundError as error:
            if error.name != f"gitruns.{name}":
                raise  # the submodule exists but needs something missing: say what
    raise AttributeError(f"module 'gitruns' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})


watch_reads()  # from the import on: a script reads its data before it starts a run
