"""Registry operations: registering versions, moving stages and aliases, renaming,
deprecating, as annotated git tags in GTO's names.

State is read from the tags alone, with one ``git for-each-ref``: who and when
come from each tag's tagger, the rest from the small YAML document in its
message (run id, experiment, model path, description, key metrics). GTO's
tools read the same tags. Rules that keep the two in agreement:

- a version tag points at a commit that holds the run, and no two versions of
  one model share a commit (GTO finds a stage's version by its commit): HEAD
  when it is free, else an empty commit made for the registration;
- MLflow's one-stage-per-version is kept: moving a version to a stage
  unassigns its previous stage, and ``archive_existing_versions`` moves the
  stage's other holders to ``archived``;
- an alias is a stage with one holder: setting it unassigns the old holder;
- a model's tags are at least a second apart in tag time, so GTO, which orders
  by time, orders them as gitruns does (by counter).

Writers hold a lock in the git directory while they read the state and add
tags; a tag that exists already (another tool got there first) is retried
under the next version number.
"""

from __future__ import annotations

import contextlib
import dataclasses
import functools
import logging
import os
import shutil
import time
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any

import filelock

from gitruns.exceptions import (
    GitError,
    GitrunsError,
    InvalidName,
    InvalidValue,
    RunNotFound,
)
from gitruns.registry.announced import Announcement, read_announced, write_announced
from gitruns.registry.state import (
    ModelNotFound,
    ModelState,
    TagEvent,
    VersionNotFound,
    VersionState,
    apply_event,
    read_events,
)
from gitruns.registry.tags import (
    DEPRECATE,
    MLFLOW_STAGES,
    NAME_PATTERN,
    alias_stage,
    assign_tag,
    check_model_name,
    deprecate_tag,
    deregister_tag,
    known_stage,
    mlflow_stage,
    register_tag,
    semver,
    tag_model,
    tag_name,
    unassign_tag,
    version_number,
)
from gitruns.store.folder import RunStore
from gitruns.store.names import RUN_ID_PATTERN, check_relative_path
from gitruns.store.record import ARTIFACTS_DIR, now_ms
from gitruns.store.repo import commit_paths, identity_env
from gitruns.store.run_record import RunRecord
from gitruns.utils.git import find_repo_top, run_git
from gitruns.utils.words import closest
from gitruns.utils.yamlcodec import dump_yaml

logger = logging.getLogger(__name__)

LOCK_FILE = "gitruns-registry.lock"
LOCK_TIMEOUT_SECONDS = 30.0
# Model folders read from tagged commits, by commit: inside the git directory, never committed.
MODEL_CACHE = "gitruns/models"


class Registry:
    """The registry of the git repository that holds ``runs_dir``."""

    def __init__(self, runs_dir: Path, *, fallback_identity: bool = False) -> None:
        repo_top = find_repo_top(runs_dir if runs_dir.exists() else runs_dir.parent)
        if repo_top is None:
            raise GitError(
                f"{runs_dir} is not in a git repository, and the model registry lives in git "
                "tags. Run 'git init' and commit your runs first."
            )
        self.repo_top = repo_top
        self.store = RunStore(runs_dir)
        self.fallback_identity = fallback_identity

    # -- reading --------------------------------------------------------------------

    def events(self) -> list[TagEvent]:
        """Every registry tag, in the order the registry applies them."""
        return read_events(self.repo_top)

    def tagged_models(self) -> dict[str, ModelState]:
        """Every model the tags mention, deprecated ones included."""
        models: dict[str, ModelState] = {}
        for event in self.events():
            model = models.setdefault(event.name.model, ModelState(event.name.model))
            apply_event(model, event)
        return models

    def models(self) -> dict[str, ModelState]:
        """Every model: the tags', deprecated ones included, and those announced with no
        version yet (:mod:`gitruns.registry.announced`)."""
        models = self.tagged_models()
        for name, entry in read_announced(self.repo_top).items():
            if name not in models or models[name].deprecated:
                models[name] = ModelState(
                    name,
                    description=entry.description,
                    tags=dict(entry.tags),
                    created_at=entry.created_ms // 1000,
                    updated_at=(entry.updated_ms or entry.created_ms) // 1000,
                    created_ms=entry.created_ms,
                    updated_ms=entry.updated_ms or entry.created_ms,
                    announced=True,
                )
        return models

    def announce(
        self, name: str, description: str = "", tags: Mapping[str, str] | None = None
    ) -> ModelState:
        """A registered model with no version yet, as MLflow's create_registered_model
        makes one; its first version carries its description and tags into git."""
        check_model_name(name)
        with self.lock():
            existing = self.models().get(name)
            if existing is not None and not existing.deprecated:
                raise GitrunsError(
                    f"Registered Model (name={name}) already exists. Add a version with "
                    "create_model_version, or pick another name.",
                    error_code="RESOURCE_ALREADY_EXISTS",
                )
            announced = read_announced(self.repo_top)
            announced[name] = Announcement(description or "", dict(tags or {}))
            write_announced(self.repo_top, announced)
        return self.model(name)

    def _change_announced(self, name: str, change: Callable[[Announcement], None] | None) -> bool:
        """Apply ``change`` to an announced model's entry (None: remove it); False when the
        model is not an announced one. Called with the lock held."""
        announced = read_announced(self.repo_top)
        tagged = self.tagged_models().get(name)
        if name not in announced or (tagged is not None and not tagged.deprecated):
            return False
        if change is None:
            del announced[name]
        else:
            change(announced[name])
            announced[name].updated_ms = now_ms()
        write_announced(self.repo_top, announced)
        return True

    def model(self, name: str) -> ModelState:
        """A model that exists (registered and not deprecated since)."""
        check_model_name(name)
        model = self.models().get(name)
        if model is None or model.deprecated:
            live = [known for known, state in self.models().items() if not state.deprecated]
            meant = closest(name, live)
            raise ModelNotFound(
                f"Registered Model with name={name} not found."
                + (f" Did you mean {meant}?" if meant else "")
                + f" Register one with 'gitruns models register {name} --run RUN_ID', or list "
                "them with 'gitruns models list'."
            )
        return model

    def history(self, name: str) -> list[TagEvent]:
        """Every registry event of a model, oldest first: registrations, stage changes,
        deregistrations and deprecations, each with who and when.

        Example::

            for event in Registry(Path("runs")).history("nyc-taxi-regressor"):
                print(event.time, event.tagger, event.tag)
        """
        self.model(name)
        return [event for event in self.events() if event.name.model == name]

    def model_folder(self, version: VersionState) -> Path:
        """The model of ``version`` exactly as its tagged commit holds it.

        A registry name must not load whatever the work tree holds now: a branch
        could otherwise swap the production model without touching a tag. The
        model's files are read from the tagged commit's tree (links left out)
        into a cache in the git directory, keyed by commit, so later loads are
        a folder lookup.
        """
        if not version.run_id or not RUN_ID_PATTERN.match(str(version.run_id)):
            raise GitrunsError(
                f"{version.tag} was registered from {version.source or 'no run'}, not from a "
                "run here, so there is no model folder to load. Register a version from a "
                "run's model (runs:/RUN_ID/model) to load it by this name.",
                error_code="RESOURCE_DOES_NOT_EXIST",
            )
        # a version of a run's whole artifacts folder has no path
        model_path = check_relative_path(version.path, "model path") if version.path else ""
        common_dir = Path(
            run_git(["rev-parse", "--path-format=absolute", "--git-common-dir"], self.repo_top)
            .decode()
            .strip()
        )
        cached = (
            common_dir / MODEL_CACHE / version.commit / version.run_id / ARTIFACTS_DIR / model_path
        )
        if cached.is_dir():
            return cached
        runs_path = self.store.runs_dir.resolve().relative_to(self.repo_top.resolve()).as_posix()
        prefix = f"{runs_path}/" if runs_path != "." else ""
        experiments = run_git(
            ["ls-tree", "-z", "--name-only", "--full-tree", version.commit, "--", prefix or "."],
            self.repo_top,
        ).split(b"\0")
        candidates = [
            f"{name.decode(errors='replace')}/{version.run_id}/{ARTIFACTS_DIR}/{model_path}/"
            for name in experiments
            if name
        ]
        listing = run_git(
            ["ls-tree", "-r", "-z", "--full-tree", version.commit, "--", *candidates],
            self.repo_top,
        )
        files: list[tuple[str, str]] = []
        for entry in listing.split(b"\0"):
            if not entry:
                continue
            meta, _, path = entry.decode("utf-8", errors="surrogateescape").partition("\t")
            mode, kind, blob = meta.split(" ")
            if kind == "blob" and mode in ("100644", "100755"):
                inside = path.split(f"/{ARTIFACTS_DIR}/{model_path}/", 1)[1]
                files.append((check_relative_path(inside, "model file"), blob))
        if not files:
            raise GitrunsError(
                f"{version.tag} points at commit {version.commit[:10]}, whose tree holds no "
                f"model at run {version.run_id[:12]}'s artifacts/{model_path}. Register a "
                "version from a commit that holds the run and its model."
            )
        staging = cached.parent / f".{cached.name}.{os.getpid()}.tmp"
        shutil.rmtree(staging, ignore_errors=True)
        for relative, blob in files:
            target = staging / relative
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(run_git(["cat-file", "blob", blob], self.repo_top))
        try:
            staging.rename(cached)
        except OSError:  # another process cached it first
            shutil.rmtree(staging, ignore_errors=True)
        logger.info("Read %s from commit %s into %s", version.tag, version.commit[:10], cached)
        return cached

    # -- writing --------------------------------------------------------------------

    @contextlib.contextmanager
    def lock(self) -> Iterator[None]:
        """One registry writer at a time, across processes.

        An OS lock (flock) on a file in the git directory: the kernel releases it
        when its holder dies, so a killed writer never blocks the next one.
        """
        git_dir = Path(run_git(["rev-parse", "--absolute-git-dir"], self.repo_top).decode().strip())
        lock = filelock.FileLock(git_dir / LOCK_FILE)
        try:
            lock.acquire(timeout=LOCK_TIMEOUT_SECONDS)
        except filelock.Timeout:
            raise GitError(
                f"another gitruns process has been changing the registry for "
                f"{LOCK_TIMEOUT_SECONDS:.0f} s and still runs (lock {lock.lock_file}). Wait for "
                "it to finish, or stop it, then try again."
            ) from None
        try:
            yield
        finally:
            lock.release()

    @functools.cached_property
    def _identity(self) -> dict[str, str]:
        return identity_env(self.repo_top, fallback=self.fallback_identity)

    def _env(self) -> dict[str, str]:
        return dict(self._identity)

    def _tag(self, model: ModelState, tag: str, commit: str, message: str) -> None:
        """Add an annotated tag, a second after the model's last one (GTO orders by time)."""
        moment = max(int(time.time()), model.last_time + 1)
        env = {**self._env(), "GIT_COMMITTER_DATE": f"{moment} +0000"}
        run_git(["tag", "-a", tag, "-m", message, commit], self.repo_top, env=env)
        model.last_time = moment
        logger.info("Tagged %s at %s", tag, commit[:10])

    def _next_counter(self, model: ModelState) -> int:
        model.last_counter += 1
        return model.last_counter

    def register(
        self,
        name: str,
        run_id: str | None,
        path: str = "model",
        description: str | None = None,
        model_description: str | None = None,
        tags: Mapping[str, str] | None = None,
        number: int | None = None,
        model_tags: Mapping[str, str] | None = None,
        source: str | None = None,
    ) -> VersionState:
        """Register the model at ``artifacts/path`` of a run as a new version of ``name``.

        If the run's folder is not committed yet, it is committed alone first. As in
        MLflow, a version is what its caller says: one whose run or model folder is not
        here (``source`` names where it is) is kept, and loading it says what is missing.
        A model deleted before (deprecated) starts again at version 1, as in MLflow: its
        old tags are deleted first. ``number`` asks for a given version number (an import
        keeps MLflow's numbers, gaps included); it must be above every existing one.
        """
        check_model_name(name)
        path = check_relative_path(path, "model path") if path else ""
        found = self._find_run(run_id)
        if found is not None and not (found[1] / ARTIFACTS_DIR / path).exists():
            logger.warning(
                "Run %s has no %s yet: version registered, loading it will fail until the "
                "model is logged there.",
                found[0].id,
                f"artifact {path!r}" if path else "artifacts",
            )
        origin = f"run {found[0].id}" if found else (source or f"run {run_id}")
        with self.lock():
            if found is not None:
                self._commit_run(found[1], name)
            previous = self.tagged_models().get(name)
            if previous is not None and previous.deprecated:
                self._forget(name)
            announcement = read_announced(self.repo_top).get(name)
            if announcement is not None:  # its description and tags go into git now
                model_description = model_description or announcement.description or None
                model_tags = {**announcement.tags, **(model_tags or {})}
            for _attempt in range(20):
                model = self.tagged_models().get(name) or ModelState(name)
                next_number = 1 + max((version_number(v) for v in model.versions), default=0)
                if number is not None and number < next_number:
                    raise InvalidValue(
                        f"{name} already has version {next_number - 1}, so version {number} "
                        "cannot be registered. Leave the number out to take the next one."
                    )
                version = semver(number or next_number)
                commit = self._free_commit(
                    model, f"Register {name} v{number or next_number} from {origin}"
                )
                info: dict[str, Any] = {"run_id": found[0].id if found else run_id}
                if found is not None:
                    record, run_dir = found
                    info["experiment"] = record.experiment
                    info["path"] = path
                    info["run_path"] = run_dir.relative_to(self.repo_top).as_posix()
                else:
                    info["path"] = path
                if source is not None and not source.startswith("runs:/"):
                    info["source"] = source
                info["description"] = description or ""
                if found is not None:
                    info["metrics"] = {
                        key: summary.last for key, summary in list(found[0].metrics.items())[:20]
                    }
                if model_description or model.description:
                    info["model_description"] = model_description or model.description
                if model.tags or model_tags:  # the model's tags live in its newest version
                    info["model_tags"] = {**model.tags, **(model_tags or {})}
                if tags:
                    info["tags"] = {str(key): str(value) for key, value in tags.items()}
                if tag_model(name) != name:  # the tags carry it encoded: say it as given
                    info["model"] = name
                message = _message(
                    f"Register {name} version {number or next_number} from {origin}", info
                )
                try:
                    self._tag(model, register_tag(name, version), commit, message)
                except GitError as error:
                    if "already exists" in str(error) and number is None:
                        continue  # another writer took this number: take the next
                    raise
                if announcement is not None:  # git holds it now
                    announced = read_announced(self.repo_top)
                    announced.pop(name, None)
                    write_announced(self.repo_top, announced)
                return self.model(name).version(version)
        raise GitError(f"could not find a free version number for {name!r}. Try again.")

    def _find_run(self, run_id: str | None) -> tuple[RunRecord, Path] | None:
        """The run a version names, when it is here; a version may name one that is not."""
        if run_id is None:
            return None
        try:
            return self.store.load_run(run_id)
        except (RunNotFound, InvalidName):
            logger.warning(
                "Run %s is not in %s: the version records it as given.", run_id, self.store.runs_dir
            )
            return None

    def _commit_run(self, run_dir: Path, name: str) -> None:
        """Commit the run's folder alone if it has changes; then HEAD must hold it."""
        relative = run_dir.relative_to(self.repo_top).as_posix()
        self._commit_pending(run_dir, relative, name)
        try:
            run_git(["cat-file", "-e", f"HEAD:{relative}/run.yaml"], self.repo_top)
        except GitError as error:
            raise GitError(
                f"the current commit (HEAD) does not hold run {run_dir.name}, so no version can "
                f"point at it. Is {relative} ignored by a .gitignore (remove that rule), or was "
                "it committed on another branch (check that branch out)? Then register again."
            ) from error

    def _commit_pending(self, run_dir: Path, relative: str, name: str) -> None:
        pending = run_git(
            ["status", "--porcelain", "--untracked-files=all", "--", relative], self.repo_top
        )
        if pending.strip():
            commit_paths(
                self.repo_top,
                [run_dir],
                f"Add run {run_dir.name} for model {name}",
                fallback_identity=self.fallback_identity,
            )
            logger.warning("Committed run folder %s alone, so a version can point at it.", relative)

    def _free_commit(self, model: ModelState, message: str) -> str:
        """HEAD, unless a version of this model is there already; then an empty commit on it.

        The empty commit is made with plumbing (commit-tree, update-ref), so nothing
        the user has staged goes into it.
        """
        head = run_git(["rev-parse", "HEAD"], self.repo_top).decode().strip()
        if head not in {state.commit for state in model.versions.values()}:
            return head
        return commit_on_head(self.repo_top, message, self._env())

    def set_stage(
        self,
        name: str,
        version: int | str,
        stage: str,
        archive_existing: bool = False,
        *,
        allow_custom: bool = False,
    ) -> VersionState:
        """Move a version to ``stage`` (Staging, Production, Archived; 'None' clears it;
        with ``allow_custom``, any GTO stage name).

        The version leaves the stage it held; with ``archive_existing`` the stage's
        other holders move to ``archived``.
        """
        target = known_stage(stage, allow_custom=allow_custom)
        with self.lock():
            model = self.model(name)
            chosen = model.version(version)
            for held in [s for s in chosen.stages if s in MLFLOW_STAGES and s != target]:
                self._unassign(model, chosen, held)
            if target is not None and target not in chosen.stages:
                if archive_existing and target != "archived":
                    for other in model.holders(target):
                        if other is not chosen:
                            self._unassign(model, other, target)
                            if "archived" not in other.stages:
                                self._assign(model, other, "archived")
                self._assign(model, chosen, target)
            return self.model(name).version(chosen.version)

    def _assign(self, model: ModelState, version: VersionState, stage: str) -> None:
        tag = assign_tag(model.name, stage, self._next_counter(model))
        info = {"version": version.label, "stage": mlflow_stage(stage)}
        self._tag(
            model, tag, version.commit, _message(f"{model.name} v{version.label}: {stage}", info)
        )
        version.stages[stage] = model.last_time

    def _unassign(self, model: ModelState, version: VersionState, stage: str) -> None:
        tag = unassign_tag(model.name, stage, self._next_counter(model))
        info = {"version": version.label, "stage": mlflow_stage(stage)}
        message = _message(f"{model.name} v{version.label}: leaves {stage}", info)
        self._tag(model, tag, version.commit, message)
        version.stages.pop(stage, None)

    def set_alias(self, name: str, alias: str, version: int | str) -> VersionState:
        """Point ``alias`` at a version; it leaves the version that held it."""
        stage = _alias_stage(alias)
        with self.lock():
            model = self.model(name)
            chosen = model.version(version)
            for other in model.holders(stage):
                if other is not chosen:
                    self._unassign(model, other, stage)
            if stage not in chosen.stages:
                self._assign(model, chosen, stage)
            return self.model(name).version(chosen.version)

    def delete_alias(self, name: str, alias: str) -> None:
        with self.lock():
            model = self.model(name)
            stage = _held_alias(model, alias)
            holders = model.holders(stage)
            if not holders:
                raise VersionNotFound(f"model {name!r} has no alias {alias!r}.")
            for holder in holders:
                self._unassign(model, holder, stage)

    def alias_holder(self, name: str, alias: str) -> VersionState:
        model = self.model(name)
        holders = model.holders(_held_alias(model, alias))
        if not holders:
            raise VersionNotFound(
                f"model {name!r} has no alias {alias!r}. Set it with "
                "client.set_registered_model_alias(name, alias, version)."
            )
        return holders[-1]

    def deregister(self, name: str, version: int | str) -> None:
        """Remove a version (its number is never reused)."""
        with self.lock():
            model = self.model(name)
            state = model.version(version)
            message = _message(f"Deregister {name} version {state.label}", {"version": state.label})
            self._tag(model, deregister_tag(name, state.version), state.commit, message)

    def deprecate(self, name: str) -> None:
        """Retire a model: hidden from listings until a new version is registered (an
        announced model with no version is simply forgotten)."""
        with self.lock():
            model = self.model(name)
            if model.announced:
                self._change_announced(name, None)
                return
            head = run_git(["rev-parse", "HEAD"], self.repo_top).decode().strip()
            counter = None
            if any(
                event.name.action == DEPRECATE
                for event in self.events()
                if event.name.model == name
            ):
                counter = self._next_counter(model)
            self._tag(model, deprecate_tag(name, counter), head, _message(f"Deprecate {name}", {}))

    def describe_version(self, name: str, version: int | str, description: str) -> VersionState:
        """Set a version's description: its registration tag is made again with the new
        message, keeping its commit, tagger and date."""
        with self.lock():
            state = self.model(name).version(version)
            self._rewrite(state.tag, {**state.info, "description": description})
            return self.model(name).version(state.version)

    def describe_model(self, name: str, description: str) -> ModelState:
        """Set a model's description (kept in its newest version's registration tag)."""
        with self.lock():
            model = self.model(name)
            if model.announced:
                self._change_announced(
                    name, lambda entry: setattr(entry, "description", description)
                )
                return self.model(name)
            live = model.live_versions()
            if not live:
                raise VersionNotFound(f"model {name!r} has no version to carry a description yet.")
            newest = live[-1]
            self._rewrite(newest.tag, {**newest.info, "model_description": description}, "model")
            return self.model(name)

    def set_version_tag(self, name: str, version: int | str, key: str, value: str | None) -> None:
        """Set (or with ``value`` None, delete) a tag of a version, in its registration tag."""
        with self.lock():
            state = self.model(name).version(version)
            tags = state.tags
            if value is None:
                tags.pop(key, None)
            else:
                tags[key] = value
            self._rewrite(state.tag, {**state.info, "tags": tags})

    def set_model_tag(self, name: str, key: str, value: str | None) -> None:
        """Set (or delete) a registered model's tag, kept in its newest registration tag."""
        with self.lock():
            model = self.model(name)
            if model.announced:
                self._change_announced(name, lambda entry: _set_tag(entry.tags, key, value))
                return
            live = model.live_versions()
            if not live:
                raise VersionNotFound(
                    f"model {name!r} has no version to carry its tags yet (they live in its "
                    "newest registration). Register a version first, then tag the model."
                )
            tags = dict(model.tags)
            if value is None:
                tags.pop(key, None)
            else:
                tags[key] = value
            self._rewrite(live[-1].tag, {**live[-1].info, "model_tags": tags}, "model")

    def _forget(self, name: str) -> None:
        """Delete every tag of a deleted model, so its name starts afresh (MLflow's delete
        is for good). Push with ``git push --tags`` and delete them on the remote too."""
        old = [event.tag for event in self.events() if event.name.model == name]
        if old:
            run_git(["tag", "-d", *old], self.repo_top)
            logger.warning(
                "Model %s was deleted: its %d old tags are gone and its versions start at 1 "
                "again. Delete them on the remote too (git push --delete origin TAG...).",
                name,
                len(old),
            )

    def rename(self, name: str, new_name: str) -> ModelState:
        """Give a model another name: each of its tags is made again under the new name
        (same commit, tagger, date and message), then the old ones are deleted. Push with
        ``git push --tags`` and delete the old names on the remote."""
        check_model_name(new_name)
        with self.lock():
            model = self.model(name)
            existing = self.models().get(new_name)
            if existing is not None and not existing.deprecated:
                raise GitrunsError(
                    f"Registered Model (name={new_name}) already exists. Choose another name.",
                    error_code="RESOURCE_ALREADY_EXISTS",
                )
            if model.announced:
                announced = read_announced(self.repo_top)
                announced[new_name] = announced.pop(name)
                announced[new_name].updated_ms = now_ms()
                write_announced(self.repo_top, announced)
                return self.model(new_name)
            if new_name in self.tagged_models():
                raise GitrunsError(
                    f"Registered Model (name={new_name}) already exists. Choose another name.",
                    error_code="RESOURCE_ALREADY_EXISTS",
                )
            events = [event for event in self.events() if event.name.model == name]
            for event in events:
                env = {
                    "GIT_COMMITTER_NAME": event.tagger,
                    "GIT_COMMITTER_EMAIL": event.email,
                    "GIT_COMMITTER_DATE": event.date,
                }
                tag = tag_name(dataclasses.replace(event.name, model=new_name))
                run_git(
                    ["tag", "-a", tag, "-m", event.message, event.commit], self.repo_top, env=env
                )
            run_git(["tag", "-d", *(event.tag for event in events)], self.repo_top)
            logger.warning(
                "Renamed %s to %s in %d tags; push them, and delete the old ones remotely.",
                name,
                new_name,
                len(events),
            )
            return self.model(new_name)

    def _rewrite(self, tag: str, info: dict[str, Any], what: str = "version") -> None:
        """Make ``tag`` again with ``info``, keeping its commit, tagger and date; ``what``
        changed (the version, or the model whose details its newest version carries) is
        stamped with the time."""
        event = next(e for e in self.events() if e.tag == tag)
        headline = event.message.partition("\n")[0] or tag
        env = {
            "GIT_COMMITTER_NAME": event.tagger,
            "GIT_COMMITTER_EMAIL": event.email,
            "GIT_COMMITTER_DATE": event.date,
        }
        stamp = "model_changed_ms" if what == "model" else "changed_ms"
        message = _message(headline.lstrip("# "), {**info, "at_ms": event.time_ms, stamp: now_ms()})
        run_git(
            ["tag", "-f", "-a", tag, "-m", message, event.commit],
            self.repo_top,
            env=env,
        )
        logger.warning("Rewrote tag %s with its new details; push it with --force.", tag)


def commit_on_head(repo_top: Path, message: str, env: dict[str, str]) -> str:
    """An empty commit on HEAD, made with plumbing (commit-tree, update-ref) so nothing the
    user has staged goes into it; HEAD moves to it. ``env`` names its author."""
    head = run_git(["rev-parse", "HEAD"], repo_top).decode().strip()
    commit = (
        run_git(["commit-tree", "HEAD^{tree}", "-p", head, "-m", message], repo_top, env=env)
        .decode()
        .strip()
    )
    run_git(["update-ref", "-m", f"gitruns: {message}", "HEAD", commit, head], repo_top)
    logger.info("Made commit %s for %s", commit[:10], message)
    return commit


def _set_tag(tags: dict[str, str], key: str, value: str | None) -> None:
    if value is None:
        tags.pop(key, None)
    else:
        tags[key] = value


def _alias_stage(alias: str) -> str:
    """The GTO stage an alias is kept as (:func:`gitruns.registry.tags.alias_stage`)."""
    if not isinstance(alias, str) or not alias.strip() or any(ord(c) < 32 for c in alias):
        raise InvalidName(
            f"alias {alias!r} is not a name: use text without control characters, e.g. 'champion'."
        )
    return alias_stage(alias)


def _held_alias(model: ModelState, alias: str) -> str:
    """The stage an existing alias is kept as. gitruns 0.1 kept every alias lower-cased
    ('Champion' as 'champion'): such an alias is still found by the name it was given."""
    stage = _alias_stage(alias)
    legacy = alias.lower()
    if not model.holders(stage) and NAME_PATTERN.match(legacy) and model.holders(legacy):
        return legacy
    return stage


def _message(headline: str, info: dict[str, Any]) -> str:
    """A tag message: a readable first line (what ``git tag -n`` shows), a blank line,
    then the YAML document, which says when it was made to the millisecond (``at_ms``)."""
    info = {**info, "at_ms": info.get("at_ms", now_ms())}
    body = dump_yaml(info)
    return f"{headline}\n\n{body}"
