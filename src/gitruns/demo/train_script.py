"""Train trip-duration models on the taxi data and log every run with gitruns.

`gitruns demo` wrote this file. Edit it and run `python train.py` again: each
run records the commit it started from and your uncommitted changes.
"""

from __future__ import annotations

import pickle
from pathlib import Path

import numpy as np
import pandas as pd
from scipy import sparse
from sklearn.feature_extraction import DictVectorizer
from sklearn.linear_model import Lasso, LinearRegression, Ridge, SGDRegressor
from sklearn.metrics import mean_squared_error

import gitruns as mlflow  # the MLflow API, kept in git

TRAIN_PATH = "data/green_tripdata_2021-01.csv"
VALID_PATH = "data/green_tripdata_2021-02.csv"
CATEGORICAL = ["PU_DO"]
NUMERICAL = ["trip_distance"]


def read_dataframe(path: str) -> pd.DataFrame:
    trips = pd.read_csv(path, parse_dates=["lpep_pickup_datetime", "lpep_dropoff_datetime"])
    duration = trips.lpep_dropoff_datetime - trips.lpep_pickup_datetime
    trips["duration"] = duration.dt.total_seconds() / 60
    trips = trips[(trips.duration >= 1) & (trips.duration <= 60)].copy()
    trips["PU_DO"] = trips.PULocationID.astype(str) + "_" + trips.DOLocationID.astype(str)
    return trips


def with_32bit_indices(matrix: sparse.csr_matrix) -> sparse.csr_matrix:
    """Lasso and SGD take only 32-bit sparse indices; recent SciPy makes 64-bit ones."""
    matrix.indices = matrix.indices.astype(np.int32)
    matrix.indptr = matrix.indptr.astype(np.int32)
    return matrix


def rmse(truth: pd.Series, predicted: list[float]) -> float:
    return float(mean_squared_error(truth, predicted) ** 0.5)


def main() -> None:
    train, valid = read_dataframe(TRAIN_PATH), read_dataframe(VALID_PATH)
    vectorizer = DictVectorizer()
    x_train = vectorizer.fit_transform(train[CATEGORICAL + NUMERICAL].to_dict(orient="records"))
    x_valid = vectorizer.transform(valid[CATEGORICAL + NUMERICAL].to_dict(orient="records"))
    x_train, x_valid = with_32bit_indices(x_train), with_32bit_indices(x_valid)
    y_train, y_valid = train.duration.to_numpy(), valid.duration.to_numpy()
    Path("models").mkdir(exist_ok=True)
    with open("models/preprocessor.b", "wb") as file:
        pickle.dump(vectorizer, file)

    mlflow.set_experiment("nyc-taxi-experiment", primary_metric="rmse", goal="minimize")
    candidates = [
        ("linear", LinearRegression(), {}),
        ("lasso", Lasso(alpha=0.01), {"alpha": 0.01}),
        ("lasso", Lasso(alpha=0.001), {"alpha": 0.001}),
        ("ridge", Ridge(alpha=1.0), {"alpha": 1.0}),
        ("ridge", Ridge(alpha=10.0), {"alpha": 10.0}),
    ]
    total = len(candidates) + 1
    for number, (name, model, params) in enumerate(candidates, start=1):
        with mlflow.start_run(run_name=f"{name}-{params.get('alpha', 'default')}"):
            mlflow.set_tag("developer", "demo")
            mlflow.set_tag("model", name)
            mlflow.log_params({"train-data-path": TRAIN_PATH, "valid-data-path": VALID_PATH})
            mlflow.log_params({"model": name, **params})
            model.fit(x_train, y_train)
            score = rmse(y_valid, model.predict(x_valid))
            mlflow.log_metric("rmse", score)
            mlflow.log_metric("train_rmse", rmse(y_train, model.predict(x_train)))
            mlflow.log_artifact("models/preprocessor.b", artifact_path="preprocessor")
        print(f"[{number}/{total}] {name} {params or ''}: rmse {score:.3f}", flush=True)

    # An iterative model: its validation error per epoch becomes a metric history.
    with mlflow.start_run(run_name="sgd-epochs"):
        mlflow.set_tag("developer", "demo")
        mlflow.set_tag("model", "sgd")
        epochs, learning_rate = 12, 0.002
        mlflow.log_params({"model": "sgd", "epochs": epochs, "eta0": learning_rate})
        model = SGDRegressor(learning_rate="constant", eta0=learning_rate, random_state=1)
        for epoch in range(epochs):
            model.partial_fit(x_train, y_train)
            score = rmse(y_valid, model.predict(x_valid))
            mlflow.log_metric("rmse", score, step=epoch)
            mlflow.log_metric("train_rmse", rmse(y_train, model.predict(x_train)), step=epoch)
    print(f"[{total}/{total}] sgd {{'epochs': {epochs}}}: rmse {score:.3f}", flush=True)


if __name__ == "__main__":
    main()
