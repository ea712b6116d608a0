"""Dataset inputs (mlflow.data, log_input): what a run read, kept in run.yaml (schema 3)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml
from click.testing import CliRunner

import gitruns as mlflow
from gitruns import MlflowClient
from gitruns.cli import cli
from gitruns.entities import Dataset, DatasetInput, InputTag
from gitruns.exceptions import InvalidValue
from gitruns.store.check import check_runs


def run_yaml(repo: Path, run_id: str) -> dict:
    return yaml.safe_load((repo / "runs" / "default" / run_id / "run.yaml").read_text())


def test_datasets_a_run_read_are_kept_with_their_digest_source_and_shape(repo: Path):
    frame = pd.DataFrame({"distance": [1.0, 2.5, 3.0], "duration": [5.0, 9.0, 11.0]})
    train = mlflow.data.from_pandas(
        frame, source="data/green_tripdata_2021-01.csv", targets="duration", name="january"
    )
    valid = mlflow.data.from_numpy(np.ones((4, 2)), targets=np.zeros(4), name="february")
    with mlflow.start_run() as run:
        mlflow.log_input(train, context="training", tags={"month": "1"})
        mlflow.log_input(valid, context="validation")
        mlflow.log_input(train, context="training", tags={"month": "1"})  # kept once
    with mlflow.start_run() as plain:
        mlflow.log_metric("rmse", 1.0)

    inputs = mlflow.get_run(run.info.run_id).inputs.dataset_inputs
    assert [item.dataset.name for item in inputs] == ["january", "february"]
    first = inputs[0]
    assert [(tag.key, tag.value) for tag in first.tags] == [  # MLflow's order: context last
        ("month", "1"),
        ("mlflow.data.context", "training"),
    ]
    assert first.dataset.source_type == "local"
    assert json.loads(first.dataset.source) == {"uri": "data/green_tripdata_2021-01.csv"}
    assert json.loads(first.dataset.profile) == {"num_rows": 3, "num_elements": 6}
    columns = json.loads(first.dataset.schema)["mlflow_colspec"]
    assert [(c["name"], c["type"]) for c in columns] == [
        ("distance", "double"),
        ("duration", "double"),
    ]
    assert len(first.dataset.digest) == 8
    changed = mlflow.data.from_pandas(frame.assign(distance=[1.0, 2.5, 3.5]), name="january")
    assert changed.digest != train.digest  # other data, another digest
    assert json.loads(inputs[1].dataset.profile)["features_shape"] == [4, 2]

    # On disk: schema 3 only where a run has inputs; every record still valid.
    assert run_yaml(repo, run.info.run_id)["schema"] == 3
    assert len(run_yaml(repo, run.info.run_id)["inputs"]) == 2
    assert run_yaml(repo, plain.info.run_id)["schema"] == 2
    assert "inputs" not in run_yaml(repo, plain.info.run_id)
    assert check_runs(repo / "runs").problems == []

    shown = CliRunner().invoke(cli, ["runs", "show", run.info.run_id])
    assert shown.exit_code == 0, shown.output
    datasets = shown.output.split("datasets", 1)[1]
    assert "january" in datasets and "training" in datasets and train.digest in datasets


def test_the_client_logs_mlflow_shaped_dataset_inputs_and_refuses_bad_ones(repo: Path):
    client = MlflowClient()
    run = client.create_run("0")
    dataset = Dataset("taxi", "abcd1234", "http", '{"url": "https://example.com/taxi.csv"}')
    client.log_inputs(
        run.info.run_id, [DatasetInput(dataset, [InputTag("mlflow.data.context", "testing")])]
    )
    (item,) = client.get_run(run.info.run_id).inputs.dataset_inputs
    assert item.dataset == dataset and item.tags == [InputTag("mlflow.data.context", "testing")]

    with pytest.raises(InvalidValue, match="pandas DataFrame"):
        mlflow.data.from_pandas([[1, 2]])
    with pytest.raises(InvalidValue, match="column 'label' is not in the DataFrame"):
        mlflow.data.from_pandas(pd.DataFrame({"a": [1]}), targets="label")
    with pytest.raises(InvalidValue, match="targets"):
        mlflow.data.from_numpy(np.ones((3, 2)), targets=np.ones(2))
    with mlflow.start_run(), pytest.raises(InvalidValue, match="from_pandas, from_numpy"):
        mlflow.log_input({"name": "not a dataset"})
    with mlflow.start_run(), pytest.raises(InvalidValue, match="name is 600 characters"):
        mlflow.log_input(mlflow.data.from_numpy(np.ones(2), name="x" * 600))


def test_runs_are_found_by_the_datasets_they_read(repo: Path):
    frame = pd.DataFrame({"distance": [1.0, 2.0], "duration": [3.0, 4.0]})
    january = mlflow.data.from_pandas(frame, name="january")
    february = mlflow.data.from_pandas(frame.assign(distance=[5.0, 6.0]), name="february")
    ids = {}
    for label, inputs in {
        "both": [(january, "training"), (february, "validation")],
        "january-only": [(january, "validation")],
        "none": [],
    }.items():
        with mlflow.start_run(run_name=label) as run:
            for dataset, context in inputs:
                mlflow.log_input(dataset, context=context)
            mlflow.log_metric("rmse", len(inputs))
        ids[run.info.run_id] = label

    def found(filter_string: str) -> set[str]:
        runs = MlflowClient().search_runs(["default"], filter_string)
        return {ids[run.info.run_id] for run in runs}

    assert found("datasets.name = 'january'") == {"both", "january-only"}
    assert found("datasets.name = 'february'") == {"both"}
    assert found(f"datasets.digest = '{february.digest}'") == {"both"}
    assert found("datasets.context = 'training'") == {"both"}
    assert found("datasets.name IN ('february', 'march')") == {"both"}
    assert found("datasets.name LIKE 'jan%' AND metrics.rmse < 2") == {"january-only"}
    # Each comparison holds when one of the run's datasets meets it.
    assert found("datasets.context = 'validation' AND datasets.name = 'january'") == {
        "both",
        "january-only",
    }
    assert found("datasets.name != 'january'") == {"both"}  # february
    with pytest.raises(InvalidValue, match="unknown dataset field 'size'"):
        found("datasets.size = '3'")
    with pytest.raises(InvalidValue, match="not ordered by one"):
        MlflowClient().search_runs(["default"], order_by=["datasets.name"])
