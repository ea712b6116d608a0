"""Homework: a hyperopt search, each trial a run tagged with its model."""

import mlflow
import numpy as np
from hyperopt import STATUS_OK, Trials, fmin, hp, tpe
from sklearn.ensemble import RandomForestRegressor
from sklearn.metrics import root_mean_squared_error

rng = np.random.default_rng(1)
x_train, x_val = rng.normal(size=(150, 3)), rng.normal(size=(40, 3))
y_train, y_val = x_train @ [2, 1, -1] + 5, x_val @ [2, 1, -1] + 5

mlflow.set_experiment("random-forest-hyperopt")


def objective(params):
    with mlflow.start_run():
        mlflow.set_tag("model", "rf")
        mlflow.log_params(params)
        model = RandomForestRegressor(**params, random_state=42).fit(x_train, y_train)
        rmse = root_mean_squared_error(y_val, model.predict(x_val))
        mlflow.log_metric("rmse", rmse)
    return {"loss": rmse, "status": STATUS_OK}


space = {
    "max_depth": hp.choice("max_depth", [2, 4, 8]),
    "n_estimators": hp.choice("n_estimators", [10, 20]),
}
best = fmin(
    objective,
    space,
    algo=tpe.suggest,
    max_evals=4,
    trials=Trials(),
    rstate=np.random.default_rng(42),
)
runs = mlflow.search_runs(
    experiment_names=["random-forest-hyperopt"], order_by=["metrics.rmse ASC"]
)
assert len(runs) == 4 and list(runs["tags.model"].unique()) == ["rf"]
assert runs["metrics.rmse"].is_monotonic_increasing
print("OK")
