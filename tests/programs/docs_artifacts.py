"""MLflow's docs on artifacts: log text, dicts and figures, list them, read them back."""

import json
import os
import tempfile
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import mlflow
from mlflow import MlflowClient

with mlflow.start_run() as run:
    mlflow.log_text("hello", "notes/hello.txt")
    mlflow.log_dict({"features": ["PU_DO", "trip_distance"]}, "config.json")
    figure, axes = plt.subplots()
    axes.plot([1, 2, 3])
    mlflow.log_figure(figure, "plots/curve.png")
    with tempfile.TemporaryDirectory() as folder:
        with open(os.path.join(folder, "preprocessor.b"), "wb") as file:
            file.write(b"\x00\x01")
        mlflow.log_artifact(os.path.join(folder, "preprocessor.b"), artifact_path="preprocessor")

client = MlflowClient()
paths = sorted(info.path for info in client.list_artifacts(run.info.run_id))
assert paths == ["config.json", "notes", "plots", "preprocessor"], paths
assert mlflow.artifacts.load_dict(f"runs:/{run.info.run_id}/config.json")["features"][0] == "PU_DO"
assert mlflow.artifacts.load_text(f"runs:/{run.info.run_id}/notes/hello.txt") == "hello"
local = mlflow.artifacts.download_artifacts(run_id=run.info.run_id, artifact_path="preprocessor")
assert os.path.isabs(local)
assert (Path(local) / "preprocessor.b").read_bytes() == b"\x00\x01"
assert json.loads(Path(client.download_artifacts(run.info.run_id, "config.json")).read_text())
print("OK")
