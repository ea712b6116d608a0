"""Validate a whole ``runs/`` tree against the on-disk contract.

The JSON Schemas for ``run.yaml`` and ``experiment.yaml`` ship with the
package (``gitruns/schemas/``); :func:`check_runs` applies them to every
record and adds what a schema cannot see: a folder named differently from
the id inside it, a run filed under the wrong experiment, a metric history
that does not parse.
"""

from __future__ import annotations

import functools
import json
import logging
import os
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

import jsonschema

from gitruns.exceptions import GitrunsError
from gitruns.store.environments import (
    DIGEST_PATTERN,
    ENVIRONMENTS_DIR,
    MAX_REQUIREMENTS_BYTES,
    digest_of,
)
from gitruns.store.history import check_histories
from gitruns.store.logged_models import MODEL_FILE, MODELS_DIR, is_standalone_model_id, read_model
from gitruns.store.names import RUN_ID_PATTERN, SLUG_PATTERN
from gitruns.store.record import EXPERIMENT_FILE, RUN_FILE
from gitruns.utils.files import read_regular_file, read_small_text, regular_files
from gitruns.utils.yamlcodec import InvalidYaml, load_yaml

logger = logging.getLogger(__name__)


@functools.lru_cache(maxsize=2)
def load_schema(name: str) -> dict[str, Any]:
    """A schema shipped with gitruns: ``"run"`` or ``"experiment"``."""
    text = resources.files("gitruns.schemas").joinpath(f"{name}.schema.json").read_text()
    return json.loads(text)


@functools.lru_cache(maxsize=2)
def _validator(name: str) -> jsonschema.protocols.Validator:
    schema = load_schema(name)
    return jsonschema.validators.validator_for(schema)(schema)


@dataclass(frozen=True)
class Problem:
    """One thing wrong with one file."""

    path: Path
    message: str

    def __str__(self) -> str:
        return f"{self.path}: {self.message}"


@dataclass
class CheckReport:
    runs_dir: Path
    experiments: int = 0
    runs: int = 0
    problems: list[Problem] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems


def validate_document(document: Any, schema_name: str) -> list[str]:
    """Schema errors of a parsed document, each as ``where: what``."""
    errors = sorted(_validator(schema_name).iter_errors(document), key=lambda e: list(e.path))
    return [f"{'/'.join(map(str, error.path)) or '(top)'}: {error.message}" for error in errors]


def _read_yaml(path: Path, problems: list[Problem]) -> tuple[bool, Any]:
    """``(True, document)`` when ``path`` parses; else ``(False, None)`` and a problem noted."""
    try:
        return True, load_yaml(read_regular_file(path))
    except GitrunsError as error:
        problems.append(Problem(path, error.message))
    except InvalidYaml as error:
        problems.append(Problem(path, f"not valid YAML: {error}".replace("\n", " ")))
    except OSError as error:
        problems.append(Problem(path, f"cannot be read: {error}"))
    return False, None


def check_runs(runs_dir: Path) -> CheckReport:
    """Check every experiment and run under ``runs_dir``; the report lists each problem.

    Example::

        report = check_runs(Path("runs"))
        for problem in report.problems:
            print(problem)
    """
    report = CheckReport(runs_dir=runs_dir)
    if not runs_dir.is_dir():
        report.problems.append(
            Problem(runs_dir, "no such folder. Log a run first, or pass the runs folder's path.")
        )
        return report
    for entry in sorted(os.scandir(runs_dir), key=lambda e: e.name):
        if entry.name.startswith(".") or not entry.is_dir():
            continue
        if entry.name == ENVIRONMENTS_DIR and not entry.is_symlink():
            _check_environments(Path(entry.path), report)
            continue
        if entry.is_symlink() or not SLUG_PATTERN.match(entry.name):
            report.problems.append(
                Problem(
                    Path(entry.path),
                    "not an experiment folder (a link, or a name that is not lower-case letters, "
                    "digits and dashes). Move it out of runs/.",
                )
            )
            continue
        report.experiments += 1
        _check_experiment(Path(entry.path), report)
    return report


def _check_experiment(folder: Path, report: CheckReport) -> None:
    path = folder / EXPERIMENT_FILE
    if not path.exists():
        report.problems.append(
            Problem(
                folder,
                f"no {EXPERIMENT_FILE}: not an experiment folder. Remove it or restore the file.",
            )
        )
    else:
        parsed, document = _read_yaml(path, report.problems)
        if parsed:
            for error in validate_document(document, "experiment"):
                report.problems.append(Problem(path, error))
    for entry in sorted(os.scandir(folder), key=lambda e: e.name):
        if entry.name.startswith(".") or not entry.is_dir():
            continue
        if entry.name == MODELS_DIR and not entry.is_symlink():
            _check_models(Path(entry.path), report)
            continue
        if entry.is_symlink() or not RUN_ID_PATTERN.match(entry.name):
            report.problems.append(
                Problem(
                    Path(entry.path),
                    "folder name is not a run id (32 hex characters). Move it out of runs/.",
                )
            )
            continue
        report.runs += 1
        _check_run(Path(entry.path), folder.name, report)


def _check_models(folder: Path, report: CheckReport) -> None:
    """Logged models of their own folders: each named by its id, its record readable."""
    for entry in sorted(os.scandir(folder), key=lambda e: e.name):
        if entry.name.startswith("."):
            continue
        if entry.is_symlink() or not entry.is_dir() or not is_standalone_model_id(entry.name):
            report.problems.append(
                Problem(
                    Path(entry.path),
                    "not a logged model's folder (m- and 32 hex characters). Move it out of runs/.",
                )
            )
            continue
        try:
            read_model(Path(entry.path))
        except GitrunsError as error:
            report.problems.append(Problem(Path(entry.path) / MODEL_FILE, error.message))


def _check_run(run_dir: Path, experiment_id: str, report: CheckReport) -> None:
    path = run_dir / RUN_FILE
    if not path.exists():
        report.problems.append(
            Problem(run_dir, f"no {RUN_FILE}: the run never wrote its record. Remove the folder.")
        )
        return
    parsed, document = _read_yaml(path, report.problems)
    if not parsed:
        return
    errors = validate_document(document, "run")
    report.problems.extend(Problem(path, error) for error in errors)
    if isinstance(document, dict):
        if document.get("id") not in (None, run_dir.name):
            report.problems.append(
                Problem(
                    path, f"id {document.get('id')!r} differs from its folder {run_dir.name!r}."
                )
            )
        if document.get("experiment") not in (None, experiment_id):
            report.problems.append(
                Problem(
                    path,
                    f"experiment {document.get('experiment')!r} differs from the folder it is "
                    f"in ({experiment_id!r}). Move the run or fix the field.",
                )
            )
    schema = document.get("schema") if isinstance(document, dict) else None
    for file, problem in check_histories(run_dir, schema if isinstance(schema, int) else 2):
        report.problems.append(Problem(file, problem))


def _check_environments(folder: Path, report: CheckReport) -> None:
    for name, path in regular_files(folder):
        digest = name.removesuffix(".txt")
        text = read_small_text(path, MAX_REQUIREMENTS_BYTES)
        if not name.endswith(".txt") or not DIGEST_PATTERN.match(digest):
            report.problems.append(
                Problem(path, "not a package list (<sha256>.txt). Move it out of runs/.")
            )
        elif text is None or digest_of(text) != digest:
            report.problems.append(
                Problem(path, "its content does not match its name. Restore it from git.")
            )
