"""The course: XGBoost with autolog, a validation set and early stopping."""

import mlflow
import numpy as np
import xgboost as xgb

rng = np.random.default_rng(3)
x_train, x_val = rng.normal(size=(300, 5)), rng.normal(size=(80, 5))
y_train, y_val = x_train @ [1, 2, 3, 4, 5], x_val @ [1, 2, 3, 4, 5]
train, valid = xgb.DMatrix(x_train, label=y_train), xgb.DMatrix(x_val, label=y_val)

mlflow.set_experiment("nyc-taxi-experiment")
mlflow.xgboost.autolog()
with mlflow.start_run() as run:
    booster = xgb.train(
        {"max_depth": 4, "learning_rate": 0.3, "objective": "reg:squarederror", "seed": 42},
        train,
        num_boost_round=30,
        evals=[(valid, "validation")],
        early_stopping_rounds=5,
        verbose_eval=False,
    )
finished = mlflow.get_run(run.info.run_id)
assert finished.data.params["max_depth"] == "4"
history = mlflow.MlflowClient().get_metric_history(run.info.run_id, "validation-rmse")
assert len(history) >= 5 and history[0].step == 0
print("OK")
