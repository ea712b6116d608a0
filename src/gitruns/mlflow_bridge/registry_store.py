"""MLflow's model-registry store for ``gitruns:`` URIs: versions and stages as git tags.

Registered as the ``gitruns`` scheme of MLflow's ``mlflow.model_registry_store``
entry point. Every call goes through gitruns' client, so a version MLflow
registers is the annotated tag ``name@vN.0.0`` GTO reads, on the commit that
holds its run, and a stage or alias is a ``name#stage#N`` tag.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from mlflow.entities.model_registry import (
    ModelVersion,
    ModelVersionTag,
    RegisteredModel,
    RegisteredModelAlias,
    RegisteredModelTag,
)
from mlflow.prompt.constants import PROMPT_TEXT_TAG_KEY as PROMPT_TEXT_TAG
from mlflow.prompt.registry_utils import add_prompt_filter_string
from mlflow.store.entities.paged_list import PagedList
from mlflow.store.model_registry import (
    SEARCH_MODEL_VERSION_MAX_RESULTS_DEFAULT,
    SEARCH_MODEL_VERSION_MAX_RESULTS_THRESHOLD,
    SEARCH_REGISTERED_MODEL_MAX_RESULTS_DEFAULT,
    SEARCH_REGISTERED_MODEL_MAX_RESULTS_THRESHOLD,
)
from mlflow.store.model_registry.abstract_store import AbstractStore
from mlflow.utils.search_utils import SearchModelUtils, SearchModelVersionUtils

from gitruns import entities as ours
from gitruns.client import MlflowClient as GitrunsClient
from gitruns.client.registry import NEWEST_VERSIONS
from gitruns.exceptions import GitrunsError
from gitruns.mlflow_bridge.convert import mlflow_page
from gitruns.mlflow_bridge.tracking_store import (
    not_supported,
    runs_dir_of,
    translated,
)
from gitruns.store.names import parse_logged_model_id
from gitruns.store.record import ARTIFACTS_DIR


def to_version(version: ours.ModelVersion) -> ModelVersion:
    return ModelVersion(
        name=version.name,
        version=version.version,
        creation_timestamp=version.creation_timestamp,
        last_updated_timestamp=version.last_updated_timestamp,
        description=version.description,
        user_id=version.user_id,
        current_stage=version.current_stage,
        source=version.source,
        run_id=version.run_id,
        status=version.status,
        run_link=version.run_link,
        tags=[ModelVersionTag(key, value) for key, value in version.tags.items()],
        aliases=list(version.aliases),
    )


def to_model(model: ours.RegisteredModel) -> RegisteredModel:
    return RegisteredModel(
        name=model.name,
        creation_timestamp=model.creation_timestamp,
        last_updated_timestamp=model.last_updated_timestamp,
        description=model.description,
        latest_versions=[to_version(version) for version in model.latest_versions],
        tags=[RegisteredModelTag(key, value) for key, value in model.tags.items()],
        aliases=[RegisteredModelAlias(alias, str(v)) for alias, v in model.aliases.items()],
    )


def runs_source(source: str, run_id: str | None) -> str:
    """``runs:/<id>/<path>`` for what MLflow passes as a version's source: the URI of a
    model a run logged (MLflow 3), or the ``gitruns:`` URI of a folder in a run's
    artifacts. Any other source (a model of its own folder) is kept as given."""
    if source.startswith("models:/m-"):
        try:
            model_run, name = parse_logged_model_id(source[len("models:/") :].strip("/"))
        except GitrunsError:
            return source
        return f"runs:/{model_run}/{name}"
    marker = f"/{run_id}/{ARTIFACTS_DIR}/" if run_id else None
    if source.startswith("gitruns:") and marker and marker in source:
        return f"runs:/{run_id}/{source.split(marker, 1)[1].strip('/')}"
    return source


def check_version_tags(tags: Sequence[Any]) -> None:
    """A version tag's value within MLflow's limit, which a prompt's text is held to."""
    from mlflow.exceptions import MlflowException
    from mlflow.utils.validation import MAX_MODEL_REGISTRY_TAG_VALUE_LENGTH as LIMIT

    for tag in tags:
        if tag.value is not None and len(str(tag.value)) > LIMIT:
            what = "Prompt text" if tag.key == PROMPT_TEXT_TAG else f"Tag {tag.key!r}"
            raise MlflowException.invalid_parameter_value(
                f"{what} exceeds max length of {LIMIT} characters. Keep long text in an "
                "artifact and tag its name."
            )


class GitrunsRegistryStore(AbstractStore):
    """MLflow's model registry over the registry tags of the repository holding ``runs/``."""

    def __init__(self, store_uri: str | None = None, tracking_uri: str | None = None) -> None:
        super().__init__(store_uri, tracking_uri)
        self.client = GitrunsClient(tracking_uri=str(runs_dir_of(store_uri or "gitruns:")))

    @translated
    def create_registered_model(
        self,
        name: str,
        tags: Sequence[Any] | None = None,
        description: str | None = None,
        deployment_job_id: str | None = None,
    ) -> RegisteredModel:
        given = {tag.key: tag.value for tag in tags or []}
        return to_model(self.client.create_registered_model(name, given, description))

    @translated
    def update_registered_model(
        self, name: str, description: str | None, deployment_job_id: str | None = None
    ) -> RegisteredModel:
        return to_model(self.client.update_registered_model(name, description))

    @translated
    def rename_registered_model(self, name: str, new_name: str) -> RegisteredModel:
        return to_model(self.client.rename_registered_model(name, new_name))

    @translated
    def delete_registered_model(self, name: str) -> None:
        self.client.delete_registered_model(name)

    @translated
    def search_registered_models(
        self,
        filter_string: str | None = None,
        max_results: int | None = None,
        order_by: Sequence[str] | None = None,
        page_token: str | None = None,
    ) -> PagedList:
        models = [to_model(model) for model in self.client.search_registered_models(None, None)]
        found = SearchModelUtils.filter(models, add_prompt_filter_string(filter_string))
        return mlflow_page(
            SearchModelUtils.sort(found, order_by),
            SEARCH_REGISTERED_MODEL_MAX_RESULTS_DEFAULT if max_results is None else max_results,
            SEARCH_REGISTERED_MODEL_MAX_RESULTS_THRESHOLD,
            page_token,
        )

    @translated
    def get_registered_model(self, name: str) -> RegisteredModel:
        return to_model(self.client.get_registered_model(name))

    @translated
    def get_latest_versions(self, name: str, stages: Sequence[str] | None = None) -> list:
        return [to_version(v) for v in self.client.get_latest_versions(name, stages)]

    @translated
    def set_registered_model_tag(self, name: str, tag: Any) -> None:
        self.client.set_registered_model_tag(name, tag.key, tag.value)

    @translated
    def delete_registered_model_tag(self, name: str, key: str) -> None:
        self.client.delete_registered_model_tag(name, key)

    @translated
    def create_model_version(
        self,
        name: str,
        source: str,
        run_id: str | None = None,
        tags: Sequence[Any] | None = None,
        run_link: str | None = None,
        description: str | None = None,
        local_model_path: str | None = None,
        model_id: str | None = None,
    ) -> ModelVersion:
        check_version_tags(tags or [])
        if model_id and not source.startswith("models:/"):
            source = f"models:/{model_id}"
        version = self.client.create_model_version(
            name,
            runs_source(source, run_id),
            run_id,
            {tag.key: tag.value for tag in tags or []},
            run_link,
            description,
        )
        return to_version(version)

    @translated
    def update_model_version(
        self, name: str, version: str, description: str | None = None
    ) -> ModelVersion:
        return to_version(self.client.update_model_version(name, version, description))

    @translated
    def transition_model_version_stage(
        self, name: str, version: str, stage: str, archive_existing_versions: bool
    ) -> ModelVersion:
        return to_version(
            self.client.transition_model_version_stage(
                name, version, stage, archive_existing_versions
            )
        )

    @translated
    def delete_model_version(self, name: str, version: str) -> None:
        self.client.delete_model_version(name, version)

    @translated
    def get_model_version(self, name: str, version: str) -> ModelVersion:
        return to_version(self.client.get_model_version(name, version))

    @translated
    def get_model_version_download_uri(self, name: str, version: str) -> str:
        return self.client.get_model_version_download_uri(name, version)

    @translated
    def search_model_versions(
        self,
        filter_string: str | None = None,
        max_results: int | None = None,
        order_by: Sequence[str] | None = None,
        page_token: str | None = None,
    ) -> PagedList:
        every = self.client.search_model_versions(None, None)
        versions = [to_version(version) for version in every]
        found = SearchModelVersionUtils.filter(versions, add_prompt_filter_string(filter_string))
        return mlflow_page(
            SearchModelVersionUtils.sort(found, order_by or list(NEWEST_VERSIONS)),
            SEARCH_MODEL_VERSION_MAX_RESULTS_DEFAULT if max_results is None else max_results,
            SEARCH_MODEL_VERSION_MAX_RESULTS_THRESHOLD,
            page_token,
        )

    @translated
    def set_model_version_tag(self, name: str, version: str, tag: Any) -> None:
        check_version_tags([tag])
        self.client.set_model_version_tag(name, version, tag.key, tag.value)

    @translated
    def delete_model_version_tag(self, name: str, version: str, key: str) -> None:
        self.client.delete_model_version_tag(name, version, key)

    @translated
    def set_registered_model_alias(self, name: str, alias: str, version: str) -> None:
        self.client.set_registered_model_alias(name, alias, version)

    @translated
    def delete_registered_model_alias(self, name: str, alias: str) -> None:
        self.client.delete_registered_model_alias(name, alias)

    @translated
    def get_model_version_by_alias(self, name: str, alias: str) -> ModelVersion:
        """As MLflow's stores: ``latest`` is the highest version; an alias nobody holds is
        MLflow's "not found", after the model itself was found."""
        from mlflow.exceptions import MlflowException
        from mlflow.protos.databricks_pb2 import INVALID_PARAMETER_VALUE, RESOURCE_DOES_NOT_EXIST

        if alias.lower() == "latest":
            versions = self.client.get_latest_versions(name)
            if not versions:
                raise MlflowException(
                    f"Latest version not found for model {name}.", RESOURCE_DOES_NOT_EXIST
                )
            return to_version(max(versions, key=lambda version: int(version.version)))
        self.client.get_registered_model(name)
        try:
            return to_version(self.client.get_model_version_by_alias(name, alias))
        except GitrunsError as error:
            raise MlflowException(
                f"Registered model alias {alias} not found. ({error.message})",
                INVALID_PARAMETER_VALUE,
            ) from None

    @translated
    def copy_model_version(self, src_mv: Any, dst_name: str) -> ModelVersion:
        return to_version(
            self.client.copy_model_version(f"models:/{src_mv.name}/{src_mv.version}", dst_name)
        )

    def create_prompt(self, *args: Any, **kwargs: Any) -> Any:
        raise not_supported("Prompts (create_prompt)")

    def create_webhook(self, *args: Any, **kwargs: Any) -> Any:
        raise not_supported("Webhooks (create_webhook)")
