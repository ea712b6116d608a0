"""Homework: find the best run with the client, register it, give it an alias, load it."""

import mlflow
import numpy as np
from mlflow.entities import ViewType
from mlflow.tracking import MlflowClient
from sklearn.linear_model import Ridge

rng = np.random.default_rng(2)
x = rng.normal(size=(60, 2))
y = x @ [1.0, 2.0]
mlflow.set_experiment("register-best")
for alpha in (0.1, 1.0, 10.0):
    with mlflow.start_run():
        model = Ridge(alpha=alpha).fit(x, y)
        mlflow.log_param("alpha", alpha)
        mlflow.log_metric("test_rmse", float(np.sqrt(np.mean((model.predict(x) - y) ** 2))))
        mlflow.sklearn.log_model(model, name="model")

client = MlflowClient()
experiment = client.get_experiment_by_name("register-best")
best = client.search_runs(
    experiment_ids=experiment.experiment_id,
    filter_string="metrics.test_rmse < 10",
    run_view_type=ViewType.ACTIVE_ONLY,
    max_results=1,
    order_by=["metrics.test_rmse ASC"],
)[0]
assert best.data.params["alpha"] == "0.1"
version = mlflow.register_model(f"runs:/{best.info.run_id}/model", "nyc-taxi-regressor")
client.set_registered_model_alias("nyc-taxi-regressor", "Champion", version.version)
client.update_model_version("nyc-taxi-regressor", version.version, description="best alpha")
champion = client.get_model_version_by_alias("nyc-taxi-regressor", "Champion")
assert champion.run_id == best.info.run_id and int(champion.version) == 1
loaded = mlflow.pyfunc.load_model("models:/nyc-taxi-regressor@Champion")
assert np.allclose(loaded.predict(x[:3]), Ridge(alpha=0.1).fit(x, y).predict(x[:3]))
print("OK")
