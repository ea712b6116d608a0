"""Load any saved model as a function: ``predict`` takes a DataFrame or an array.

Example::

    model = gitruns.pyfunc.load_model("models:/nyc-taxi-regressor/Production")
    predictions = model.predict(features)
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from gitruns.exceptions import InvalidValue
from gitruns.models import Model, model_folder, read_mlmodel


class PyFuncModel:
    """A loaded model with MLflow's ``predict`` (and ``metadata``, ``unwrap_python_model``)."""

    def __init__(self, model: Any, flavor: str, metadata: dict[str, Any], folder: Path) -> None:
        self._model = model
        self.flavor = flavor
        self.metadata = Model(metadata)
        self.folder = folder

    def predict(self, data: Any, params: dict[str, Any] | None = None) -> Any:
        if self.flavor == "xgboost":
            return _predict_xgboost(self._model, data)
        return self._model.predict(data)

    def get_raw_model(self) -> Any:
        return self._model

    unwrap_python_model = get_raw_model

    def __repr__(self) -> str:
        return f"<PyFuncModel flavor={self.flavor} folder={self.folder}>"


def _predict_xgboost(model: Any, data: Any) -> Any:
    import xgboost as xgb

    if isinstance(model, xgb.Booster):
        matrix = data if isinstance(data, xgb.DMatrix) else xgb.DMatrix(data)
        return model.predict(matrix)
    return model.predict(data)


def load_model(
    model_uri: str | Path,
    suppress_warnings: bool = False,
    dst_path: str | None = None,
    *,
    allow_pickle: bool | None = None,
    trusted_types: list[str] | None = None,
) -> PyFuncModel:
    """The model at ``model_uri`` (``models:/NAME/STAGE``, ``runs:/ID/model``, a folder).

    ``allow_pickle`` and ``trusted_types`` are as in :func:`gitruns.sklearn.load_model`.
    """
    folder = model_folder(model_uri)
    metadata = read_mlmodel(folder)
    flavors = metadata["flavors"]
    if "xgboost" in flavors:
        from gitruns.models.xgboost import load_from_folder as load_xgboost

        return PyFuncModel(load_xgboost(folder), "xgboost", metadata, folder)
    if "sklearn" in flavors:
        from gitruns.models.sklearn import load_from_folder as load_sklearn

        model = load_sklearn(folder, allow_pickle=allow_pickle, trusted_types=trusted_types)
        return PyFuncModel(model, "sklearn", metadata, folder)
    raise InvalidValue(
        f"the model in {folder} has flavors {', '.join(sorted(flavors))}; gitruns loads "
        "scikit-learn and XGBoost models. Load others with their own library."
    )
