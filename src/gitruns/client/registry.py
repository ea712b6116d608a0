"""The client's model registry: registered models, versions, stages and aliases, as git
tags (:mod:`gitruns.registry`)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from gitruns.client.tracking import checked_tags
from gitruns.entities import ModelVersion, RegisteredModel
from gitruns.exceptions import InvalidValue
from gitruns.listing import PagedList, page_of
from gitruns.query.filters import order_models, parse_filter, parse_model_field
from gitruns.registry import ModelState, Registry, VersionState, resolve_version, split_runs_uri
from gitruns.registry.tags import gto_stage, mlflow_stage
from gitruns.store.names import (
    RUN_ID_PATTERN,
    check_key,
)
from gitruns.store.record import (
    ARTIFACTS_DIR,
)
from gitruns.workspace import Workspace

# MLflow's order of versions when none is asked for.
NEWEST_VERSIONS = ("last_updated_timestamp DESC", "name ASC", "version_number DESC")


class RegistryMethods:
    """MlflowClient's registry methods, over the workspace's registry."""

    @property
    def workspace(self) -> Workspace:
        raise NotImplementedError

    # -- the model registry ------------------------------------------------------------

    def _registry(self) -> Registry:
        return self.workspace.registry

    def create_registered_model(
        self,
        name: str,
        tags: Mapping[str, Any] | None = None,
        description: str | None = None,
    ) -> RegisteredModel:
        """Announce a model with no version yet: every process of this clone sees it, and
        its first version carries its description and tags into git (for other clones and
        GTO; :mod:`gitruns.registry.announced`)."""
        state = self._registry().announce(name, description or "", checked_tags(tags or {}))
        return _model_entity(state)

    def get_registered_model(self, name: str) -> RegisteredModel:
        return _model_entity(self._registry().model(name))

    def search_registered_models(
        self,
        filter_string: str | None = None,
        max_results: int | None = 100,
        order_by: Sequence[str] | None = None,
        page_token: str | None = None,
    ) -> PagedList[RegisteredModel]:
        """Registered models, filtered on ``name``, ``tags.KEY``... (MLflow's grammar, e.g.
        ``"name LIKE 'taxi%'"``), in ``order_by`` order (by name by default)."""
        matches = parse_filter(filter_string, parse_model_field)
        models = [_model_entity(m) for m in _live_models(self._registry()).values()]
        found = order_models((m for m in models if matches(m)), order_by)
        return page_of(found, max_results, page_token)

    def list_registered_models(
        self, max_results: int = 100, page_token: str | None = None
    ) -> PagedList[RegisteredModel]:
        """MLflow 1.x's name for :meth:`search_registered_models`."""
        return self.search_registered_models(max_results=max_results, page_token=page_token)

    def update_registered_model(self, name: str, description: str | None = None) -> RegisteredModel:
        registry = self._registry()
        if description is None:
            return _model_entity(registry.model(name))
        return _model_entity(registry.describe_model(name, description))

    def delete_registered_model(self, name: str) -> None:
        """Deprecate the model (GTO's ``NAME@deprecated``): gone from listings and lookups."""
        self._registry().deprecate(name)

    def create_model_version(
        self,
        name: str,
        source: str,
        run_id: str | None = None,
        tags: Mapping[str, Any] | None = None,
        run_link: str | None = None,
        description: str | None = None,
        await_creation_for: int = 300,
    ) -> ModelVersion:
        """Register the model at ``source`` (``runs:/ID/model``, a folder inside a run, or
        any other place, kept as given: loading that version then says it is not here)."""
        registry = self._registry()
        found_run, path = _run_and_path(source, run_id)
        state = registry.register(
            name,
            found_run,
            path,
            description,
            source=source,
            tags={check_key(str(k), "tag key"): str(v) for k, v in (tags or {}).items()},
        )
        return _version_entity(state)

    def get_model_version(self, name: str, version: str | int) -> ModelVersion:
        return _version_entity(self._registry().model(name).version(version))

    def search_model_versions(
        self,
        filter_string: str | None = None,
        max_results: int | None = 10_000,
        order_by: Sequence[str] | None = None,
        page_token: str | None = None,
    ) -> PagedList[ModelVersion]:
        """Versions, filtered on ``name``, ``run_id``, ``version_number``, ``source_path``,
        ``tags.KEY``... (e.g. ``"name = 'nyc-taxi-regressor'"``), newest first."""
        matches = parse_filter(filter_string, parse_model_field)
        versions = [
            _version_entity(state)
            for model in _live_models(self._registry()).values()
            for state in model.live_versions()
        ]
        found = order_models(
            (version for version in versions if matches(version)), order_by, NEWEST_VERSIONS
        )
        return page_of(found, max_results, page_token)

    def update_model_version(
        self, name: str, version: str | int, description: str | None = None
    ) -> ModelVersion:
        registry = self._registry()
        if description is None:
            return _version_entity(registry.model(name).version(version))
        return _version_entity(registry.describe_version(name, version, description))

    def set_registered_model_tag(self, name: str, key: str, value: Any) -> None:
        """Tag a registered model (kept in its newest registration tag's message)."""
        self._registry().set_model_tag(name, check_key(key, "tag key"), str(value))

    def delete_registered_model_tag(self, name: str, key: str) -> None:
        self._registry().set_model_tag(name, check_key(key, "tag key"), None)

    def set_model_version_tag(self, name: str, version: str | int, key: str, value: Any) -> None:
        """Tag a model version (kept in its registration tag's message)."""
        self._registry().set_version_tag(name, version, check_key(key, "tag key"), str(value))

    def delete_model_version_tag(self, name: str, version: str | int, key: str) -> None:
        self._registry().set_version_tag(name, version, check_key(key, "tag key"), None)

    def rename_registered_model(self, name: str, new_name: str) -> RegisteredModel:
        """Rename a model: its tags are made again under the new name (see
        :meth:`gitruns.registry.Registry.rename`)."""
        return _model_entity(self._registry().rename(name, new_name))

    def copy_model_version(self, src_model_uri: str, dst_name: str) -> ModelVersion:
        """A new version of ``dst_name`` from the run and path a version comes from
        (``models:/NAME/VERSION``, ``models:/NAME/STAGE``, ``models:/NAME@ALIAS``)."""
        registry = self._registry()
        source = resolve_version(registry, src_model_uri)
        if source.run_id is None:
            raise InvalidValue(
                f"{src_model_uri} names a version with no run to copy from. Copy a version "
                "registered from a run, or register the model from its run: "
                "register_model('runs:/RUN_ID/model', NAME)."
            )
        return _version_entity(registry.register(dst_name, source.run_id, source.path))

    def delete_model_version(self, name: str, version: str | int) -> None:
        """Deregister a version (GTO's ``NAME@vN.0.0!``); its number is not reused."""
        self._registry().deregister(name, version)

    def get_latest_versions(
        self, name: str, stages: Sequence[str] | None = None
    ) -> list[ModelVersion]:
        """For each stage asked (every stage, 'None' included, by default), its newest version."""
        model = self._registry().model(name)
        wanted = None if not stages else {mlflow_stage(gto_stage(stage)) for stage in stages}
        newest: dict[str, VersionState] = {}
        for state in model.live_versions():
            if wanted is None or state.current_stage in wanted:
                newest[state.current_stage] = state
        return [_version_entity(state) for state in newest.values()]

    def transition_model_version_stage(
        self,
        name: str,
        version: str | int,
        stage: str,
        archive_existing_versions: bool = False,
        *,
        allow_custom: bool = False,
    ) -> ModelVersion:
        """Move a version to Staging, Production, Archived or None (as tags); any other
        stage is refused, as MLflow refuses it, unless ``allow_custom`` (a GTO stage)."""
        state = self._registry().set_stage(
            name, version, stage, archive_existing_versions, allow_custom=allow_custom
        )
        return _version_entity(state)

    def set_registered_model_alias(self, name: str, alias: str, version: str | int) -> None:
        self._registry().set_alias(name, alias, version)

    def get_model_version_by_alias(self, name: str, alias: str) -> ModelVersion:
        return _version_entity(self._registry().alias_holder(name, alias))

    def delete_registered_model_alias(self, name: str, alias: str) -> None:
        self._registry().delete_alias(name, alias)

    def get_model_version_download_uri(self, name: str, version: str | int) -> str:
        registry = self._registry()
        return registry.model_folder(registry.model(name).version(version)).absolute().as_uri()


def _live_models(registry: Registry) -> dict[str, ModelState]:
    return {name: model for name, model in registry.models().items() if not model.deprecated}


def _version_entity(state: VersionState) -> ModelVersion:
    return ModelVersion(
        name=state.model,
        version=int(state.label) if state.label.isdigit() else state.label,
        creation_timestamp=state.registered_ms,
        last_updated_timestamp=state.updated_ms,
        current_stage=state.current_stage,
        description=state.description,
        user_id=state.registered_by,
        source=state.source,
        run_id=state.run_id,
        aliases=state.aliases,
        tags=state.tags,
    )


def _model_entity(model: ModelState) -> RegisteredModel:
    versions = [_version_entity(state) for state in model.live_versions()]
    newest: dict[str, ModelVersion] = {}
    for version in versions:
        newest[version.current_stage] = version
    return RegisteredModel(
        name=model.name,
        creation_timestamp=model.created_ms,
        last_updated_timestamp=model.updated_ms,
        description=model.description,
        latest_versions=list(newest.values()),
        aliases={alias: v.version for v in versions for alias in v.aliases},
        tags=dict(model.tags),
    )


def _run_and_path(source: str, run_id: str | None) -> tuple[str | None, str]:
    """The run and the model's path inside its artifacts, from a model version's source;
    a source that is neither keeps the run the caller named, and no path."""
    if source.startswith("runs:/"):
        found, path = split_runs_uri(source)
        return found, path or "model"
    if "://" not in source.removeprefix("file://"):
        folder = Path(source.removeprefix("file://")).resolve()
        for candidate in (folder, *folder.parents):
            if candidate.name == ARTIFACTS_DIR and RUN_ID_PATTERN.match(candidate.parent.name):
                if run_id is not None and not candidate.parent.name.startswith(run_id):
                    break
                inside = folder.relative_to(candidate).as_posix()
                return candidate.parent.name, "" if inside == "." else inside
    return run_id, ""
