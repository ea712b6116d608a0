"""Predict NYC taxi trip durations, tune XGBoost with hyperopt, and log it all with gitruns.

`gitruns demo` wrote this file. Edit it and run `python train.py` again: each
run records the commit it started from and your uncommitted changes.

It calls MLflow's API only, so it runs on MLflow too: change the import line
to `import mlflow`.
"""

from __future__ import annotations

import os
import pickle
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import xgboost as xgb
from hyperopt import STATUS_OK, fmin, hp, tpe
from hyperopt.pyll import scope
from scipy import sparse
from sklearn.feature_extraction import DictVectorizer
from sklearn.linear_model import Ridge
from sklearn.metrics import mean_squared_error

import gitruns as mlflow  # the MLflow API, kept in git

TRAIN_PATH = "data/green_tripdata_2021-01.csv"
VALID_PATH = "data/green_tripdata_2021-02.csv"
MODEL_NAME = "nyc-taxi-regressor"
# Trials: python train.py 5 (the command line is recorded, so a run can be reproduced).
TRIALS = int(sys.argv[1]) if len(sys.argv) > 1 else int(os.environ.get("DEMO_TRIALS", "20"))


def read_dataframe(path: str) -> pd.DataFrame:
    trips = pd.read_csv(path, parse_dates=["lpep_pickup_datetime", "lpep_dropoff_datetime"])
    duration = trips.lpep_dropoff_datetime - trips.lpep_pickup_datetime
    trips["duration"] = duration.dt.total_seconds() / 60
    trips = trips[(trips.duration >= 1) & (trips.duration <= 60)].copy()
    trips["PU_DO"] = trips.PULocationID.astype(str) + "_" + trips.DOLocationID.astype(str)
    return trips


def features(trips: pd.DataFrame) -> list[dict]:
    return trips[["PU_DO", "trip_distance"]].to_dict(orient="records")


def with_32bit_indices(matrix: sparse.csr_matrix) -> sparse.csr_matrix:
    """Some estimators take only 32-bit sparse indices; recent SciPy makes 64-bit ones."""
    matrix.indices = matrix.indices.astype(np.int32)
    matrix.indptr = matrix.indptr.astype(np.int32)
    return matrix


def rmse(truth: np.ndarray, predicted: np.ndarray) -> float:
    return float(mean_squared_error(truth, predicted) ** 0.5)


def main() -> None:
    train_trips, valid_trips = read_dataframe(TRAIN_PATH), read_dataframe(VALID_PATH)
    vectorizer = DictVectorizer()
    x_train = with_32bit_indices(vectorizer.fit_transform(features(train_trips)))
    x_valid = with_32bit_indices(vectorizer.transform(features(valid_trips)))
    y_train, y_valid = train_trips.duration.to_numpy(), valid_trips.duration.to_numpy()
    Path("models").mkdir(exist_ok=True)
    with open("models/preprocessor.b", "wb") as file:
        pickle.dump(vectorizer, file)

    experiment = mlflow.set_experiment("nyc-taxi-experiment")
    steps = TRIALS + 3

    # 1. A scikit-learn baseline: autolog records params, training metrics and the model.
    mlflow.sklearn.autolog()
    with mlflow.start_run(run_name="ridge-baseline"):
        mlflow.set_tag("developer", "demo")
        baseline = Ridge(alpha=1.0).fit(x_train, y_train)
        mlflow.log_metric("rmse", rmse(y_valid, baseline.predict(x_valid)))
    mlflow.sklearn.autolog(disable=True)
    print(f"[1/{steps}] ridge baseline", flush=True)

    # 2. Tune XGBoost with hyperopt: one parent run, each trial a child run.
    train = xgb.DMatrix(x_train, label=y_train)
    valid = xgb.DMatrix(x_valid, label=y_valid)
    mlflow.xgboost.autolog(log_models=False)

    def train_booster(params: dict) -> xgb.Booster:
        return xgb.train(
            params=params,
            dtrain=train,
            num_boost_round=100,
            evals=[(valid, "validation")],
            early_stopping_rounds=10,
            verbose_eval=False,
        )

    trials_done: list[float] = []

    def objective(params: dict) -> dict:
        with mlflow.start_run(run_name=f"trial-{len(trials_done) + 1}", nested=True):
            mlflow.set_tag("model", "xgboost")
            mlflow.log_params(params)
            booster = train_booster(params)
            score = rmse(y_valid, booster.predict(valid))
            mlflow.log_metric("rmse", score)
        trials_done.append(score)
        print(
            f"[{len(trials_done) + 1}/{steps}] trial {len(trials_done)}: rmse {score:.3f}",
            flush=True,
        )
        return {"loss": score, "status": STATUS_OK}

    search_space = {
        "max_depth": scope.int(hp.quniform("max_depth", 3, 12, 1)),
        "learning_rate": hp.loguniform("learning_rate", -2.3, 0),
        "reg_alpha": hp.loguniform("reg_alpha", -5, -1),
        "reg_lambda": hp.loguniform("reg_lambda", -6, -1),
        "min_child_weight": hp.loguniform("min_child_weight", -1, 3),
        "objective": "reg:squarederror",
        "seed": 42,
    }

    with mlflow.start_run(run_name="hyperopt-search"):  # each trial a child run of this one
        mlflow.set_tag("model", "xgboost")
        best = fmin(
            objective,
            search_space,
            algo=tpe.suggest,
            max_evals=TRIALS,
            rstate=np.random.default_rng(42),
            show_progressbar=False,
        )
        mlflow.log_metric("best_rmse", min(trials_done))

    # 3. Train the best parameters once more and log that model.
    best_params = {
        "max_depth": int(best["max_depth"]),
        "learning_rate": best["learning_rate"],
        "reg_alpha": best["reg_alpha"],
        "reg_lambda": best["reg_lambda"],
        "min_child_weight": best["min_child_weight"],
        "objective": "reg:squarederror",
        "seed": 42,
    }
    mlflow.xgboost.autolog(log_models=True)
    with mlflow.start_run(run_name="xgboost-best"):
        mlflow.set_tag("developer", "demo")
        booster = train_booster(best_params)
        mlflow.log_metric("rmse", rmse(y_valid, booster.predict(valid)))
        mlflow.log_artifact("models/preprocessor.b", artifact_path="preprocessor")
    mlflow.xgboost.autolog(disable=True)
    print(f"[{steps - 1}/{steps}] best xgboost model logged", flush=True)

    # 4. Register the best model of the experiment and send it to production: annotated
    #    git tags, in GTO's names. "Best" is the lowest validation rmse among the runs that
    #    logged a model (the baseline and the tuned booster, tagged developer=demo).
    client = mlflow.MlflowClient()
    ranked = client.search_runs(
        experiment_ids=[experiment.experiment_id],
        filter_string="metrics.rmse > 0 and tags.developer = 'demo'",
        order_by=["metrics.rmse ASC", "attributes.start_time ASC"],
    )
    best_run = ranked[0]
    chosen = best_run.info.run_name
    # Nothing to do when the model in production scores as well as the best one.
    in_production = {
        version.run_id: version
        for version in client.search_model_versions(f"name = '{MODEL_NAME}'")
        if version.current_stage == "Production"
    }
    best_rmse = best_run.data.metrics["rmse"]
    for run in ranked:
        if run.data.metrics["rmse"] > best_rmse:
            break
        if run.info.run_id in in_production:
            version = in_production[run.info.run_id]
            name = run.info.run_name
            print(f"[{steps}/{steps}] {MODEL_NAME} v{version.version} ({name}) stays in production")
            return
    version = mlflow.register_model(f"runs:/{best_run.info.run_id}/model", MODEL_NAME)
    client.transition_model_version_stage(
        MODEL_NAME, version.version, "Production", archive_existing_versions=True
    )
    print(f"[{steps}/{steps}] {MODEL_NAME} v{version.version} ({chosen}) in production", flush=True)


if __name__ == "__main__":
    main()
