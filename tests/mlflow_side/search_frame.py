"""Logs the same three runs with MLflow or with gitruns (``import gitruns as mlflow``) and
prints, as JSON, what ``search_runs`` gave: the first columns, each column's kind of
values and what stands for a value a run lacks, row by row in the search's order. Run
in MLflow's virtualenv:

    python search_frame.py mlflow    # MLflow's own store (sqlite)
    python search_frame.py gitruns   # gitruns' runs/ folder
"""

import importlib
import json
import math
import sys

mlflow = importlib.import_module(sys.argv[1])
if sys.argv[1] == "mlflow":
    mlflow.set_tracking_uri("sqlite:///mlflow.db")
mlflow.set_experiment("frame")
for name, params, metrics, tags in (
    ("first", {"alpha": 0.1, "depth": 3}, {"rmse": 6.5, "mae": 4.0}, {"team": "a"}),
    ("second", {"alpha": 0.2}, {"rmse": 5.5}, {}),
    ("third", {"depth": 5}, {"mae": 3.0}, {"team": "b"}),
):
    with mlflow.start_run(run_name=name):
        mlflow.log_params(params)
        mlflow.log_metrics(metrics)
        mlflow.set_tags(tags)


def shown(value):
    if value is None:
        return "None"
    if isinstance(value, float) and math.isnan(value):
        return "NaN"
    return value if isinstance(value, (str, int, float)) else str(value)


frame = mlflow.search_runs(order_by=["metrics.rmse ASC"])
# Columns compared by name: MLflow orders metrics, params and tags as its store returned
# them, gitruns by name.
picked = sorted(c for c in frame.columns if c.split(".", 1)[0] in ("metrics", "params"))
picked += ["tags.team", "tags.mlflow.runName", "status"]
print(
    json.dumps(
        {
            "columns": list(frame.columns[:6]),
            "kinds": {c: frame[c].dtype.kind for c in [*picked, "start_time", "end_time"]},
            "rows": [{c: shown(frame[c].iloc[i]) for c in picked} for i in range(len(frame))],
            # A search finding only "second": columns only for the keys it has.
            "second": sorted(
                c
                for c in mlflow.search_runs(filter_string="params.alpha = '0.2'").columns
                if c.split(".", 1)[0] in ("metrics", "params") or c == "tags.team"
            ),
        }
    )
)
