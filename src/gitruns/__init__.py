"""gitruns: experiment tracking that lives in git.

Log runs with MLflow's fluent API; each run lands as plain files under
``runs/`` next to your code, with the commit, the uncommitted diff and the
environment that produced it. Existing MLflow code runs unchanged with::

    import gitruns as mlflow
"""

from __future__ import annotations

from gitruns import artifacts, data, entities, exceptions, pyfunc, sklearn, xgboost
from gitruns.autologging import autolog
from gitruns.client import MlflowClient
from gitruns.entities import Experiment, Run, RunData, RunInfo, RunStatus, ViewType
from gitruns.exceptions import GitrunsError, MlflowException
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
    search_runs,
    set_experiment,
    set_experiment_tag,
    set_experiment_tags,
    set_logged_model_tags,
    set_tag,
    set_tags,
    set_tracking_uri,
    start_run,
)
from gitruns.version import __version__

__all__ = [
    "ActiveRun",
    "Experiment",
    "GitrunsError",
    "MlflowClient",
    "MlflowException",
    "Run",
    "RunData",
    "RunInfo",
    "RunStatus",
    "ViewType",
    "__version__",
    "active_run",
    "artifacts",
    "autolog",
    "create_experiment",
    "data",
    "delete_logged_model_tag",
    "delete_run",
    "delete_tag",
    "end_run",
    "entities",
    "exceptions",
    "flush",
    "get_artifact_uri",
    "get_experiment",
    "get_experiment_by_name",
    "get_logged_model",
    "get_run",
    "get_tracking_uri",
    "infer_signature",
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
    "pyfunc",
    "register_model",
    "search_experiments",
    "search_runs",
    "set_experiment",
    "set_experiment_tag",
    "set_experiment_tags",
    "set_logged_model_tags",
    "set_tag",
    "set_tags",
    "set_tracking_uri",
    "sklearn",
    "start_run",
    "xgboost",
]
