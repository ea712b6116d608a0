"""Homework: autolog a random forest on duration data, then read the run back."""

import mlflow
import numpy as np
from sklearn.ensemble import RandomForestRegressor
from sklearn.metrics import root_mean_squared_error

rng = np.random.default_rng(0)
x_train, x_val = rng.normal(size=(200, 4)), rng.normal(size=(50, 4))
y_train, y_val = x_train @ [3, -1, 2, 0.5] + 10, x_val @ [3, -1, 2, 0.5] + 10

mlflow.set_experiment("homework-2")
mlflow.sklearn.autolog()
with mlflow.start_run() as run:
    model = RandomForestRegressor(max_depth=10, random_state=0).fit(x_train, y_train)
    rmse = root_mean_squared_error(y_val, model.predict(x_val))
    mlflow.log_metric("rmse", rmse)

finished = mlflow.get_run(run.info.run_id)
assert finished.data.params["max_depth"] == "10"
assert finished.data.params["min_samples_split"] == "2"
assert "training_score" in finished.data.metrics
assert finished.data.metrics["rmse"] == rmse
print("OK")
