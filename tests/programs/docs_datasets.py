"""MLflow's docs on datasets: describe a DataFrame, log it as a training input, find runs
by it."""

import mlflow
import pandas as pd

frame = pd.DataFrame({"fixed acidity": [7.4, 7.8, 11.2], "quality": [5, 5, 6]})
dataset = mlflow.data.from_pandas(
    frame, source="data/winequality-red.csv", name="wine quality - red", targets="quality"
)
mlflow.set_experiment("datasets")
with mlflow.start_run() as run:
    mlflow.log_input(dataset, context="training")

logged = mlflow.get_run(run.info.run_id).inputs.dataset_inputs[0]
assert logged.dataset.name == "wine quality - red"
assert logged.dataset.digest == dataset.digest
assert [tag.value for tag in logged.tags if tag.key == "mlflow.data.context"] == ["training"]
found = mlflow.search_runs(
    experiment_names=["datasets"], filter_string="datasets.name = 'wine quality - red'"
)
assert list(found["run_id"]) == [run.info.run_id]
print("OK")
