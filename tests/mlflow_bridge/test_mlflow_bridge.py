"""MLflow both ways, with real MLflow in its own virtualenv (GITRUNS_TEST_MLFLOW_PYTHON,
with gitruns installed in it as `pip install -e '.[mlflow]'` does):

- a store MLflow wrote (sqlite, an mlruns/ folder, a tracking server) imported, compared
  run by run, imported again (nothing twice), and exported back: the same store;
- MLflow itself writing gitruns runs through the `gitruns:` URI (the plugin);
- `mlflow server` answering its REST API with runs gitruns logged.
"""

from __future__ import annotations

import hashlib
import json
import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

import gitruns
from gitruns.client import MlflowClient
from tests.conftest import git, make_repo

MLFLOW_PYTHON = os.environ.get("GITRUNS_TEST_MLFLOW_PYTHON")
SIDE = Path(__file__).parents[1] / "mlflow_side"


def _mlflow_has_gitruns() -> bool:
    if MLFLOW_PYTHON is None:
        return False
    found = subprocess.run(
        [MLFLOW_PYTHON, "-c", "import gitruns.mlflow_bridge"], capture_output=True
    )
    return found.returncode == 0


needs_mlflow = pytest.mark.skipif(
    not _mlflow_has_gitruns(),
    reason="needs MLflow with gitruns in a side virtualenv (GITRUNS_TEST_MLFLOW_PYTHON; "
    "pip install -e '.[mlflow]' in it)",
)


def side_env(**extra: str) -> dict[str, str]:
    env = {
        **os.environ,
        "PYTHONPATH": str(SIDE),
        "MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR": "false",
        "GIT_AUTHOR_NAME": "Test User",
        "GIT_AUTHOR_EMAIL": "test@example.com",
        "GIT_COMMITTER_NAME": "Test User",
        "GIT_COMMITTER_EMAIL": "test@example.com",
        **extra,
    }
    for variable in ("MLFLOW_TRACKING_URI", "GITRUNS_DIR"):
        env.pop(variable, None)
    return env


def in_mlflow(args: list[str], cwd: Path, **env: str) -> str:
    """Run MLflow's interpreter; its stdout, or the test fails with its stderr."""
    assert MLFLOW_PYTHON is not None
    result = subprocess.run(
        [MLFLOW_PYTHON, *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=600,
        env=side_env(**env),
    )
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-4000:]
    return result.stdout


def gitruns_in_mlflow(cwd: Path, *args: str) -> str:
    return in_mlflow(["-m", "gitruns", *args], cwd)


def snapshot_of(uri: str, cwd: Path) -> dict:
    return json.loads(in_mlflow([str(SIDE / "snapshot.py"), uri], cwd).strip().splitlines()[-1])


@pytest.fixture(scope="module")
def mlflow_db(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict]:
    """A sqlite store MLflow wrote, and its picture taken with MLflow's client."""
    if not _mlflow_has_gitruns():
        pytest.skip("needs MLflow with gitruns in a side virtualenv")
    folder = tmp_path_factory.mktemp("mlflow-store")
    output = in_mlflow([str(SIDE / "write_store.py"), "sqlite:///mlflow.db"], folder)
    return folder / "mlflow.db", json.loads(output.strip().splitlines()[-1])


def without_own_user_tag(picture: dict) -> dict:
    """MLflow's client sets ``mlflow.user`` from a run's user; a run created without the
    tag gets it on the way back, with the same value."""
    for run in picture["runs"].values():
        if run["tags"].get("mlflow.user") == run["user"]:
            del run["tags"]["mlflow.user"]
    picture.pop("ids", None)
    return picture


def artifact_digests(folder: Path) -> dict[str, str]:
    return {
        path.relative_to(folder).as_posix(): hashlib.sha256(path.read_bytes()).hexdigest()
        for path in sorted(folder.rglob("*"))
        if path.is_file()
    }


@needs_mlflow
@pytest.mark.slow
def test_a_sqlite_store_imports_run_by_run_and_exports_back_the_same(
    tmp_path: Path, mlflow_db, monkeypatch
):
    database, picture = mlflow_db
    repo = make_repo(tmp_path / "project")
    monkeypatch.chdir(repo)
    output = gitruns_in_mlflow(repo, "import", "mlflow", f"sqlite:///{database}")
    assert "5 runs imported (22 metric values, 7 artifact files)" in output
    assert "2 model versions registered" in output and "could not" not in output

    # Run by run, as gitruns reads them: every param, tag, metric point and artifact byte.
    client = MlflowClient(tracking_uri=str(repo / "runs"))
    experiment = client.get_experiment_by_name("nyc-taxi-experiment")
    assert experiment.tags == {"team": "zoomcamp", "mlflow.note.content": "Taxi trips"}
    runs = client.search_runs([experiment.experiment_id, "default"], run_view_type=3)
    by_name = {run.info.run_name: run for run in runs}
    expected_runs = {key.split("/", 1)[1]: run for key, run in picture["runs"].items()}
    assert set(by_name) == set(expected_runs)
    for name, expected in expected_runs.items():
        run = by_name[name]
        assert run.info.status == expected["status"]
        assert (run.info.start_time, run.info.end_time) == (
            expected["start_time"],
            expected["end_time"],
        )
        assert run.data.params == expected["params"]
        tags = dict(run.data.tags)
        if "mlflow.parentRunId" in tags:
            tags["mlflow.parentRunId"] = client.get_run(tags["mlflow.parentRunId"]).info.run_name
        assert {k: v for k, v in tags.items() if k in expected["tags"]} == expected["tags"]
        for key, points in expected["metrics"].items():
            history = client.get_metric_history(run.info.run_id, key)
            assert sorted([m.step, m.timestamp, repr(m.value)] for m in history) == points
        _, run_dir = client.get_run_record(run.info.run_id)
        assert artifact_digests(run_dir / "artifacts") == expected["artifacts"]
    assert by_name["search"].info.run_id == picture["ids"]["search"]  # MLflow's ids kept

    # The registry: MLflow's version numbers (2 was deleted), stage, alias, tags, texts.
    model = client.get_registered_model("nyc-taxi-regressor")
    assert model.description == "Predicts duration" and model.tags == {"task": "regression"}
    versions = {v.version: v for v in client.search_model_versions("name='nyc-taxi-regressor'")}
    assert set(versions) == {1, 3}
    assert versions[1].current_stage == "Production" and versions[3].current_stage == "None"
    assert versions[3].tags == {"validated": "2"} and versions[3].description == "version 3"
    assert client.get_model_version_by_alias("nyc-taxi-regressor", "Champion").version == 3
    assert "nyc-taxi-regressor@v3.0.0" in git(repo, "tag").split()
    loaded = gitruns.pyfunc.load_model("models:/nyc-taxi-regressor@Champion")
    assert loaded.predict([[1.0, 2.0]]).shape == (1,)

    # Again: nothing twice.
    again = gitruns_in_mlflow(repo, "import", "mlflow", f"sqlite:///{database}")
    assert "0 runs imported" in again and "5 already there" in again
    assert "0 model versions registered" in again

    # Out to a new MLflow store: the same picture, whatever ids MLflow chose.
    back = tmp_path / "back.db"
    exported = gitruns_in_mlflow(repo, "export", "mlflow", f"sqlite:///{back}")
    assert "5 runs exported (22 metric values, 7 artifact files)" in exported
    assert without_own_user_tag(snapshot_of(f"sqlite:///{back}", repo)) == without_own_user_tag(
        dict(picture)
    )
    assert "0 runs exported" in gitruns_in_mlflow(repo, "export", "mlflow", f"sqlite:///{back}")


@needs_mlflow
@pytest.mark.slow
def test_runs_added_to_mlflow_after_an_import_come_in_alone(tmp_path: Path, mlflow_db):
    database, _ = mlflow_db
    copy = tmp_path / "mlflow.db"
    copy.write_bytes(database.read_bytes())
    repo = make_repo(tmp_path / "project")
    gitruns_in_mlflow(repo, "import", "mlflow", f"sqlite:///{copy}", "--no-registry")
    code = (
        "import mlflow, sys\n"
        "mlflow.set_tracking_uri(sys.argv[1])\n"
        "mlflow.set_experiment('nyc-taxi-experiment')\n"
        "with mlflow.start_run(run_name='late'):\n"
        "    mlflow.log_metric('rmse', 3.25)\n"
    )
    in_mlflow(["-c", code, f"sqlite:///{copy}"], tmp_path)
    output = gitruns_in_mlflow(
        repo, "import", "mlflow", f"sqlite:///{copy}", "--experiment", "nyc-taxi-experiment"
    )
    assert "1 runs imported (1 metric values" in output and "4 already there" in output
    client = MlflowClient(tracking_uri=str(repo / "runs"))
    (late,) = client.search_runs(["nyc-taxi-experiment"], "attributes.run_name = 'late'")
    assert late.data.metrics == {"rmse": 3.25}


@needs_mlflow
@pytest.mark.slow
def test_an_mlruns_folder_imports_and_a_link_in_it_stays_out(tmp_path: Path):
    store = tmp_path / "store"
    store.mkdir()
    in_mlflow(
        [str(SIDE / "write_store.py"), f"file:{store / 'mlruns'}"],
        store,
        MLFLOW_ALLOW_FILE_STORE="true",
    )
    notes = next((store / "mlruns").rglob("notes.txt"))
    os.symlink("/etc/passwd", notes.parent / "passwd")  # a hostile store's artifact
    repo = make_repo(tmp_path / "project")
    output = gitruns_in_mlflow(repo, "import", "mlflow", str(store / "mlruns"))
    assert "5 runs imported" in output
    assert "File passwd Invalid path: resolved path is outside the artifact directory" in output
    assert not list((repo / "runs").rglob("passwd"))
    assert len(list((repo / "runs").rglob("notes.txt"))) == 1
    # Nothing outside runs/ (a store's own MLflow client once made a database here).
    assert git(repo, "status", "--porcelain", "--untracked-files=all").strip() == ""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class MlflowServer:
    """``mlflow server`` on 127.0.0.1, started in MLflow's virtualenv."""

    def __init__(self, backend: str, cwd: Path, *options: str) -> None:
        assert MLFLOW_PYTHON is not None
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        mlflow_command = str(Path(MLFLOW_PYTHON).parent / "mlflow")
        self.log = (cwd / "server.log").open("w")
        self.process = subprocess.Popen(
            [
                mlflow_command,
                "server",
                "--backend-store-uri",
                backend,
                "--host",
                "127.0.0.1",
                "--port",
                str(self.port),
                "--workers",
                "1",
                *options,
            ],
            cwd=cwd,
            stdout=self.log,
            stderr=subprocess.STDOUT,
            env=side_env(),
        )

    def __enter__(self) -> MlflowServer:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            try:
                urllib.request.urlopen(f"{self.url}/health", timeout=2)
                return self
            except OSError:
                assert self.process.poll() is None, "mlflow server stopped"
                time.sleep(0.5)
        raise AssertionError("mlflow server did not answer in 120 s")

    def __exit__(self, *exc: object) -> None:
        self.process.terminate()
        self.process.wait(timeout=30)
        self.log.close()

    def call(self, method: str, path: str, body: dict | None = None, api: str = "api") -> dict:
        """MLflow's REST API (``api="ajax-api"``: the routes MLflow's UI calls)."""
        request = urllib.request.Request(
            f"{self.url}/{api}/2.0/mlflow/{path}",
            data=None if body is None else json.dumps(body).encode(),
            headers={"Content-Type": "application/json"},
            method=method,
        )
        with urllib.request.urlopen(request, timeout=30) as response:
            return json.loads(response.read())


@needs_mlflow
@pytest.mark.slow
def test_a_tracking_server_imports(tmp_path: Path, mlflow_db):
    database, _ = mlflow_db
    repo = make_repo(tmp_path / "project")
    with MlflowServer(f"sqlite:///{database}", database.parent) as server:
        output = gitruns_in_mlflow(repo, "import", "mlflow", server.url)
    assert "5 runs imported (22 metric values, 7 artifact files)" in output
    assert "2 model versions registered" in output


@needs_mlflow
@pytest.mark.slow
def test_mlflow_server_answers_with_gitruns_runs(repo: Path):
    gitruns.set_experiment("nyc-taxi-experiment")
    for alpha in (0.1, 0.5):
        with gitruns.start_run(run_name=f"alpha-{alpha}"):
            gitruns.log_param("alpha", alpha)
            gitruns.log_metric("rmse", 10 * alpha)
            gitruns.log_dict({"alpha": alpha}, "model/MLmodel.json")
            (Path("model.txt")).write_text(str(alpha))
            gitruns.log_artifact("model.txt", "model")
    best = gitruns.search_runs(order_by=["metrics.rmse"]).iloc[0]["run_id"]
    gitruns.register_model(f"runs:/{best}/model", "nyc-taxi-regressor")
    with MlflowServer("gitruns:./runs", repo) as server:
        found = server.call(
            "POST",
            "runs/search",
            {"experiment_ids": ["nyc-taxi-experiment"], "filter": "metrics.rmse < 3"},
        )
        models = server.call("GET", "registered-models/search")
        history = server.call("GET", f"metrics/get-history?run_id={best}&metric_key=rmse")
    assert [run["info"]["run_name"] for run in found["runs"]] == ["alpha-0.1"]
    assert found["runs"][0]["data"]["params"] == [{"key": "alpha", "value": "0.1"}]
    (model,) = models["registered_models"]
    assert model["name"] == "nyc-taxi-regressor"
    assert model["latest_versions"][0]["version"] == "1"
    assert model["latest_versions"][0]["run_id"] == best
    assert [point["value"] for point in history["metrics"]] == [1.0]


def status_of(server: MlflowServer, method: str, path: str, body: dict | None = None):
    """(HTTP status, MLflow's error code) of a request MLflow's client need not make."""
    import urllib.error

    try:
        server.call(method, path, body)
    except urllib.error.HTTPError as error:
        text = error.read().decode(errors="replace")
        try:
            return error.code, json.loads(text).get("error_code")
        except ValueError:
            return error.code, text[:80]
    return 200, None


@needs_mlflow
@pytest.mark.slow
def test_mlflow_server_answers_bad_requests_with_mlflows_4xx_codes(repo: Path):
    gitruns.set_experiment("nyc-taxi-experiment")
    with gitruns.start_run(run_name="fit") as run:
        gitruns.log_metric("rmse", 3.0)
        gitruns.log_input(gitruns.data.from_numpy(__import__("numpy").ones(3)), "training")
    run_id = run.info.run_id
    long = "a" * 5000
    bad = "INVALID_PARAMETER_VALUE"
    with MlflowServer("gitruns:./runs", repo) as server:
        answers = {
            "experiment id too long": status_of(
                server, "GET", f"experiments/get?experiment_id={long}"
            ),
            "run id too long": status_of(server, "GET", f"runs/get?run_id={long}"),
            "search in a long id": status_of(
                server, "POST", "runs/search", {"experiment_ids": [long]}
            ),
            "experiment name too long": status_of(
                server, "POST", "experiments/create", {"name": long}
            ),
            "model name too long": status_of(server, "GET", f"registered-models/get?name={long}"),
            "bad runs page token": status_of(
                server,
                "POST",
                "runs/search",
                {"experiment_ids": ["nyc-taxi-experiment"], "page_token": "garbage!!"},
            ),
            "bad experiments page token": status_of(
                server, "POST", "experiments/search", {"page_token": "zz"}
            ),
            "bad models page token": status_of(
                server, "GET", "registered-models/search?page_token=zz"
            ),
            "history of a long id": status_of(
                server, "GET", f"metrics/get-history?run_id={long}&metric_key=rmse"
            ),
            "artifacts leaving the run": status_of(
                server, "GET", f"artifacts/list?run_id={run_id}&path=../../.."
            ),
        }
        datasets = server.call(
            "POST",
            "experiments/search-datasets",
            {"experiment_ids": ["nyc-taxi-experiment"]},
            api="ajax-api",
        )
        # A write past what a record may hold is refused; the run stays readable.
        tags = [{"key": f"note-{i}", "value": "x" * 7900} for i in range(100)]
        for _ in range(6):
            last = status_of(server, "POST", "runs/log-batch", {"run_id": run_id, "tags": tags})
            tags = [{"key": t["key"] + "x", "value": t["value"]} for t in tags]
        still = server.call("GET", f"runs/get?run_id={run_id}")
        found = server.call(
            "POST",
            "runs/search",
            {"experiment_ids": ["nyc-taxi-experiment"], "filter": "metrics.rmse < 4"},
        )
    missing = (404, "RESOURCE_DOES_NOT_EXIST")  # an id no folder can have names nothing
    assert answers == {
        "experiment id too long": missing,
        "run id too long": missing,
        "search in a long id": missing,
        "experiment name too long": (400, bad),
        "model name too long": (400, bad),
        "bad runs page token": (400, bad),
        "bad experiments page token": (400, bad),
        "bad models page token": (400, bad),
        "history of a long id": missing,
        "artifacts leaving the run": (400, bad),
    }
    (summary,) = datasets["dataset_summaries"]
    assert summary["experiment_id"] == "nyc-taxi-experiment" and summary["context"] == "training"
    assert last == (400, bad)
    assert still["run"]["info"]["run_id"] == run_id
    assert [r["info"]["run_id"] for r in found["runs"]] == [run_id]


NOTEBOOK = """
import json, sys
import mlflow, numpy as np
from sklearn.linear_model import Ridge

mlflow.set_tracking_uri("gitruns:./runs")
mlflow.set_experiment("nyc-taxi-experiment")
x = np.arange(20, dtype=float).reshape(10, 2)
y = x @ np.array([1.5, -2.0])
out = {}
with mlflow.start_run() as run:
    mlflow.set_tag("developer", "ana")
    mlflow.log_params({"alpha": 0.1, "model": "ridge"})
    for step in range(3):
        mlflow.log_metric("rmse", 5.0 - step, step=step)
    mlflow.log_dict({"features": ["a", "b"]}, "config.json")
    info = mlflow.sklearn.log_model(Ridge(alpha=0.1).fit(x, y), name="model")
    mlflow.log_input(mlflow.data.from_numpy(x, name="train"), context="training")
    mlflow.MlflowClient().rename_experiment(run.info.experiment_id, "renamed")
    out["rename"] = mlflow.MlflowClient().get_experiment(run.info.experiment_id).name
version = mlflow.register_model(info.model_uri, "nyc-taxi-regressor")
client = mlflow.MlflowClient()
client.transition_model_version_stage("nyc-taxi-regressor", version.version, "Production")
client.set_registered_model_alias("nyc-taxi-regressor", "Champion", version.version)
loaded = mlflow.pyfunc.load_model("models:/nyc-taxi-regressor/Production")
out["predictions"] = loaded.predict(x[:2]).tolist()
out["expected"] = Ridge(alpha=0.1).fit(x, y).predict(x[:2]).tolist()
out["run_id"] = run.info.run_id
out["found"] = [r.info.run_id for r in client.search_runs(
    [run.info.experiment_id], "metrics.rmse < 4 and params.model = 'ridge'"
)]
out["history"] = [(m.step, m.value) for m in client.get_metric_history(run.info.run_id, "rmse")]
out["alias"] = client.get_model_version_by_alias("nyc-taxi-regressor", "Champion").version
out["inputs"] = [
    [item.dataset.name, item.tags[0].value]
    for item in client.get_run(run.info.run_id).inputs.dataset_inputs
]
try:
    client.get_logged_model("m-../../../etc-passwd")
except mlflow.exceptions.MlflowException as error:
    out["bad_model_id"] = error.error_code
print(json.dumps(out))
"""


@needs_mlflow
@pytest.mark.slow
def test_mlflow_itself_writes_gitruns_runs_through_the_gitruns_uri(tmp_path: Path):
    repo = make_repo(tmp_path / "project", {"train.py": "alpha = 0.1\n"})
    (repo / "train.py").write_text("alpha = 0.2  # not committed\n")  # a dirty tree
    (repo / "notebook.py").write_text(NOTEBOOK)
    out = json.loads(in_mlflow(["notebook.py"], repo).strip().splitlines()[-1])
    assert out["predictions"] == pytest.approx(out["expected"])
    assert out["found"] == [out["run_id"]]
    assert out["history"] == [[0, 5.0], [1, 4.0], [2, 3.0]]
    assert out["alias"] == 1  # an int, as MLflow's local stores give it
    assert out["rename"] == "renamed"
    assert out["inputs"] == [["train", "training"]]
    assert out["bad_model_id"] == "RESOURCE_DOES_NOT_EXIST"

    # What gitruns reads: the run as its own API writes it, code version included.
    client = MlflowClient(tracking_uri=str(repo / "runs"))
    record, run_dir = client.get_run_record(out["run_id"])
    assert record.status == "FINISHED" and record.params == {"alpha": "0.1", "model": "ridge"}
    assert record.git["commit"] == git(repo, "rev-list", "--max-parents=0", "HEAD").strip()
    assert record.git["dirty"] is True
    assert "alpha = 0.2" in (run_dir / "code.diff").read_text()
    assert "gitruns.git.diff" not in record.tags  # kept whole in code.diff instead
    assert record.tags["developer"] == "ana" and record.tags["gitruns.git.dirty"] == "true"
    assert (run_dir / "metrics.tsv").exists() and not (run_dir / "metrics.log").exists()
    assert (run_dir / "artifacts" / "model" / "MLmodel").is_file()
    assert json.loads((run_dir / "artifacts" / "config.json").read_text()) == {
        "features": ["a", "b"]
    }
    assert [entry["name"] for entry in record.inputs] == ["train"] and record.schema == 3
    tags = git(repo, "tag").split()
    assert "nyc-taxi-regressor@v1.0.0" in tags and "nyc-taxi-regressor#production#1" in tags
    version = client.get_model_version_by_alias("nyc-taxi-regressor", "Champion")
    assert version.version == 1 and version.run_id == out["run_id"]
    check = subprocess.run(
        [sys.executable, "-m", "gitruns", "check"], cwd=repo, capture_output=True, text=True
    )
    assert check.returncode == 0, check.stdout + check.stderr


@needs_mlflow
def test_the_artifact_repository_neither_writes_nor_reads_through_links(repo: Path):
    with gitruns.start_run() as run:
        gitruns.log_text("hello", "notes/hello.txt")
    artifacts = repo / "runs" / "default" / run.info.run_id / "artifacts"
    os.symlink(repo, artifacts / "linked")
    code = (
        "import sys\n"
        "from mlflow.exceptions import MlflowException\n"
        "from gitruns.mlflow_bridge.artifact_repo import GitrunsArtifactRepository as Repo\n"
        "repo = Repo('gitruns://' + sys.argv[1])\n"
        "print(sorted(f.path for f in repo.list_artifacts('notes')))\n"
        "for call in (lambda: repo.log_artifact(sys.argv[2], 'linked'),\n"
        "             lambda: repo.list_artifacts('linked'),\n"
        "             lambda: Repo('gitruns:///etc')):\n"
        "    try:\n"
        "        call()\n"
        "        print('allowed')\n"
        "    except MlflowException as error:\n"
        "        print('refused:', error.message[:60])\n"
    )
    source = repo / "source.txt"
    source.write_text("x")
    output = in_mlflow(["-c", code, str(artifacts), str(source)], repo).splitlines()
    assert output[0] == "['notes/hello.txt']"
    assert all(line.startswith("refused:") for line in output[1:]), output
    assert not (repo / "source.txt.linked").exists() and not (repo / "linked").exists()


def test_importing_from_a_database_that_is_not_there_says_so(repo: Path):
    result = subprocess.run(
        [sys.executable, "-m", "gitruns", "import", "mlflow", "sqlite:///missing/mlflow.db"],
        cwd=repo,
        capture_output=True,
        text=True,
    )
    assert result.returncode == 1
    assert "no MLflow database at missing/mlflow.db" in result.stderr
    assert not (repo / "missing").exists()
    result = subprocess.run(
        [sys.executable, "-m", "gitruns", "import", "mlflow", str(repo)],
        cwd=repo,
        capture_output=True,
        text=True,
    )
    assert result.returncode == 1 and "is not an MLflow mlruns/ folder" in result.stderr


def test_without_mlflow_the_import_says_what_to_install(repo: Path, tmp_path: Path):
    try:
        import mlflow  # noqa: F401

        pytest.skip("MLflow is installed in the test environment")
    except ImportError:
        pass
    (tmp_path / "mlflow.db").write_bytes(b"")
    result = subprocess.run(
        [sys.executable, "-m", "gitruns", "import", "mlflow", f"sqlite:///{tmp_path}/mlflow.db"],
        cwd=repo,
        capture_output=True,
        text=True,
    )
    assert result.returncode == 1
    assert "pip install 'gitruns[mlflow]'" in result.stderr


# -- an MLflow store is untrusted input ----------------------------------------------------

HOSTILE_STORE = """\
import mlflow, sys
from pathlib import Path
mlflow.set_tracking_uri(sys.argv[1])
mlflow.set_experiment("hostile")
key = "AKIA" + "IOSFODNN7EXAMPL3"
for name in ("plain", "secrets", "elsewhere", "broken"):
    with mlflow.start_run(run_name=name) as run:
        mlflow.log_param("alpha", 0.5)
        mlflow.log_metric("rmse", 3.0)
        mlflow.log_text("fine\\n", "notes.txt")
        if name == "secrets":
            mlflow.log_text("AWS_ACCESS_KEY_ID=" + key + "\\n", "config/settings.ini")
            mlflow.log_text("TOKEN=abc\\n", ".env")
            mlflow.log_text("-----BEGIN OPENSSH PRIVATE KEY-----\\n", "keys/id_rsa")
        print(name, run.info.run_id, run.info.artifact_uri)
"""


def hostile_store(tmp_path: Path) -> tuple[Path, dict[str, str], Path]:
    """An mlruns/ folder MLflow wrote, then edited as a hostile store would be: one run's
    artifacts said to be a folder of the user's home, one run's param not UTF-8."""
    store = tmp_path / "store"
    store.mkdir()
    printed = in_mlflow(
        ["-c", HOSTILE_STORE, f"file:{store / 'mlruns'}"], store, MLFLOW_ALLOW_FILE_STORE="true"
    )
    ids = {line.split()[0]: line.split()[1] for line in printed.splitlines() if line.strip()}
    private = Path(os.environ["HOME"]) / "private"
    private.mkdir()
    (private / "id_rsa").write_text("-----BEGIN OPENSSH PRIVATE KEY-----\nb3Blbn\n")
    (private / "diary.txt").write_text("my own words\n")
    (run_dir,) = (store / "mlruns").glob(f"*/{ids['elsewhere']}")
    meta = run_dir / "meta.yaml"
    lines = [
        f"artifact_uri: file://{private}" if line.startswith("artifact_uri:") else line
        for line in meta.read_text().splitlines()
    ]
    meta.write_text("\n".join(lines) + "\n")
    (broken,) = (store / "mlruns").glob(f"*/{ids['broken']}")
    (broken / "params" / "alpha").write_bytes(b"0.5\xff\xfe")
    return store / "mlruns", ids, private


@needs_mlflow
@pytest.mark.slow
def test_an_import_reads_artifacts_only_inside_the_store_and_leaves_secrets_out(tmp_path: Path):
    mlruns, ids, private = hostile_store(tmp_path)
    repo = make_repo(tmp_path / "project")

    output = " ".join(gitruns_in_mlflow(repo, "import", "mlflow", str(mlruns)).split())

    assert "3 runs imported" in output and "Traceback" not in output
    assert f"run {ids['elsewhere']} artifacts: its artifacts are at {private}, outside" in output
    assert f"run {ids['broken']}: UnicodeDecodeError" in output
    assert "artifact .env: its name says it holds secrets" in output
    assert "artifact keys/id_rsa: its name says it holds secrets" in output
    assert "artifact config/settings.ini: it holds a secret (AWS Access Key" in output
    runs = repo / "runs"
    assert not [p for p in runs.rglob("*") if p.name in ("id_rsa", ".env", "settings.ini")]
    assert not list(runs.rglob("diary.txt"))
    assert len(list(runs.rglob("notes.txt"))) == 2  # plain's and secrets'
    (elsewhere,) = runs.glob(f"*/{ids['elsewhere']}")
    assert not (elsewhere / "artifacts").exists()

    # The user names the folder: its files come in, but for the key.
    other = make_repo(tmp_path / "other")
    output = gitruns_in_mlflow(
        other, "import", "mlflow", str(mlruns), "--artifact-root", str(private)
    )
    (elsewhere,) = (other / "runs").glob(f"*/{ids['elsewhere']}")
    assert sorted(p.name for p in (elsewhere / "artifacts").iterdir()) == ["diary.txt"]
    assert "artifact id_rsa: its name says it holds secrets" in " ".join(output.split())


@needs_mlflow
@pytest.mark.slow
def test_an_import_never_replaces_a_run_it_did_not_make(tmp_path: Path, mlflow_db):
    database, picture = mlflow_db
    repo = make_repo(tmp_path / "project")
    gitruns_in_mlflow(repo, "import", "mlflow", f"sqlite:///{database}", "--no-registry")
    search_id = picture["ids"]["search"]
    (run_dir,) = (repo / "runs").glob(f"*/{search_id}")
    # A run of the user's own that happens to have this id, still running here.
    record = (run_dir / "run.yaml").read_text()
    record = record.replace("  gitruns.imported_from: mlflow\n", "")
    record = record.replace("status: FINISHED", "status: RUNNING")
    assert "imported_from" not in record and "status: RUNNING" in record
    (run_dir / "run.yaml").write_text(record)
    (run_dir / "mine.txt").write_text("my notes\n")
    before = {p.name: p.read_bytes() for p in run_dir.iterdir() if p.is_file()}

    output = " ".join(
        gitruns_in_mlflow(
            repo, "import", "mlflow", f"sqlite:///{database}", "--no-registry"
        ).split()
    )

    assert f"run {search_id}: a run with this id is here already and was not made by an " in output
    assert "0 runs imported" in output
    assert {p.name: p.read_bytes() for p in run_dir.iterdir() if p.is_file()} == before


@needs_mlflow
@pytest.mark.slow
def test_exported_runs_imported_back_are_the_same_runs(tmp_path: Path, monkeypatch):
    repo = make_repo(tmp_path / "project")
    monkeypatch.chdir(repo)
    gitruns.set_tracking_uri(str(repo / "runs"))
    for alpha in (0.1, 0.2):
        with gitruns.start_run():
            gitruns.log_param("alpha", alpha)
            gitruns.log_metric("rmse", alpha * 10)
    back = tmp_path / "back.db"
    assert "2 runs exported" in gitruns_in_mlflow(repo, "export", "mlflow", f"sqlite:///{back}")

    output = gitruns_in_mlflow(repo, "import", "mlflow", f"sqlite:///{back}")

    assert "0 runs imported" in output and "2 already there" in output
    assert len(list((repo / "runs").glob("*/" + "[0-9a-f]" * 32))) == 2


ARTIFACTS_THROUGH_A_SERVER = """
import json, sys, mlflow
mlflow.set_tracking_uri(sys.argv[1])
client = mlflow.MlflowClient()
experiment_id = client.create_experiment("served")
run = client.create_run(experiment_id)
with open("note.txt", "w") as file:
    file.write("logged through the server")
client.log_artifact(run.info.run_id, "note.txt", "notes")
print(json.dumps({
    "location": client.get_experiment(experiment_id).artifact_location,
    "uri": client.get_run(run.info.run_id).info.artifact_uri,
    "listed": [f.path for f in client.list_artifacts(run.info.run_id, "notes")],
    "run_id": run.info.run_id,
    "experiment_id": experiment_id,
}))
"""


@needs_mlflow
@pytest.mark.slow
def test_a_server_gives_remote_clients_artifact_uris_they_can_log_to(repo: Path):
    script = repo.parent / "served.py"
    script.write_text(ARTIFACTS_THROUGH_A_SERVER)
    # Proxied into the runs folder: each run's mlflow-artifacts: URI is its own folder.
    with MlflowServer("gitruns:./runs", repo, "--artifacts-destination", "./runs") as server:
        out = json.loads(in_mlflow([str(script), server.url], repo).strip().splitlines()[-1])
    assert out["uri"] == f"mlflow-artifacts:/served/{out['run_id']}/artifacts"
    assert out["location"] == "mlflow-artifacts:/served" and out["listed"] == ["notes/note.txt"]
    logged = repo / "runs" / "served" / out["run_id"] / "artifacts" / "notes" / "note.txt"
    assert logged.read_text() == "logged through the server"


@needs_mlflow
@pytest.mark.slow
def test_a_servers_default_artifact_root_is_honoured_as_mlflow_honours_it(repo: Path):
    script = repo.parent / "served.py"
    script.write_text(ARTIFACTS_THROUGH_A_SERVER)
    root = repo.parent / "artifact-root"
    options = ("--default-artifact-root", root.as_uri(), "--no-serve-artifacts")
    with MlflowServer("gitruns:./runs", repo, *options) as server:
        out = json.loads(in_mlflow([str(script), server.url], repo).strip().splitlines()[-1])
    assert out["location"] == f"{root.as_uri()}/{out['experiment_id']}"
    assert out["uri"] == f"{out['location']}/{out['run_id']}/artifacts"
    assert (root / "served" / out["run_id"] / "artifacts" / "notes" / "note.txt").exists()
    assert out["listed"] == ["notes/note.txt"]


@needs_mlflow
def test_search_runs_gives_the_frame_mlflow_gives(tmp_path: Path):
    """The same runs logged with MLflow and with gitruns: search_runs' columns, their
    kinds (float metrics, text params and tags, UTC times), the order (a run lacking the
    ordered metric last), what stands for a missing value (NaN, None), and which keys a
    filtered search has columns for are MLflow's."""
    pictures = {}
    for name in ("mlflow", "gitruns"):
        folder = make_repo(tmp_path / name)
        output = in_mlflow([str(SIDE / "search_frame.py"), name], folder)
        pictures[name] = json.loads(output.strip().splitlines()[-1])
    assert pictures["gitruns"] == pictures["mlflow"]
    third = pictures["gitruns"]["rows"][-1]  # no rmse: last, whatever the direction
    assert third["tags.mlflow.runName"] == "third" and third["metrics.rmse"] == "NaN"
    assert third["metrics.mae"] == 3.0 and third["params.depth"] == "5"
    assert pictures["gitruns"]["second"] == ["metrics.rmse", "params.alpha"]
