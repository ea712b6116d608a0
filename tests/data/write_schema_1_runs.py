"""Writes tests/data/schema-1/: runs as gitruns wrote them before schema 2.

Kept to show where the fixture came from; it ran once, with gitruns at commit
7938c10 (the last release writing schema 1), in a fresh git repository:

    PYTHONPATH=<gitruns 7938c10>/src python write_schema_1_runs.py <empty repo>

The migration tests copy the tree and migrate the copy.
"""

import math
import os
import sys

import gitruns

os.chdir(sys.argv[1])
gitruns.set_experiment("old taxi", primary_metric="rmse")
with gitruns.start_run(run_name="parent") as parent:
    gitruns.log_params({"model": "ridge", "alpha": 0.5})
    gitruns.set_tag("team", "pricing")
    for step in range(5):
        gitruns.log_metrics(
            {"rmse": 6 - step * 0.25, "train/loss": 1 / (step + 1), "lr": 0.1 * 0.9**step},
            step=step,
        )
    gitruns.log_metric("odd", math.nan)
    gitruns.log_metric("odd", math.inf, step=1)
    gitruns.log_text("hello\n", "notes/hello.txt")
    with gitruns.start_run(run_name="child", nested=True):
        gitruns.log_param("fold", 1)
        gitruns.log_metric("rmse", 5.5)
        gitruns.log_metric("step", 3.0)  # a metric named like a table column
gitruns.set_experiment("Default")
try:
    with gitruns.start_run(run_name="broken"):
        gitruns.log_metric("loss", 1.0)
        raise RuntimeError("diverged")
except RuntimeError:
    pass
