"""The one door: a runs folder and the repository around it.

Every surface (the MLflow client and fluent API, the CLI, the site, the review, the
MLflow plugin, import and export, reproduce, hyperopt, the demo) opens runs through a
:class:`Workspace`; none opens the store itself (an import-linter contract holds that).
So an experiment id, a run id or prefix, MLflow's experiment ``"0"`` and an artifact
path are checked here once, by the store's rules, whatever surface they came through.
A read first writes what this process's open runs hold in memory, so it sees every value
logged here.

Example::

    workspace = Workspace.current()            # runs/ at the top of this repository
    record, run_dir = workspace.load_run("1f3a")   # a unique prefix is enough
    best_run_id = workspace.ranking("nyc-taxi").best_id
"""

from __future__ import annotations

import functools
import logging
import os
from collections.abc import Collection, Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from gitruns import location as locations
from gitruns.exceptions import InvalidName, InvalidPath, InvalidValue, LoggedModelNotFound
from gitruns.query.search import Hit, search_columns
from gitruns.store.folder import DEFAULT_EXPERIMENT, DEFAULT_EXPERIMENT_ALIASES, RunStore
from gitruns.store.index import ExperimentIndex, RunEntry
from gitruns.store.names import (
    RUN_ID_PATTERN,
    check_experiment_name,
    check_key,
    check_relative_path,
)
from gitruns.store.record import (
    ACTIVE,
    ARTIFACTS_DIR,
    DELETED,
    EXPERIMENT_FILE,
    GOALS,
    ExperimentRecord,
)
from gitruns.store.session import flush_open_runs
from gitruns.utils.files import has_link_on_path
from gitruns.utils.git import find_repo_top

if TYPE_CHECKING:
    from gitruns.query.ranking import Ranking
    from gitruns.query.tables import ExperimentSummary
    from gitruns.registry import Registry
    from gitruns.store.logged_models import ModelRecord
    from gitruns.store.run_record import RunRecord
    from gitruns.store.writer import LiveRun

logger = logging.getLogger(__name__)

# The ranking, the tables and logged models are imported by the methods
# that use them, so a script that reads runs back into a frame loads none of them
# (benchmarks/bench_readback.py times that script against DVCLive's files).

__all__ = ["DEFAULT_EXPERIMENT", "Workspace"]


class Workspace:
    """A ``runs/`` folder and the git repository it lives in (None outside git)."""

    def __init__(self, where: locations.Location) -> None:
        self.location = where
        self._store = RunStore(where.runs_dir)

    @classmethod
    def current(cls, tracking_uri: str | None = None) -> Workspace:
        """The workspace of ``tracking_uri``, else of the tracking URI in force
        (:mod:`gitruns.location` says in which order they are looked for)."""
        return cls(locations.current(tracking_uri))

    @classmethod
    def at(cls, runs_dir: Path) -> Workspace:
        """The workspace of a given runs folder."""
        runs_dir = Path(runs_dir)
        top = find_repo_top(runs_dir if runs_dir.exists() else runs_dir.parent)
        return cls(locations.Location(runs_dir=runs_dir, repo_top=top))

    @property
    def runs_dir(self) -> Path:
        return self.location.runs_dir

    @property
    def repo_top(self) -> Path | None:
        return self.location.repo_top

    @functools.cached_property
    def registry(self) -> Registry:
        """The model registry kept in this repository's git tags."""
        from gitruns.registry import Registry

        return Registry(self.runs_dir)

    # -- experiments ------------------------------------------------------------

    def experiment_id(self, reference: object) -> str:
        """The folder an experiment id names (MLflow's ``"0"`` is the Default experiment's,
        ``default``); an id that cannot be a folder is refused."""
        return self._store.resolve_experiment_id(reference)

    def experiment(self, reference: object) -> tuple[str, ExperimentRecord]:
        """The id and record of an existing experiment, by id. MLflow's Default experiment
        always exists: before anything is written to it, it is read without being made."""
        experiment_id = self.experiment_id(reference)
        if experiment_id == self._default()[0] and not self._has_folder(experiment_id):
            return self._default()
        return experiment_id, self._store.get_experiment(experiment_id)

    def _has_folder(self, experiment_id: str) -> bool:
        return (self._store.experiment_dir(experiment_id) / EXPERIMENT_FILE).exists()

    def _writable(self, reference: object) -> str:
        """The folder of an experiment about to be written to (Default's made if needed)."""
        experiment_id = self.experiment_id(reference)
        if experiment_id == self._default()[0] and not self._has_folder(experiment_id):
            self.ensure_experiment(DEFAULT_EXPERIMENT)
        return experiment_id

    def experiment_dir(self, experiment_id: str) -> Path:
        return self._store.experiment_dir(experiment_id)

    def experiment_ids(self) -> list[str]:
        return self._store.experiment_ids()

    def experiments(self, *, with_default: bool = False) -> list[tuple[str, ExperimentRecord]]:
        """Every experiment that reads, with its id (one that doesn't is reported); with
        ``with_default``, MLflow's Default experiment too, as MLflow always lists it, even
        before anything made its folder (reading writes nothing)."""
        found = self._store.readable_experiments()
        if with_default and all(record.name != DEFAULT_EXPERIMENT for _, record in found):
            found.append(self._default())
        return found

    def find_experiment(
        self, name: str, *, with_default: bool = False
    ) -> tuple[str, ExperimentRecord] | None:
        """The experiment called ``name``; with ``with_default``, MLflow's Default one is
        found even before anything made its folder."""
        found = self._store.find_experiment(name)
        if found is None and with_default and name == DEFAULT_EXPERIMENT:
            return self._default()
        return found

    def _default(self) -> tuple[str, ExperimentRecord]:
        return DEFAULT_EXPERIMENT_ALIASES["0"], ExperimentRecord(name=DEFAULT_EXPERIMENT)

    def create_experiment(self, record: ExperimentRecord) -> str:
        return self._store.create_experiment(record)

    def ensure_experiment(self, name: str) -> str:
        """The id of the experiment called ``name``, made if it does not exist yet."""
        found = self._store.find_experiment(name)
        return found[0] if found else self._store.create_experiment(ExperimentRecord(name=name))

    def active_experiment(self) -> str:
        """The experiment the fluent API's runs and searches use: the one
        ``set_experiment`` chose, else ``MLFLOW_EXPERIMENT_ID``, else the experiment
        ``MLFLOW_EXPERIMENT_NAME`` names (made if needed), else Default."""
        chosen = locations.active_experiment()
        if chosen is not None:
            return chosen
        from_environment = os.environ.get("MLFLOW_EXPERIMENT_ID")
        if from_environment:
            return self.experiment(from_environment)[0]
        return self.ensure_experiment(
            os.environ.get("MLFLOW_EXPERIMENT_NAME") or DEFAULT_EXPERIMENT
        )

    def update_experiment(self, experiment_id: str, record: ExperimentRecord) -> None:
        self._store.update_experiment(self._writable(experiment_id), record)

    def rename_experiment(self, experiment_id: str, new_name: str) -> None:
        """Give an experiment a new name. Its folder, which is its id, stays: runs, links,
        the registry and other branches keep finding it."""
        check_experiment_name(new_name)
        experiment_id, record = self.experiment(experiment_id)
        taken = self.find_experiment(new_name, with_default=True)
        if taken is not None and taken[0] != experiment_id:
            raise InvalidName(
                f"Experiment(name={new_name}) already exists. Choose another name.",
                error_code="RESOURCE_ALREADY_EXISTS",
            )
        record.name = new_name
        self.update_experiment(experiment_id, record)

    def declare(
        self,
        experiment_id: str,
        *,
        description: str | None = None,
        primary_metric: str | None = None,
        goal: str | None = None,
    ) -> None:
        """Set what an experiment is for: its description, and the metric and goal that
        rank its runs (``goal`` defaults to ``"minimize"`` once a metric is declared)."""
        if goal is not None and goal not in GOALS:
            raise InvalidValue(
                f"goal {goal!r} is neither 'minimize' nor 'maximize'. Pass one of those."
            )
        if primary_metric is not None:
            check_key(primary_metric, "primary metric")
        experiment_id, record = self.experiment(self._writable(experiment_id))
        updated = ExperimentRecord(
            name=record.name,
            description=record.description if description is None else description,
            primary_metric=record.primary_metric if primary_metric is None else primary_metric,
            goal=record.goal if goal is None else goal,
            tags=record.tags,
            artifact_location=record.artifact_location,
            lifecycle_stage=record.lifecycle_stage,
        )
        if updated.primary_metric is not None and updated.goal is None:
            updated.goal = "minimize"
        if updated != record:
            self._store.update_experiment(experiment_id, updated)

    def ranking(self, experiment_id: str) -> Ranking:
        """The experiment's primary metric, goal and best run, by the one ranking rule."""
        from gitruns.query.ranking import rank  # on first use (see the top)

        experiment_id, record = self.experiment(experiment_id)
        runs = [entry for entry, _ in self._store.entries([experiment_id])]
        return rank(record.primary_metric, record.goal, runs)

    def summaries(self, stages: Collection[str] = (ACTIVE,)) -> list[ExperimentSummary]:
        """Every experiment in one of ``stages`` (lifecycle stages) with its run count,
        best run and last activity.

        Example::

            for summary in Workspace.current().summaries():
                print(summary.name, summary.runs, summary.best)
        """
        from gitruns.query.tables import summarize_experiment  # on first use (see the top)

        by_experiment: dict[str, list[RunEntry]] = {}
        for run, run_dir in self._store.entries():
            if run.lifecycle_stage != DELETED:
                by_experiment.setdefault(Path(run_dir).parent.name, []).append(run)
        return [
            summarize_experiment(experiment_id, record, by_experiment.get(experiment_id, []))
            for experiment_id, record in self._store.readable_experiments()
            if record.lifecycle_stage in stages
        ]

    # -- runs -------------------------------------------------------------------

    def run_dir(self, run_id: str) -> Path:
        """The folder of the run named by ``run_id`` or a unique prefix of it."""
        flush_open_runs()
        return self._store.find_run_dir(run_id)

    def load_run(self, run_id: str) -> tuple[RunRecord, Path]:
        """A run's record, with its status as observed now, and its folder."""
        flush_open_runs()
        return self._store.load_run(run_id)

    def new_run_dir(self, experiment_id: str, run_id: str) -> Path:
        """Where a run brought from elsewhere (an import) goes; both ids are checked, so
        neither can name a path outside the experiment."""
        if not RUN_ID_PATTERN.match(run_id):
            raise InvalidName(
                f"{run_id[:80]!r} is not a run id: ids are 32 hexadecimal digits. "
                "Leave this run out, or give it a new id."
            )
        return self._store.run_dir(experiment_id, run_id)

    def run_dirs(self, experiment_ids: list[str] | None = None) -> Iterator[Path]:
        return self._store.run_dirs(experiment_ids)

    def entries(self, experiment_ids: list[str] | None = None) -> list[tuple[RunEntry, str]]:
        """What searches read of every run of the experiments (all by default)."""
        if experiment_ids is not None:  # Default's, read before it is made, has no runs
            experiment_ids = [i for i in experiment_ids if self._store.experiment_dir(i).is_dir()]
        flush_open_runs()
        return self._store.entries(experiment_ids)

    def indexes(self, experiment_ids: list[str]) -> list[ExperimentIndex]:
        present = [i for i in experiment_ids if self._store.experiment_dir(i).is_dir()]
        flush_open_runs()
        return self._store.indexes(present)

    def search(
        self,
        experiment_ids: str | int | Collection[object],
        filter_string: str | None = None,
        order_by: Sequence[str] | None = None,
        stages: Collection[str] = (ACTIVE,),
    ) -> list[Hit]:
        """The runs of the experiments (an id or name, or several) that match
        ``filter_string``, in ``order_by`` order, as positions in their search indexes:
        only the columns the filter and the order name are read, and no run is read whole.

        Example::

            hits = workspace.search(["nyc-taxi"], "metrics.rmse < 7", ["metrics.rmse"])
        """
        if isinstance(experiment_ids, (str, int)):  # one experiment, as MLflow accepts
            experiment_ids = [experiment_ids]
        ids = [self.experiment(reference)[0] for reference in experiment_ids]
        return search_columns(self.indexes(ids), filter_string, order_by, stages)

    @staticmethod
    def entries_of(hits: Sequence[Hit]) -> list[tuple[RunEntry, str]]:
        """The whole entries (and folders) of search hits, read together from each index;
        a record that no longer reads is left out."""
        # Keyed by the index itself (hashed by identity): id() is an audited call while
        # the data-file watch runs, two per hit.
        wanted: dict[ExperimentIndex, list[int]] = {}
        for index, position in hits:
            wanted.setdefault(index, []).append(position)
        found: dict[Hit, tuple[RunEntry, str] | None] = {}
        for index, positions in wanted.items():
            for position, item in zip(positions, index.entries_at(positions), strict=True):
                found[(index, position)] = item
        return [item for hit in hits if (item := found[hit])]

    def create_run(
        self,
        experiment_id: str,
        run_name: str | None = None,
        parent: str | None = None,
        description: str | None = None,
    ) -> LiveRun:
        """Start a run in an existing experiment, capturing code and environment; the
        caller ends it."""
        from gitruns.store import writer  # loaded by the first run written, never by a search

        experiment_id = self._writable(experiment_id)
        self._store.require_experiment(experiment_id)  # a run is started often: not parsed
        return writer.create_run(
            self._store, self.location, experiment_id, run_name, parent, description
        )

    def open_run(self, run_id: str) -> LiveRun:
        """A run to change (tags, status), locked against its own process while written."""
        from gitruns.store import writer

        return writer.open_run(self._store, run_id)

    def open_active_run(self, run_id: str) -> LiveRun:
        """A run to log to: as MLflow's stores, a deleted run takes no params, metrics,
        tags or inputs until it is restored."""
        live = self.open_run(run_id)
        if live.record.lifecycle_stage != ACTIVE:
            raise InvalidValue(
                f"The run {live.run_id} must be in the 'active' state. Current state is "
                f"{live.record.lifecycle_stage}. Restore it (restore_run, or 'gitruns runs "
                "restore') to log to it."
            )
        return live

    def resume_run(self, run_id: str) -> LiveRun:
        """A finished run started again by this process, as MLflow's start_run(run_id=...)."""
        from gitruns.store import writer

        return writer.resume_run(self._store, run_id)

    # -- artifacts ----------------------------------------------------------------

    def artifacts_dir(self, run_id: str) -> Path:
        return self.run_dir(run_id) / ARTIFACTS_DIR

    def artifact_path(self, run_id: str, path: str | None) -> Path:
        """Where a run's artifact lives: ``path`` is relative to its artifacts folder and
        may not climb out of it or pass through a link."""
        root = self.artifacts_dir(run_id)
        if path in (None, "", "."):
            return root
        relative = check_relative_path(path)
        if has_link_on_path(root, relative):
            raise InvalidPath(
                f"artifact {path!r} of run {run_id} is, or is inside, a symbolic link; gitruns "
                "never follows links out of a run. Log the file itself instead of a link."
            )
        target = root / relative
        if not target.exists():
            raise InvalidPath(
                f"run {run_id} has no artifact {path!r}. List them with "
                f"'gitruns runs show {run_id}' or list_artifacts({run_id!r})."
            )
        return target

    # -- logged models no run holds (MLflow 3's) -------------------------------------

    def new_logged_model(self, experiment_id: str, record: ModelRecord) -> Path:
        """Make the folder of a new logged model in an experiment; returns it."""
        from gitruns.store import logged_models  # on first use (see the top)

        experiment_id = self._writable(experiment_id)
        folder = logged_models.model_dir(self.experiment_dir(experiment_id), record.id)
        logged_models.create_model(folder, record)
        return folder

    def logged_model_dir(self, model_id: str) -> tuple[str, Path]:
        """The experiment and folder of a logged model no run holds, by its id."""
        from gitruns.store import logged_models  # on first use (see the top)

        logged_models.check_model_id(model_id)
        for experiment_id in self.experiment_ids():
            folder = logged_models.model_dir(self.experiment_dir(experiment_id), model_id)
            if folder.is_dir() and not folder.is_symlink():
                return experiment_id, folder
        raise LoggedModelNotFound(
            f"Logged model with ID '{model_id}' not found. List an experiment's models "
            "with search_logged_models."
        )

    def logged_model_dirs(self, experiment_ids: list[str]) -> Iterator[tuple[str, Path]]:
        """Every logged model folder (no run's) of the given experiments, with its
        experiment."""
        from gitruns.store import logged_models  # on first use (see the top)

        for experiment_id in experiment_ids:
            for folder in logged_models.model_dirs(self.experiment_dir(experiment_id)):
                yield experiment_id, folder
