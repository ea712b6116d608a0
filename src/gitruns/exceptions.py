"""One family of exceptions, each message saying what was wrong and what to do.

Every error gitruns raises is a :class:`GitrunsError`. Code written for MLflow
catches ``mlflow.exceptions.MlflowException``; the same class is importable as
``gitruns.MlflowException`` and ``gitruns.exceptions.MlflowException``.
"""

from __future__ import annotations


class GitrunsError(Exception):
    """Base of every gitruns error.

    ``error_code`` follows MLflow's names so code that inspects it keeps working.
    """

    error_code = "INTERNAL_ERROR"

    def __init__(self, message: str, error_code: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        if error_code is not None:
            self.error_code = error_code


MlflowException = GitrunsError


class InvalidName(GitrunsError):
    """A key, experiment name, run name or run id that breaks the name rules."""

    error_code = "INVALID_PARAMETER_VALUE"


class InvalidValue(GitrunsError):
    """A value of the wrong type or out of range."""

    error_code = "INVALID_PARAMETER_VALUE"


class InvalidPath(GitrunsError):
    """An artifact path that would land outside the run's folder."""

    error_code = "INVALID_PARAMETER_VALUE"


class ParamConflict(InvalidValue):
    """A param logged again with a different value: params are write-once."""


class NoActiveRun(GitrunsError):
    """A call that logs to the active run when there is none."""

    error_code = "BAD_REQUEST"


class RunAlreadyActive(GitrunsError):
    """``start_run`` while a run is active, without ``nested=True``."""

    error_code = "BAD_REQUEST"


class RunNotFound(GitrunsError):
    """No run has that id, or no run starts with that prefix."""

    error_code = "RESOURCE_DOES_NOT_EXIST"


class AmbiguousRunId(GitrunsError):
    """A run id prefix that more than one run starts with."""

    error_code = "INVALID_PARAMETER_VALUE"


class ExperimentNotFound(GitrunsError):
    """No experiment has that id or name."""

    error_code = "RESOURCE_DOES_NOT_EXIST"


class LoggedModelNotFound(GitrunsError):
    """No logged model has that id (or it was deleted)."""

    error_code = "RESOURCE_DOES_NOT_EXIST"


class CorruptRecord(GitrunsError):
    """A ``run.yaml`` or ``experiment.yaml`` that cannot be read back."""

    error_code = "INVALID_STATE"


class GitError(GitrunsError):
    """git is missing, or a git command failed."""

    error_code = "INVALID_STATE"


class MissingLibrary(GitrunsError):
    """A library an optional part needs (a model flavor, MLflow) is not installed."""

    error_code = "INVALID_STATE"
