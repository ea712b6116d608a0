"""A model's signature and a dataset's schema, in MLflow's column and tensor specs.

Below both the models (which record a signature in ``MLmodel``) and the datasets
(which record a schema in ``run.yaml``), so neither needs the other.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any


@dataclass
class ModelSignature:
    """What a model takes and returns, in MLflow's column or tensor specs."""

    inputs: list[dict[str, Any]]
    outputs: list[dict[str, Any]] | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "inputs": json.dumps(self.inputs),
            "outputs": None if self.outputs is None else json.dumps(self.outputs),
            "params": None,
        }


_DTYPES = {"f": "double", "i": "long", "u": "long", "b": "boolean", "O": "string", "U": "string"}


def column_specs(data: Any) -> list[dict[str, Any]]:
    """MLflow's specs of a DataFrame's columns, a Series, or an array's tensor."""
    import numpy as np

    if hasattr(data, "dtypes") and hasattr(data, "columns"):  # a DataFrame
        return [
            {"type": _DTYPES.get(dtype.kind, "string"), "name": str(name), "required": True}
            for name, dtype in data.dtypes.items()
        ]
    if hasattr(data, "dtype") and hasattr(data, "name") and hasattr(data, "to_numpy"):  # a Series
        return [{"type": _DTYPES.get(data.dtype.kind, "string"), "required": True}]
    if hasattr(data, "toarray"):  # a sparse matrix
        data = data[:1].toarray()
    array = np.asarray(data)
    shape = [-1, *array.shape[1:]]
    return [{"type": "tensor", "tensor-spec": {"dtype": str(array.dtype), "shape": shape}}]


def infer_signature(model_input: Any, model_output: Any = None) -> ModelSignature:
    """The signature of a model from an example input (and output), as MLflow infers it.

    Example::

        signature = infer_signature(x_valid, model.predict(x_valid))
    """
    outputs = None if model_output is None else column_specs(model_output)
    return ModelSignature(inputs=column_specs(model_input), outputs=outputs)
