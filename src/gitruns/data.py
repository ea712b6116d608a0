"""``mlflow.data`` for gitruns: describe the datasets a run reads, then ``log_input`` them.

Example::

    import gitruns as mlflow

    train = mlflow.data.from_pandas(frame, source="data/green_tripdata_2021-01.parquet",
                                    targets="duration", name="january")
    with mlflow.start_run():
        mlflow.log_input(train, context="training")

A run keeps what MLflow keeps of a dataset, not the data: its name, a digest of
its contents, where it came from, its columns and its size (``inputs`` in
``run.yaml``, schema 3). Digests tell two runs that read the same data apart from
two that did not.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from gitruns.entities import Dataset as DatasetEntity
from gitruns.exceptions import InvalidValue
from gitruns.signature import column_specs

MAX_DIGEST_ROWS = 10_000  # as MLflow: a digest of the first rows and the size, not all data


@dataclass(frozen=True)
class DatasetSource:
    """Where a dataset came from: a file, a URL, or the code that made it."""

    source_type: str
    location: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> str:
        return json.dumps(self.location, sort_keys=True)

    @classmethod
    def of(cls, source: str | Path | None) -> DatasetSource:
        if source is None:
            return cls("code", {})
        text = str(source)
        scheme = urlsplit(text).scheme.lower()
        if scheme in ("http", "https"):
            return cls("http", {"url": text})
        if scheme and len(scheme) > 1 and scheme != "file":
            return cls(scheme, {"uri": text})
        return cls("local", {"uri": text})


@dataclass
class Dataset:
    """A dataset's description, as MLflow's ``Dataset``: name, digest, source, schema,
    profile."""

    name: str
    digest: str
    source: DatasetSource
    schema: dict[str, Any] | None = None
    profile: dict[str, Any] | None = None

    def to_entity(self) -> DatasetEntity:
        return DatasetEntity(
            name=self.name,
            digest=self.digest,
            source_type=self.source.source_type,
            source=self.source.to_json(),
            schema=None if self.schema is None else json.dumps(self.schema),
            profile=None if self.profile is None else json.dumps(self.profile),
        )


@dataclass
class PandasDataset(Dataset):
    df: Any = None
    targets: str | None = None
    predictions: str | None = None


@dataclass
class NumpyDataset(Dataset):
    features: Any = None
    targets: Any = None


def from_pandas(
    df: Any,
    source: str | Path | None = None,
    targets: str | None = None,
    name: str | None = None,
    digest: str | None = None,
    predictions: str | None = None,
) -> PandasDataset:
    """Describe a pandas DataFrame; ``targets`` names its label column."""
    if not (hasattr(df, "columns") and hasattr(df, "dtypes")):
        raise InvalidValue(
            f"from_pandas takes a pandas DataFrame, not {type(df).__name__}. "
            "Use from_numpy for arrays."
        )
    for column in (targets, predictions):
        if column is not None and column not in df.columns:
            raise InvalidValue(
                f"column {column!r} is not in the DataFrame (columns: "
                f"{', '.join(map(str, df.columns[:10]))}). Pass the name of one of them."
            )
    import pandas as pd

    return PandasDataset(
        name=name or "dataset",
        digest=digest or _digest(pd.util.hash_pandas_object(df.head(MAX_DIGEST_ROWS)), len(df)),
        source=DatasetSource.of(source),
        schema={"mlflow_colspec": column_specs(df)},
        profile={"num_rows": len(df), "num_elements": int(df.size)},
        df=df,
        targets=targets,
        predictions=predictions,
    )


def from_numpy(
    features: Any,
    source: str | Path | None = None,
    targets: Any = None,
    name: str | None = None,
    digest: str | None = None,
) -> NumpyDataset:
    """Describe a NumPy array of features (and optionally of targets)."""
    import numpy as np

    arrays = {"features": np.asarray(features)}
    if targets is not None:
        arrays["targets"] = np.asarray(targets)
        if len(arrays["targets"]) != len(arrays["features"]):
            raise InvalidValue(
                f"features have {len(arrays['features'])} rows but targets "
                f"{len(arrays['targets'])}. Pass targets with one value per row."
            )
    schema = {key: json.dumps(column_specs(array)) for key, array in arrays.items()}
    profile: dict[str, Any] = {}
    for key, array in arrays.items():
        profile.update(
            {
                f"{key}_shape": list(array.shape),
                f"{key}_size": int(array.size),
                f"{key}_nbytes": int(array.nbytes),
            }
        )
    head = b"".join(np.ascontiguousarray(a[:MAX_DIGEST_ROWS]).tobytes() for a in arrays.values())
    return NumpyDataset(
        name=name or "dataset",
        digest=digest or _digest(head, len(arrays["features"])),
        source=DatasetSource.of(source),
        schema={"mlflow_tensorspec": schema},
        profile=profile,
        features=arrays["features"],
        targets=arrays.get("targets"),
    )


def _digest(sample: Any, rows: int) -> str:
    data = sample if isinstance(sample, bytes) else bytes(memoryview(sample.to_numpy()))
    return hashlib.sha256(data + str(rows).encode()).hexdigest()[:8]


def input_entry(dataset: Any, context: str | None, tags: dict[str, Any] | None) -> dict[str, Any]:
    """What ``run.yaml`` keeps of one dataset input."""
    entity = dataset.to_entity() if hasattr(dataset, "to_entity") else dataset
    if not isinstance(entity, DatasetEntity):
        raise InvalidValue(
            f"log_input takes a dataset from gitruns.data (from_pandas, from_numpy), not "
            f"{type(dataset).__name__}."
        )
    entry: dict[str, Any] = {
        "name": str(entity.name),
        "digest": str(entity.digest),
        "source_type": str(entity.source_type),
        "source": str(entity.source),
    }
    for key in ("schema", "profile"):
        value = getattr(entity, key)
        if value is not None:
            entry[key] = str(value)
    if context:
        entry["context"] = str(context)
    if tags:
        entry["tags"] = {str(key): str(value) for key, value in tags.items()}
    for key, limit in LIMITS.items():
        if len(str(entry.get(key, ""))) > limit:
            raise InvalidValue(
                f"the dataset's {key} is {len(str(entry[key])):,} characters; a run keeps at "
                f"most {limit:,}. Shorten it (or pass a shorter name or source)."
            )
    return entry


# What run.yaml keeps of a dataset input at most (MLflow's own limits).
LIMITS = {
    "name": 500,
    "digest": 36,
    "source_type": 36,
    "source": 65_535,
    "schema": 1_048_575,
    "profile": 16_777_215,
    "context": 500,
}
