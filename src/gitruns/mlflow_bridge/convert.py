"""Datasets between MLflow's entities and gitruns' (the same fields, other classes)."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from gitruns import entities as ours


def to_dataset_input(item: ours.DatasetInput) -> Any:
    from mlflow.entities import Dataset, DatasetInput, InputTag

    dataset = item.dataset
    return DatasetInput(
        Dataset(
            dataset.name,
            dataset.digest,
            dataset.source_type,
            dataset.source,
            dataset.schema,
            dataset.profile,
        ),
        [InputTag(tag.key, tag.value) for tag in item.tags],
    )


def from_dataset_input(item: Any) -> ours.DatasetInput:
    """gitruns' ``DatasetInput`` from MLflow's (the same fields)."""
    dataset = item.dataset
    return ours.DatasetInput(
        ours.Dataset(
            name=dataset.name,
            digest=dataset.digest,
            source_type=dataset.source_type,
            source=dataset.source,
            schema=dataset.schema,
            profile=dataset.profile,
        ),
        [ours.InputTag(tag.key, tag.value) for tag in item.tags or []],
    )


def converted(found: Iterable[Any], convert: Callable[[Any], Any]) -> Any:
    """A page of gitruns entities as MLflow's PagedList of its own, with the same token."""
    from mlflow.store.entities.paged_list import PagedList

    return PagedList([convert(item) for item in found], getattr(found, "token", None))


def mlflow_page(items: list[Any], max_results: Any, threshold: int, page_token: str | None) -> Any:
    """One page of ``items`` as MLflow's stores give it: ``max_results`` checked as they
    check it, MLflow's own page tokens."""
    from mlflow.exceptions import MlflowException
    from mlflow.store.entities.paged_list import PagedList
    from mlflow.utils.search_utils import SearchUtils

    if isinstance(max_results, bool) or not isinstance(max_results, int) or max_results < 1:
        raise MlflowException.invalid_parameter_value(
            f"Invalid value for max_results. It must be a positive integer, but got {max_results}"
        )
    if max_results > threshold:
        raise MlflowException.invalid_parameter_value(
            "Invalid value for request parameter max_results. It must be at most "
            f"{threshold}, but got value {max_results}"
        )
    start = SearchUtils.parse_start_offset_from_page_token(page_token)
    end = start + max_results
    token = SearchUtils.create_page_token(end) if end < len(items) else None
    return PagedList(items[start:end], token)
