"""Collect what the site shows: experiments, runs, metric histories and the registry.

Everything is read once, here, into plain page models; the later steps only
transform them. Each model carries a ``key`` that changes whenever its
inputs change, which is what lets a rebuild skip unchanged pages.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import json
import logging
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

from gitruns.exceptions import CorruptRecord, GitError, GitrunsError
from gitruns.query.ranking import RankedMixin, Ranking, rank
from gitruns.registry.tags import mlflow_stage
from gitruns.store.history import LOG_FILE, TABLE_FILE, history_files, read_histories
from gitruns.store.index import RunEntry
from gitruns.store.record import (
    ARTIFACTS_DIR,
    DIFF_FILE,
    MAX_RECORD_BYTES,
    RUN_FILE,
    ExperimentRecord,
)
from gitruns.utils.files import read_regular_file, regular_files
from gitruns.workspace import Workspace

logger = logging.getLogger(__name__)


@dataclass
class RunModel:
    """One run as the site shows it."""

    entry: RunEntry
    path: str  # its folder, as text: 100,000 Path objects made for nothing cost a second
    key: str  # changes when run.yaml or any metric history changes
    _last_histories: ClassVar[tuple[tuple[str, str], dict[str, list[list[float]]]] | None] = None

    @property
    def id(self) -> str:
        return self.entry.id

    @property
    def folder(self) -> Path:
        return Path(self.path)

    @property
    def histories(self) -> dict[str, list[list[float]]]:
        """Every metric history: key -> [[step, value, timestamp], ...]. The run's page and
        its data file, made one after the other, share one read; only the last run's
        histories are kept, so a build's memory does not grow with its runs."""
        cached = RunModel._last_histories
        if cached is not None and cached[0] == (self.path, self.key):
            return cached[1]
        found = {
            key: [[step, value, ts] for ts, step, value in history]
            for key, history in read_histories(self.folder, self.entry.schema).items()
        }
        RunModel._last_histories = ((self.path, self.key), found)
        return found


@dataclass
class ExperimentModel(RankedMixin):
    id: str
    record: ExperimentRecord
    runs: list[RunModel] = field(default_factory=list)

    @functools.cached_property
    def ranking(self) -> Ranking:  # type: ignore[override]  # computed once, when read
        """Its primary metric, goal and best run, by the one rule (query.ranking)."""
        return rank(self.record.primary_metric, self.record.goal, [run.entry for run in self.runs])

    @property
    def best_run(self) -> RunModel | None:
        return next((run for run in self.runs if run.id == self.ranking.best_id), None)

    @property
    def last_activity(self) -> int | None:
        return max((run.entry.start_time for run in self.runs), default=None)

    @property
    def key(self) -> str:
        parts = [self.id, self.record.to_yaml(), *(run.key for run in self.runs)]
        return _digest(parts)


@dataclass
class SiteData:
    runs_dir: Path
    experiments: list[ExperimentModel]
    models: list[dict[str, Any]]  # the registry, as plain dicts

    @property
    def runs(self) -> list[RunModel]:
        return [run for experiment in self.experiments for run in experiment.runs]


def _digest(parts: list[str]) -> str:
    return hashlib.sha1("\x00".join(parts).encode("utf-8", "surrogatepass")).hexdigest()


def _run_key(folder: str, schema: int) -> str:
    """Size and mtime of the record and of every metric history of a run (os.lstat on
    strings: a rebuild does this for every run, so it is kept to a few microseconds)."""
    names = (RUN_FILE, TABLE_FILE, LOG_FILE) if schema >= 2 else None
    paths = (
        [f"{folder}/{name}" for name in names]
        if names
        else [os.path.join(folder, RUN_FILE), *map(str, history_files(Path(folder), schema))]
    )
    signatures = []
    for path in paths:
        try:
            stat = os.lstat(path)
        except OSError:
            continue
        signatures.append(f"{os.path.basename(path)}:{stat.st_size}:{stat.st_mtime_ns}")
    return _digest(signatures)


def collect(runs_dir: Path) -> SiteData:
    """Read every experiment, run and registered model under ``runs_dir``."""
    workspace = Workspace.at(runs_dir)
    experiments = []
    for experiment_id, record in workspace.experiments():
        if record.lifecycle_stage == "deleted":
            continue
        model = ExperimentModel(experiment_id, record)
        for entry, folder in workspace.entries([experiment_id]):
            if entry.lifecycle_stage != "deleted":
                run_key = _run_key(folder, entry.schema)
                model.runs.append(RunModel(entry, folder, run_key))
        model.runs.sort(key=lambda run: run.entry.start_time, reverse=True)
        experiments.append(model)
    pages = {run.id for experiment in experiments for run in experiment.runs}
    return SiteData(runs_dir, experiments, _registry(workspace, pages))


def _registry(workspace: Workspace, run_pages: set[str]) -> list[dict[str, Any]]:
    """Registered models with versions, stages and history; empty outside git."""
    try:
        registry = workspace.registry
        models = registry.models()
        events = registry.events()
    except (GitError, GitrunsError) as error:
        logger.info("No model registry for the site: %s", error)
        return []
    found = []
    for name, model in sorted(models.items()):
        if model.deprecated:
            continue
        found.append(
            {
                "name": name,
                "description": model.description,
                "versions": [
                    {
                        "version": state.label,
                        "stage": state.current_stage,
                        "aliases": state.aliases,
                        "run_id": state.run_id,
                        # A tag's message says any run id (MLflow's API takes one as
                        # given): only a run the site has a page for becomes a link.
                        "run_page": state.run_id if state.run_id in run_pages else None,
                        "description": state.description,
                        "registered_by": state.registered_by,
                        "registered_at": state.registered_at * 1000,
                        "tag": state.tag,
                    }
                    for state in reversed(model.live_versions())
                ],
                "history": [
                    {
                        "time": event.time * 1000,
                        "who": event.tagger,
                        "tag": event.tag,
                        "action": event.name.action,
                        "stage": mlflow_stage(event.name.stage),
                        "version": event.version,
                    }
                    for event in reversed(events)
                    if event.name.model == name
                ],
            }
        )
    return found


def diff_text(run: RunModel, limit: int = 200_000) -> str | None:
    try:
        data = read_regular_file(run.folder / DIFF_FILE, MAX_RECORD_BYTES)
    except FileNotFoundError:
        return None
    except CorruptRecord as error:
        logger.warning("Skipped %s: %s", run.folder / DIFF_FILE, error.message)
        return None
    return data.decode("utf-8", errors="replace")[:limit]


def artifact_files(run: RunModel) -> list[tuple[str, int]]:
    """Every artifact file of a run (links left out), relative to its artifacts folder,
    with its size."""
    files: list[tuple[str, int]] = []
    if not os.path.isdir(f"{run.path}/{ARTIFACTS_DIR}"):
        return files  # most runs: no folder to walk
    for relative, path in regular_files(run.folder / ARTIFACTS_DIR):
        with contextlib.suppress(OSError):
            files.append((relative, path.lstat().st_size))
    return files


def json_for_script(data: Any) -> str:
    """JSON safe inside HTML and JS: no character can close a script or start markup."""
    text = json.dumps(data, separators=(",", ":"), allow_nan=False, default=str)
    return (
        text.replace("<", "\\u003c")
        .replace(">", "\\u003e")
        .replace("&", "\\u0026")
        .replace("\u2028", "\\u2028")
        .replace("\u2029", "\\u2029")
    )
