"""MLflow's docs on the model registry: names as the docs write them, tags, aliases,
rename, copy, delete."""

import mlflow
from mlflow import MlflowClient
from sklearn.linear_model import LinearRegression

mlflow.set_experiment("registry-docs")
with mlflow.start_run() as run:
    info = mlflow.sklearn.log_model(LinearRegression().fit([[1], [2]], [1, 2]), name="model")

client = MlflowClient()
client.create_registered_model(
    "SklearnLinearRegression", tags={"team": "forecasting"}, description="A linear model"
)
version = client.create_model_version(
    "SklearnLinearRegression", info.model_uri, run.info.run_id, tags={"validated": "yes"}
)
client.set_registered_model_alias("SklearnLinearRegression", "champion", version.version)
client.set_model_version_tag("SklearnLinearRegression", version.version, "stage", "qa")
model = client.get_registered_model("SklearnLinearRegression")
assert model.tags == {"team": "forecasting"} and model.aliases == {"champion": version.version}
loaded = mlflow.pyfunc.load_model("models:/SklearnLinearRegression@champion")
assert round(float(loaded.predict([[3]])[0]), 6) == 3.0
copied = client.copy_model_version("models:/SklearnLinearRegression@champion", "my_ml_model")
assert copied.name == "my_ml_model" and int(copied.version) == 1
client.rename_registered_model("my_ml_model", "my_renamed_model")
assert client.get_model_version("my_renamed_model", 1).run_id == run.info.run_id
client.delete_registered_model("my_renamed_model")
names = [m.name for m in client.search_registered_models()]
assert names == ["SklearnLinearRegression"], names
print("OK")
