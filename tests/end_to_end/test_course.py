"""The course's flow, written against MLflow and run with ``import gitruns as mlflow``.

Duration prediction on generated trips: a baseline, a hyperopt search over
XGBoost, the best models registered, promoted with archiving, and loaded back
by stage to predict. Only the import line differs from the course's notebooks.
"""

from __future__ import annotations

import pickle
from pathlib import Path

import numpy as np
import pytest
import xgboost as xgb
from hyperopt import STATUS_OK, Trials, fmin, hp, tpe
from hyperopt.pyll import scope
from sklearn.feature_extraction import DictVectorizer
from sklearn.linear_model import Lasso
from sklearn.metrics import mean_squared_error

import gitruns as mlflow
from gitruns import MlflowClient
from gitruns.demo.data import taxi_trips
from gitruns.entities import ViewType

pytestmark = pytest.mark.slow


def read_dataframe(month: int):
    df = taxi_trips(2021, month, rows=2500)
    df["duration"] = (df.lpep_dropoff_datetime - df.lpep_pickup_datetime).dt.total_seconds() / 60
    df = df[(df.duration >= 1) & (df.duration <= 60)].copy()
    df["PU_DO"] = df["PULocationID"].astype(str) + "_" + df["DOLocationID"].astype(str)
    return df


def test_duration_prediction_course_flow(repo: Path, tmp_path: Path):
    mlflow.set_tracking_uri("sqlite:///mlflow.db")
    mlflow.set_experiment("nyc-taxi-experiment")

    df_train, df_val = read_dataframe(1), read_dataframe(2)
    dv = DictVectorizer()
    X_train = dv.fit_transform(df_train[["PU_DO", "trip_distance"]].to_dict(orient="records"))
    X_val = dv.transform(df_val[["PU_DO", "trip_distance"]].to_dict(orient="records"))
    for matrix in (X_train, X_val):
        matrix.indices, matrix.indptr = (
            matrix.indices.astype(np.int32),
            matrix.indptr.astype(np.int32),
        )
    y_train, y_val = df_train.duration.values, df_val.duration.values
    Path("models").mkdir()
    with open("models/preprocessor.b", "wb") as f_out:
        pickle.dump(dv, f_out)

    with mlflow.start_run():
        mlflow.set_tag("developer", "cristian")
        mlflow.log_param("train-data-path", "./data/green_tripdata_2021-01.csv")
        alpha = 0.01
        mlflow.log_param("alpha", alpha)
        lr = Lasso(alpha).fit(X_train, y_train)
        rmse = mean_squared_error(y_val, lr.predict(X_val)) ** 0.5
        mlflow.log_metric("rmse", rmse)
        mlflow.log_artifact(local_path="models/preprocessor.b", artifact_path="preprocessor")

    train = xgb.DMatrix(X_train, label=y_train)
    valid = xgb.DMatrix(X_val, label=y_val)

    def objective(params):
        with mlflow.start_run():
            mlflow.set_tag("model", "xgboost")
            mlflow.log_params(params)
            booster = xgb.train(
                params=params,
                dtrain=train,
                num_boost_round=30,
                evals=[(valid, "validation")],
                early_stopping_rounds=5,
                verbose_eval=False,
            )
            y_pred = booster.predict(valid)
            rmse = mean_squared_error(y_val, y_pred) ** 0.5
            mlflow.log_metric("rmse", rmse)
            mlflow.xgboost.log_model(booster, artifact_path="models_mlflow")
            mlflow.log_artifact("models/preprocessor.b", artifact_path="preprocessor")
        return {"loss": rmse, "status": STATUS_OK}

    search_space = {
        "max_depth": scope.int(hp.quniform("max_depth", 4, 10, 1)),
        "learning_rate": hp.loguniform("learning_rate", -2, 0),
        "objective": "reg:squarederror",
        "seed": 42,
    }
    fmin(
        fn=objective,
        space=search_space,
        algo=tpe.suggest,
        max_evals=3,
        trials=Trials(),
        rstate=np.random.default_rng(1),
        show_progressbar=False,
    )

    client = MlflowClient(tracking_uri="sqlite:///mlflow.db")
    experiment = client.get_experiment_by_name("nyc-taxi-experiment")
    runs = client.search_runs(
        experiment_ids=experiment.experiment_id,
        filter_string="metrics.rmse < 20 and tags.model = 'xgboost'",
        run_view_type=ViewType.ACTIVE_ONLY,
        max_results=5,
        order_by=["metrics.rmse ASC"],
    )
    assert len(runs) == 3
    model_name = "nyc-taxi-regressor"
    for run in runs[:2]:
        mlflow.register_model(model_uri=f"runs:/{run.info.run_id}/models_mlflow", name=model_name)
    latest_versions = client.get_latest_versions(name=model_name)
    assert [version.version for version in latest_versions] == [2]
    client.transition_model_version_stage(model_name, version=1, stage="Production")
    client.transition_model_version_stage(
        model_name, version=2, stage="Production", archive_existing_versions=True
    )
    client.update_model_version(
        model_name, version=2, description="The model version 2 was transitioned"
    )
    stages = {
        v.version: v.current_stage for v in client.search_model_versions(f"name='{model_name}'")
    }
    assert stages == {1: "Archived", 2: "Production"}

    model = mlflow.pyfunc.load_model(f"models:/{model_name}/Production")
    production_run = client.get_run(client.get_model_version(model_name, 2).run_id)
    preprocessor = client.download_artifacts(
        production_run.info.run_id, "preprocessor", str(tmp_path)
    )
    with open(Path(preprocessor) / "preprocessor.b", "rb") as f_in:
        loaded_dv = pickle.load(f_in)
    features = loaded_dv.transform(df_val[["PU_DO", "trip_distance"]].to_dict(orient="records"))
    predictions = model.predict(features)
    assert mean_squared_error(y_val, predictions) ** 0.5 == pytest.approx(
        production_run.data.metrics["rmse"], rel=1e-5
    )
    assert not Path("mlflow.db").exists()
