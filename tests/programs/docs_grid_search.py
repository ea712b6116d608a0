"""MLflow's docs: autolog a parameter search; the parent run holds the best, children each
candidate."""

import mlflow
from sklearn.datasets import load_diabetes
from sklearn.ensemble import RandomForestRegressor
from sklearn.model_selection import GridSearchCV

x, y = load_diabetes(return_X_y=True)
mlflow.set_experiment("grid-search")
mlflow.sklearn.autolog(max_tuning_runs=3)
with mlflow.start_run() as run:
    search = GridSearchCV(
        RandomForestRegressor(n_estimators=10, random_state=0),
        {"max_depth": [2, 4], "min_samples_leaf": [1, 5]},
        cv=2,
    ).fit(x, y)

parent = mlflow.get_run(run.info.run_id)
assert parent.data.params["best_max_depth"] == str(search.best_params_["max_depth"])
assert "best_cv_score" in parent.data.metrics
children = mlflow.search_runs(
    experiment_ids=[run.info.experiment_id],
    filter_string=f"tags.mlflow.parentRunId = '{run.info.run_id}'",
)
assert len(children) == 3
print("OK")
