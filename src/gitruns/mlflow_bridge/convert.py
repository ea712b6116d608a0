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
