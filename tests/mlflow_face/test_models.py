"""Model flavors: real scikit-learn and XGBoost models saved, logged, registered and loaded."""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import xgboost as xgb
import yaml
from sklearn.linear_model import LinearRegression, Ridge

import gitruns as mlflow
from gitruns import MlflowClient
from gitruns.exceptions import GitrunsError, InvalidPath
from gitruns.models import MissingLibrary, UnsafeModel, require


@pytest.fixture()
def data() -> tuple[pd.DataFrame, np.ndarray]:
    rng = np.random.default_rng(0)
    frame = pd.DataFrame(
        {"trip_distance": rng.uniform(0, 10, 300), "hour": rng.integers(0, 24, 300)}
    )
    target = 3 * frame.trip_distance + 0.2 * frame.hour + rng.normal(0, 0.5, 300)
    return frame, target.to_numpy()


def folder_of(info) -> Path:
    return Path(info.path)


@pytest.mark.parametrize("serialization_format", ["skops", "pickle", "cloudpickle"])
def test_sklearn_model_logged_and_loaded_back(repo: Path, data, serialization_format: str):
    frame, target = data
    model = Ridge(alpha=0.5).fit(frame, target)
    with mlflow.start_run() as run:
        info = mlflow.sklearn.log_model(
            model,
            artifact_path="model",
            input_example=frame.head(3),
            serialization_format=serialization_format,
        )
    folder = repo / "runs" / "default" / run.info.run_id / "artifacts" / "model"
    assert folder_of(info) == folder and info.model_uri == f"runs:/{run.info.run_id}/model"
    mlmodel = yaml.safe_load((folder / "MLmodel").read_text())
    assert mlmodel["artifact_path"] == "model" and mlmodel["run_id"] == run.info.run_id
    assert set(mlmodel["flavors"]) == {"python_function", "sklearn"}
    assert mlmodel["flavors"]["sklearn"]["serialization_format"] == serialization_format
    assert mlmodel["flavors"]["python_function"]["loader_module"] == "mlflow.sklearn"
    assert {"utc_time_created", "model_uuid", "signature"} <= set(mlmodel)
    inputs = json.loads(mlmodel["signature"]["inputs"])
    assert [column["name"] for column in inputs] == ["trip_distance", "hour"]
    assert "scikit-learn==" in (folder / "requirements.txt").read_text()
    assert yaml.safe_load((folder / "python_env.yaml").read_text())["dependencies"] == [
        "-r requirements.txt"
    ]

    expected = model.predict(frame)
    allow = serialization_format in ("pickle", "cloudpickle")
    if allow:
        with pytest.raises(UnsafeModel, match="allow_pickle=True, or set GITRUNS_ALLOW_PICKLE=1"):
            mlflow.sklearn.load_model(info.model_uri)
    loaded = mlflow.sklearn.load_model(info.model_uri, allow_pickle=allow or None)
    np.testing.assert_allclose(loaded.predict(frame), expected)
    pyfunc = mlflow.pyfunc.load_model(f"runs:/{run.info.run_id}/model", allow_pickle=allow or None)
    np.testing.assert_allclose(pyfunc.predict(frame), expected)
    np.testing.assert_allclose(pyfunc.predict(frame.to_numpy()), model.predict(frame.to_numpy()))
    # metadata as MLflow's PyFuncModel has it: an object, with the input schema
    assert (pyfunc.metadata.run_id, pyfunc.metadata.artifact_path) == (run.info.run_id, "model")
    assert "sklearn" in pyfunc.metadata.flavors
    assert pyfunc.metadata.get_input_schema().input_names() == ["trip_distance", "hour"]
    assert pyfunc.metadata.get_input_schema().input_types() == ["double", "long"]


def test_xgboost_booster_and_sklearn_wrapper(repo: Path, data):
    frame, target = data
    booster = xgb.train(
        {"max_depth": 3, "seed": 0}, xgb.DMatrix(frame, label=target), num_boost_round=20
    )
    regressor = xgb.XGBRegressor(n_estimators=20, max_depth=3).fit(frame, target)
    with mlflow.start_run() as run:
        mlflow.xgboost.log_model(booster, artifact_path="models_mlflow")
        mlflow.xgboost.log_model(regressor, name="regressor")
    base = f"runs:/{run.info.run_id}"
    loaded = mlflow.xgboost.load_model(f"{base}/models_mlflow")
    assert isinstance(loaded, xgb.Booster)
    np.testing.assert_allclose(
        loaded.predict(xgb.DMatrix(frame)), booster.predict(xgb.DMatrix(frame))
    )
    np.testing.assert_allclose(
        mlflow.pyfunc.load_model(f"{base}/models_mlflow").predict(frame),
        booster.predict(xgb.DMatrix(frame)),
    )
    again = mlflow.xgboost.load_model(f"{base}/regressor")
    assert isinstance(again, xgb.XGBRegressor)
    np.testing.assert_allclose(again.predict(frame), regressor.predict(frame))
    folder = repo / "runs" / "default" / run.info.run_id / "artifacts" / "models_mlflow"
    assert (folder / "model.ubj").exists() and not list(folder.glob("*.pkl"))


def test_save_model_to_a_path_and_refuse_overwrite(tmp_path: Path, data):
    frame, target = data
    model = LinearRegression().fit(frame, target)
    mlflow.sklearn.save_model(model, tmp_path / "saved")
    np.testing.assert_allclose(
        mlflow.sklearn.load_model(tmp_path / "saved").predict(frame), model.predict(frame)
    )
    with pytest.raises(InvalidPath, match="not empty"):
        mlflow.sklearn.save_model(model, tmp_path / "saved")


def test_log_model_with_registered_model_name_and_load_by_stage_and_alias(repo: Path, data):
    frame, target = data
    with mlflow.start_run():
        info = mlflow.sklearn.log_model(
            Ridge().fit(frame, target), "model", registered_model_name="trip-model"
        )
    assert info.registered_model_version == 1
    client = MlflowClient()
    client.transition_model_version_stage("trip-model", 1, "Production")
    client.set_registered_model_alias("trip-model", "champion", 1)
    for uri in (
        "models:/trip-model/1",
        "models:/trip-model/Production",
        "models:/trip-model@champion",
        "models:/trip-model/latest",
    ):
        assert mlflow.pyfunc.load_model(uri).predict(frame).shape == (300,)


def test_signature_from_arrays_and_sparse(repo: Path, data):
    frame, _ = data
    signature = mlflow.infer_signature(frame.to_numpy(), np.zeros(300))
    spec = signature.to_dict()
    assert json.loads(spec["inputs"]) == [
        {"type": "tensor", "tensor-spec": {"dtype": "float64", "shape": [-1, 2]}}
    ]
    from scipy import sparse

    assert (
        json.loads(mlflow.infer_signature(sparse.csr_matrix(np.eye(3))).to_dict()["inputs"])[0][
            "type"
        ]
        == "tensor"
    )


def test_bad_model_uris_and_folders(repo: Path, tmp_path: Path):
    (tmp_path / "empty").mkdir()
    with pytest.raises(InvalidPath, match="holds no MLmodel"):
        mlflow.pyfunc.load_model(tmp_path / "empty")
    with pytest.raises(GitrunsError, match="no run id starts with"):
        mlflow.pyfunc.load_model("runs:/abcdef/model")
    with pytest.raises(GitrunsError, match=r"Registered Model with name=ghost not found"):
        mlflow.pyfunc.load_model("models:/ghost/1")
    with pytest.raises(InvalidPath, match="does not exist"):
        mlflow.pyfunc.load_model(tmp_path / "nowhere")
    with mlflow.start_run() as run:
        mlflow.log_text("x", "notes.txt")
    with pytest.raises(InvalidPath, match="names nothing"):
        mlflow.pyfunc.load_model(f"runs:/{run.info.run_id}/model")


def test_a_missing_library_says_what_to_install():
    with pytest.raises(MissingLibrary, match="pip install definitely-not-installed"):
        require("definitely_not_installed", "definitely-not-installed")


def mlflow_python() -> str | None:
    return os.environ.get("GITRUNS_TEST_MLFLOW_PYTHON")


@pytest.mark.skipif(
    mlflow_python() is None, reason="MLflow is not installed (set GITRUNS_TEST_MLFLOW_PYTHON)"
)
def test_mlflow_loads_what_gitruns_saved_and_predicts_the_same(repo: Path, data):
    frame, target = data
    with mlflow.start_run() as run:
        mlflow.sklearn.log_model(Ridge().fit(frame, target), "ridge")
        mlflow.sklearn.log_model(
            Ridge(alpha=2.0).fit(frame, target), "cloudpickled", serialization_format="cloudpickle"
        )
        mlflow.xgboost.log_model(
            xgb.train({"seed": 0}, xgb.DMatrix(frame, label=target), 10), "booster"
        )
    frame.to_csv(repo / "frame.csv", index=False)
    artifacts = repo / "runs" / "default" / run.info.run_id / "artifacts"
    ours = {
        "ridge": mlflow.pyfunc.load_model(artifacts / "ridge").predict(frame).tolist(),
        "booster": mlflow.pyfunc.load_model(artifacts / "booster").predict(frame).tolist(),
        "cloudpickled": mlflow.pyfunc.load_model(artifacts / "cloudpickled", allow_pickle=True)
        .predict(frame)
        .tolist(),
    }
    code = (
        "import json, sys, pandas as pd, mlflow.pyfunc\n"
        "frame = pd.read_csv('frame.csv')\n"
        "load = lambda name: mlflow.pyfunc.load_model(sys.argv[1] + '/' + name)\n"
        "names = ('ridge', 'booster', 'cloudpickled')\n"
        "print(json.dumps({name: load(name).predict(frame).tolist() for name in names}))"
    )
    result = subprocess.run(
        [mlflow_python(), "-c", code, str(artifacts)],
        cwd=repo,
        capture_output=True,
        text=True,
        env={**os.environ, "MLFLOW_ALLOW_PICKLE_DESERIALIZATION": "true"},
        timeout=300,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    theirs = json.loads(result.stdout.strip().splitlines()[-1])
    for name in ours:
        np.testing.assert_allclose(theirs[name], ours[name], rtol=1e-6)


def test_a_model_file_cannot_choose_what_gitruns_trusts(repo: Path, data, monkeypatch):
    frame, target = data
    with mlflow.start_run():
        info = mlflow.sklearn.log_model(Ridge().fit(frame, target), artifact_path="model")
    folder = folder_of(info)
    mlmodel_path = folder / "MLmodel"
    mlmodel = yaml.safe_load(mlmodel_path.read_text())

    # A skops file holding os.system, with MLmodel listing it as trusted: refused.
    import skops.io

    skops.io.dump({"call": os.system}, folder / "model.skops")
    mlmodel["flavors"]["sklearn"]["skops_trusted_types"] = ["posix.system", "builtins.dict"]
    mlmodel_path.write_text(yaml.safe_dump(mlmodel))
    with pytest.raises(UnsafeModel, match=r"posix\.system"):
        mlflow.sklearn.load_model(info.model_uri)

    # MLmodel switching to pickle: refused without the user's word, even if the file says so.
    marker = repo / "pwned"
    (folder / "model.pkl").write_bytes(b"cos\nsystem\n(S'touch " + str(marker).encode() + b"'\ntR.")
    mlmodel["flavors"]["sklearn"].update(serialization_format="pickle", pickled_model="model.pkl")
    mlmodel_path.write_text(yaml.safe_dump(mlmodel))
    with pytest.raises(UnsafeModel, match="pickle"):
        mlflow.pyfunc.load_model(info.model_uri)
    assert not marker.exists()
    monkeypatch.setenv("GITRUNS_ALLOW_PICKLE", "1")  # the explicit opt-in loads it
    with contextlib.suppress(Exception):
        mlflow.sklearn.load_model(info.model_uri)
    assert marker.exists()
    monkeypatch.delenv("GITRUNS_ALLOW_PICKLE")

    # A model file outside the model folder, or a link: refused.
    for outside in ("../../run.yaml", "/etc/passwd"):
        mlmodel["flavors"]["sklearn"]["pickled_model"] = outside
        mlmodel_path.write_text(yaml.safe_dump(mlmodel))
        with pytest.raises(GitrunsError, match=r"pickled_model|model file|artifact path"):
            mlflow.sklearn.load_model(info.model_uri, allow_pickle=True)
    os.symlink("/etc/passwd", folder / "linked.pkl")
    mlmodel["flavors"]["sklearn"]["pickled_model"] = "linked.pkl"
    mlmodel_path.write_text(yaml.safe_dump(mlmodel))
    with pytest.raises(GitrunsError, match="link"):
        mlflow.sklearn.load_model(info.model_uri, allow_pickle=True)


@pytest.mark.slow
@pytest.mark.skipif(
    mlflow_python() is None, reason="MLflow is not installed (set GITRUNS_TEST_MLFLOW_PYTHON)"
)
def test_the_demo_script_runs_unchanged_on_mlflow(tmp_path: Path):
    """Only the import line differs: no gitruns-only keyword is in the demo's train.py."""
    from gitruns.demo import SCRIPT, script_text
    from gitruns.demo.data import taxi_trips

    script = script_text()
    assert script.count("import gitruns as mlflow") == 1 and "from gitruns" not in script
    (tmp_path / "data").mkdir()
    for month in (1, 2):
        taxi_trips(2021, month, rows=2000).to_csv(
            tmp_path / "data" / f"green_tripdata_2021-{month:02d}.csv", index=False
        )
    (tmp_path / SCRIPT).write_text(script.replace("import gitruns as mlflow", "import mlflow"))
    result = subprocess.run(
        [mlflow_python(), SCRIPT],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=600,
        env={**os.environ, "MLFLOW_TRACKING_URI": "sqlite:///mlflow.db", "DEMO_TRIALS": "3"},
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert "nyc-taxi-regressor v1" in result.stdout and "in production" in result.stdout


def test_a_logged_model_has_an_id_that_finds_and_loads_it(repo: Path, data):
    frame, target = data
    with mlflow.start_run() as run:
        info = mlflow.sklearn.log_model(Ridge().fit(frame, target), name="models/ridge")
        mlflow.set_logged_model_tags(info.model_id, {"stage": "candidate", "owner": "ana"})
    model = mlflow.get_logged_model(info.model_id)
    assert info.model_id.startswith(f"m-{run.info.run_id}-")
    assert (model.name, model.source_run_id, model.status) == (
        "models/ridge",
        run.info.run_id,
        "READY",
    )
    assert model.tags == {"stage": "candidate", "owner": "ana"}
    mlflow.delete_logged_model_tag(info.model_id, "owner")
    assert mlflow.get_logged_model(info.model_id).tags == {"stage": "candidate"}
    loaded = mlflow.pyfunc.load_model(model.model_uri)  # models:/<model id>
    expected = Ridge().fit(frame, target).predict(frame)
    np.testing.assert_allclose(loaded.predict(frame), expected)
    found = MlflowClient().search_logged_models(["default"])
    assert [m.model_id for m in found] == [info.model_id]

    for hostile in ("m-../../../etc", f"m-{run.info.run_id}-", "m-" + "0" * 32 + "-mfpxe"):
        with pytest.raises(GitrunsError, match=r"logged model|no run|model path"):
            mlflow.get_logged_model(hostile)


def test_a_models_requirements_pin_xgboost_whichever_build_is_installed():
    from gitruns.models import pinned

    # xgboost-cpu (the ml extra on Linux x86_64) and xgboost install the same module
    assert pinned("xgboost", "numpy") == [f"xgboost=={xgb.__version__}", f"numpy=={np.__version__}"]
