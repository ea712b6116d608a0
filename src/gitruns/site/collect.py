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
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

from gitruns.exceptions import CorruptRecord, GitError, GitrunsError
from gitruns.query.ranking import RankedMixin, Ranking, rank_columns
from gitruns.registry.tags import mlflow_stage
from gitruns.store.history import read_histories
from gitruns.store.index import RACY_NANOSECONDS, ExperimentIndex, RunEntry
from gitruns.store.record import (
    ARTIFACTS_DIR,
    DIFF_FILE,
    MAX_RECORD_BYTES,
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
    key: str  # changes when run.yaml (rewritten with every metric flush) or its artifacts do
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


class ExperimentModel(RankedMixin):
    """One experiment's live runs as the site reads them: column by column from the
    search index, so 100,000 runs cost a few lists, not 100,000 objects. A run is made
    a :class:`RunModel` (its whole entry) only when a page of it is made."""

    def __init__(self, experiment_id: str, record: ExperimentRecord, index: ExperimentIndex):
        self.id = experiment_id
        self.record = record
        self.index = index
        # Runs of the index the site shows: readable, not deleted; in the index's order.
        stages = index.column("attribute", "lifecycle_stage") or []
        self.positions = [
            at
            for at, name in enumerate(index.names)
            if name not in index.problems and at < len(stages) and stages[at] != "deleted"
        ]
        every = len(self.positions) == len(index.names)
        self._every = every
        self.ids: list[str] = (
            list(index.names) if every else [index.names[at] for at in self.positions]
        )
        self.start_times: list[int] = [
            value or 0 for value in self.column("attribute", "start_time")
        ]
        self.with_artifacts: set[str] = set()  # runs with an artifacts folder (few)
        self.keys = _run_keys(index, self.positions, self.with_artifacts)
        self._made: dict[str, RunModel] = {}

    def column(self, kind: str, key: str) -> list[Any]:
        """One value per live run (None where it lacks one)."""
        values = self.index.column(kind, key)
        if values is None:
            return [None] * len(self.positions)
        return values if self._every else [values[at] for at in self.positions]

    def keys_of(self, kind: str) -> list[str]:
        """The keys of ``kind`` (metric, param, tag) some live run has, sorted."""
        found = self.index.keys(kind)
        if not self._every:
            found = [key for key in found if any(v is not None for v in self.column(kind, key))]
        return sorted(found)

    @functools.cached_property
    def ranking(self) -> Ranking:  # type: ignore[override]  # computed once, when read
        """Its primary metric, goal and best run, by the one rule (query.ranking)."""
        return rank_columns(
            self.record.primary_metric,
            self.record.goal,
            self.ids,
            self.start_times,
            {key: functools.partial(self.column, "metric", key) for key in self.keys_of("metric")},
        )

    @property
    def last_activity(self) -> int | None:
        return max(self.start_times, default=None)

    @functools.cached_property
    def key(self) -> str:
        return _digest([self.id, self.record.to_yaml(), *self.ids, *self.keys])

    def runs(self, run_ids: list[str]) -> list[RunModel]:
        """The runs of ``run_ids`` (of this experiment) with their whole entries, read from
        the index in one pass; a run read before is not read again."""
        at = self._row_of
        wanted = [run_id for run_id in dict.fromkeys(run_ids) if run_id not in self._made]
        wanted = [run_id for run_id in wanted if run_id in at]
        if not wanted:
            return [self._made[run_id] for run_id in run_ids if run_id in self._made]
        positions = [self.positions[at[run_id]] for run_id in wanted]
        for run_id, item in zip(wanted, self.index.entries_at(positions), strict=True):
            if item is not None:
                entry, folder = item
                self._made[run_id] = RunModel(entry, folder, self.keys[at[run_id]])
        return [self._made[run_id] for run_id in run_ids if run_id in self._made]

    def folder_of(self, run_id: str) -> str:
        """A run's folder, as the index names it (a run of this experiment)."""
        return self.index.run_dir(self.positions[self._row_of[run_id]])

    @functools.cached_property
    def key_of(self) -> dict[str, str]:
        """Each run's key (see :func:`_run_keys`), by id."""
        return dict(zip(self.ids, self.keys, strict=True))

    @functools.cached_property
    def _row_of(self) -> dict[str, int]:
        return {run_id: n for n, run_id in enumerate(self.ids)}

    def run(self, run_id: str) -> RunModel | None:
        found = self.runs([run_id])
        return found[0] if found else None


@dataclass
class SiteData:
    runs_dir: Path
    experiments: list[ExperimentModel]
    models: list[dict[str, Any]]  # the registry, as plain dicts

    @property
    def run_count(self) -> int:
        return sum(len(experiment.ids) for experiment in self.experiments)

    def run(self, run_id: str) -> RunModel | None:
        """A run of any experiment, with its entry, or None when the site has no page of it."""
        for experiment in self.experiments:
            found = experiment.run(run_id)
            if found is not None:
                return found
        return None


def _digest(parts: list[str]) -> str:
    return hashlib.sha1("\x00".join(parts).encode("utf-8", "surrogatepass")).hexdigest()


def _run_keys(index: ExperimentIndex, positions: list[int], with_artifacts: set[str]) -> list[str]:
    """A key per run that changes when its run.yaml or its artifacts folder does.

    run.yaml's size and mtime come from the index, which stat'ed it already. The metric
    histories need no stat of their own: gitruns rewrites run.yaml whenever it writes
    metric values (its summary holds each metric's last value and time), and a pull that
    brings values brings that summary. The artifacts folder is lstat'ed (relative to the
    experiment's folder: a few microseconds a run), and runs that have one are added to
    ``with_artifacts``: only theirs are walked.

    A run.yaml changed within the index's racy window may change again within the same
    clock tick, keeping its size and mtime: its key then holds this build's time, so its
    page is made again next time too (git's rule, as the search index applies it).
    """
    keys: list[str] = []
    flat = index.signatures
    racy_after = time.time_ns() - RACY_NANOSECONDS
    try:
        folder = os.open(index.experiment_dir, os.O_RDONLY | os.O_DIRECTORY)
    except OSError:
        return [""] * len(positions)
    try:
        for at in positions:
            name = index.names[at]
            key = f"{flat[2 * at]}:{flat[2 * at + 1]}"
            if flat[2 * at + 1] > racy_after:
                key += f":racy:{racy_after}"
            try:
                found = os.lstat(f"{name}/{ARTIFACTS_DIR}", dir_fd=folder)
            except OSError:
                keys.append(key)
                continue
            with_artifacts.add(name)
            keys.append(f"{key}:{found.st_mtime_ns}")
    finally:
        os.close(folder)
    return keys


def collect(runs_dir: Path) -> SiteData:
    """Read every experiment, its runs' columns, and the registry under ``runs_dir``."""
    workspace = Workspace.at(runs_dir)
    experiments = []
    for experiment_id, record in workspace.experiments():
        if record.lifecycle_stage == "deleted":
            continue
        (index,) = workspace.indexes([experiment_id])
        experiments.append(ExperimentModel(experiment_id, record, index))
    pages = {run_id for experiment in experiments for run_id in experiment.ids}
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


def artifact_files(run_path: str) -> list[tuple[str, int]]:
    """Every artifact file of a run (links left out), relative to its artifacts folder,
    with its size."""
    files: list[tuple[str, int]] = []
    if not os.path.isdir(f"{run_path}/{ARTIFACTS_DIR}"):
        return files
    for relative, path in regular_files(Path(run_path, ARTIFACTS_DIR)):
        with contextlib.suppress(OSError):
            files.append((relative, path.lstat().st_size))
    return files


def parsed_in_script(json_text: str) -> str:
    """``JSON.parse('...')`` of JSON text (:func:`json_for_script`'s): a JS expression for
    a data file. Not an object literal: in a literal, a key named ``__proto__`` (a tag can
    be) sets the object's prototype instead of being a key. Single quotes leave JSON's
    own quotes as they are."""
    return "JSON.parse('" + json_text.replace("\\", "\\\\").replace("'", "\\'") + "')"


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
