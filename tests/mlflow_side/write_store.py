"""Writes an MLflow store with MLflow itself (run in MLflow's virtualenv): what the
import and round-trip tests read. Prints a JSON picture of the store, taken with
MLflow's client, for the tests to compare against.

    python write_store.py sqlite:///mlflow.db
"""

import json
import sys
import tempfile
from pathlib import Path

import mlflow
import numpy as np
import pandas as pd
from mlflow.tracking import MlflowClient
from sklearn.linear_model import Ridge
from snapshot import snapshot

uri = sys.argv[1]
mlflow.set_tracking_uri(uri)
mlflow.set_registry_uri(uri)
client = MlflowClient()

experiment_id = mlflow.create_experiment(
    "nyc-taxi-experiment", tags={"team": "zoomcamp", "mlflow.note.content": "Taxi trips"}
)
mlflow.set_experiment(experiment_id=experiment_id)
x = np.arange(20, dtype=float).reshape(10, 2)
y = x @ np.array([1.5, -2.0]) + 0.5
with mlflow.start_run(run_name="search") as parent:
    mlflow.set_tag("developer", "ana")
    mlflow.log_param("optimizer", "tpe")
    for child in range(2):
        with mlflow.start_run(run_name=f"trial-{child}", nested=True):
            mlflow.log_params({"alpha": 0.1 * (child + 1), "max_depth": child + 3})
            frame = pd.DataFrame(x, columns=["distance", "passengers"]).assign(duration=y)
            mlflow.log_input(
                mlflow.data.from_pandas(frame, source="data/trips.csv", targets="duration"),
                context="training",
                tags={"month": str(child + 1)},
            )
            for step in range(5):
                mlflow.log_metric("rmse", 6.0 - step * 0.5 - child, step=step)
                mlflow.log_metric("mae", float("nan") if step == 2 else 4.0 - step, step=step)
    with tempfile.TemporaryDirectory() as folder:
        (Path(folder) / "notes.txt").write_text("best of two\n")
        (Path(folder) / "plots").mkdir()
        (Path(folder) / "plots" / "residuals.bin").write_bytes(bytes(range(256)))
        mlflow.log_artifacts(folder)
    model = Ridge(alpha=0.1).fit(x, y)
    mlflow.log_metric("rmse", 4.0)
    info = mlflow.sklearn.log_model(model, name="model")
    mlflow.set_tag("mlflow.note.content", "The search's parent run")

with mlflow.start_run(run_name="failed-one") as failed:
    mlflow.log_param("alpha", "0.3")
    mlflow.log_metric("rmse", 9.0)
client.set_terminated(failed.info.run_id, status="FAILED")

default_run = client.create_run("0", run_name="in-default")
client.log_param(default_run.info.run_id, "where", "default")
client.set_terminated(default_run.info.run_id)

name = "nyc-taxi-regressor"
client.create_registered_model(name, tags={"task": "regression"}, description="Predicts duration")
for number in range(3):
    mv = client.create_model_version(
        name,
        info.model_uri,
        parent.info.run_id,
        tags={"validated": str(number)},
        description=f"version {number + 1}",
    )
client.delete_model_version(name, "2")
client.transition_model_version_stage(name, "1", "Production")
client.set_registered_model_alias(name, "Champion", "3")

picture = snapshot(client)
picture["ids"] = {
    "search": parent.info.run_id,
    "failed-one": failed.info.run_id,
    "in-default": default_run.info.run_id,
}
print(json.dumps(picture))
