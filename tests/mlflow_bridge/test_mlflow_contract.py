"""MLflow's contract for a store, held by gitruns' plugin: what MLflow's own tests of its
tracking and registry APIs found, one test a class, each run by real MLflow (the side
virtualenv) against a ``gitruns:`` store."""

from __future__ import annotations

import json
from pathlib import Path

from tests.mlflow_bridge.test_mlflow_bridge import in_mlflow, needs_mlflow

pytestmark = needs_mlflow

PRELUDE = """
import json, sys
import mlflow
from mlflow import MlflowClient
from mlflow.exceptions import MlflowException

mlflow.set_tracking_uri("gitruns:./runs")
client = MlflowClient()
out = {}


def code_of(call):
    try:
        call()
    except MlflowException as error:
        return error.error_code
    return "no error"
"""


def run_in_mlflow(repo: Path, body: str) -> dict:
    script = repo.parent / "contract.py"
    script.write_text(PRELUDE + body + "\nprint(json.dumps(out))\n")
    return json.loads(in_mlflow([str(script)], repo).strip().splitlines()[-1])


def test_model_searches_take_mlflows_grammar_order_and_pages(repo: Path):
    found = run_in_mlflow(
        repo,
        """
mlflow.set_experiment("e")
with mlflow.start_run() as run:
    mlflow.log_text("flavors: {}", "model/MLmodel")
for name, team in (("taxi-a", "pricing"), ("taxi-b", "pricing"), ("other", "ops")):
    client.create_registered_model(name, tags={"team": team})
    client.create_model_version(name, f"runs:/{run.info.run_id}/model", run.info.run_id)
client.create_model_version("taxi-a", f"runs:/{run.info.run_id}/model", run.info.run_id)
names = lambda models: [m.name for m in models]
out["all"] = names(client.search_registered_models())
out["like"] = names(client.search_registered_models("name LIKE 'taxi%'"))
out["ilike"] = names(client.search_registered_models("name ILIKE 'TAXI-_'"))
out["tag"] = names(client.search_registered_models("tags.team = 'ops'"))
out["in"] = names(client.search_registered_models("name IN ('other', 'taxi-b')"))
out["desc"] = names(client.search_registered_models(order_by=["name DESC"]))
first = client.search_registered_models(max_results=2)
second = client.search_registered_models(max_results=2, page_token=first.token)
out["pages"] = [names(first), names(second)]
out["versions"] = sorted(
    (v.name, str(v.version))
    for v in client.search_model_versions(f"run_id = '{run.info.run_id}'")
)
out["newest"] = [
    (v.name, str(v.version)) for v in client.search_model_versions("name = 'taxi-a'")
]
out["by_number"] = [
    str(v.version) for v in client.search_model_versions("name = 'taxi-a' AND version_number > 1")
]
out["bad_filter"] = code_of(lambda: client.search_registered_models("name ~ 'x'"))
out["bad_size"] = code_of(lambda: client.search_registered_models(max_results=5000))
""",
    )
    assert found["all"] == ["other", "taxi-a", "taxi-b"]
    assert found["like"] == ["taxi-a", "taxi-b"] == found["ilike"]
    assert found["tag"] == ["other"]
    assert found["in"] == ["other", "taxi-b"]
    assert found["desc"] == ["taxi-b", "taxi-a", "other"]
    assert found["pages"] == [["other", "taxi-a"], ["taxi-b"]]
    assert found["versions"] == [["other", "1"], ["taxi-a", "1"], ["taxi-a", "2"], ["taxi-b", "1"]]
    assert found["newest"] == [["taxi-a", "2"], ["taxi-a", "1"]]
    assert found["by_number"] == ["2"]
    assert found["bad_filter"] == found["bad_size"] == "INVALID_PARAMETER_VALUE"


def test_resuming_an_ended_run_makes_it_running_until_it_ends_again(repo: Path):
    found = run_in_mlflow(
        repo,
        """
import time
mlflow.set_experiment("e")
with mlflow.start_run() as run:
    mlflow.log_metric("m", 1.0, step=0)
run_id = run.info.run_id
first_end = client.get_run(run_id).info.end_time
time.sleep(0.01)
with mlflow.start_run(run_id=run_id):
    out["during"] = [client.get_run(run_id).info.status, client.get_run(run_id).info.end_time]
    mlflow.log_metric("m", 2.0, step=1)
ended = client.get_run(run_id).info
out["after"] = ended.status
out["ended_later"] = ended.end_time > first_end
out["history"] = [m.value for m in client.get_metric_history(run_id, "m")]
try:
    with mlflow.start_run(run_id=run_id):
        raise ValueError("broken")
except ValueError:
    pass
out["failed"] = client.get_run(run_id).info.status
""",
    )
    assert found["during"] == ["RUNNING", None]
    assert found["after"] == "FINISHED" and found["ended_later"]
    assert found["history"] == [1.0, 2.0]
    assert found["failed"] == "FAILED"


def test_keys_and_batches_are_checked_as_mlflow_checks_them(repo: Path):
    found = run_in_mlflow(
        repo,
        """
from mlflow.entities import Param
mlflow.set_experiment("e")
run_id = client.create_run(mlflow.get_experiment_by_name("e").experiment_id).info.run_id
client.log_metric(run_id, "eval:rmse", 1.5)
client.log_param(run_id, "fold:1", "x")
client.set_tag(run_id, "owner:team", "pricing")
data = client.get_run(run_id).data
out["colons"] = [data.metrics, data.params, data.tags["owner:team"]]
out["duplicate"] = code_of(
    lambda: client.log_batch(run_id, params=[Param("a", "1"), Param("a", "2")])
)
out["kept_out"] = "a" not in client.get_run(run_id).data.params
out["climbing"] = code_of(lambda: client.log_metric(run_id, "../up", 1.0))
""",
    )
    assert found["colons"] == [{"eval:rmse": 1.5}, {"fold:1": "x"}, "pricing"]
    assert found["duplicate"] == "INVALID_PARAMETER_VALUE" and found["kept_out"]
    assert found["climbing"] == "INVALID_PARAMETER_VALUE"


def test_a_version_is_what_its_caller_says_even_where_its_model_is_not_here(repo: Path):
    found = run_in_mlflow(
        repo,
        """
mlflow.set_experiment("e")
with mlflow.start_run() as run:
    pass  # no model logged
client.create_registered_model("m")
elsewhere = client.create_model_version("m", "s3://bucket/models/m", "run12345")
empty = client.create_model_version("m", f"runs:/{run.info.run_id}/model", run.info.run_id)
again = client.get_model_version("m", elsewhere.version)
out["elsewhere"] = [str(elsewhere.version), elsewhere.source, elsewhere.run_id]
out["again"] = [again.source, again.run_id]
out["empty"] = [str(empty.version), empty.source, empty.run_id == run.info.run_id]
for version in (elsewhere.version, empty.version):
    try:
        mlflow.pyfunc.load_model(f"models:/m/{version}")
        out.setdefault("loads", []).append("loaded")
    except Exception as error:
        out.setdefault("loads", []).append(str(error))
""",
    )
    assert found["elsewhere"] == ["1", "s3://bucket/models/m", "run12345"]
    assert found["again"] == ["s3://bucket/models/m", "run12345"]
    assert found["empty"][0] == "2" and found["empty"][1].endswith("/model") and found["empty"][2]
    not_here, no_model = found["loads"]
    assert "s3://bucket/models/m" in not_here
    assert "no model" in no_model or "MLmodel" in no_model


def test_the_default_experiment_is_zero_on_a_new_store(repo: Path):
    found = run_in_mlflow(
        repo,
        """
out["listed"] = [(e.experiment_id, e.name) for e in client.search_experiments()]
out["zero"] = client.get_experiment("0").name
out["by_name"] = mlflow.get_experiment_by_name("Default").experiment_id
with mlflow.start_run() as run:
    pass
out["run"] = run.info.experiment_id
out["found"] = [r.info.run_id == run.info.run_id for r in client.search_runs(["0"])]
""",
    )
    assert found["listed"] == [["0", "Default"]]
    assert found["zero"] == "Default" and found["by_name"] == "0" == found["run"]
    assert found["found"] == [True]
    assert (repo / "runs" / "default").is_dir()  # the folder keeps its name


def test_a_runs_artifact_uri_is_one_mlflows_own_code_reads(repo: Path):
    found = run_in_mlflow(
        repo,
        """
import os
from mlflow.utils.file_utils import local_file_uri_to_path
mlflow.set_experiment("e")
with mlflow.start_run() as run:
    mlflow.log_text("hello", "notes/readme.txt")
    folder = local_file_uri_to_path(mlflow.get_artifact_uri())
    out["uri"] = mlflow.get_artifact_uri()
out["read"] = open(os.path.join(folder, "notes", "readme.txt")).read()
out["folder"] = folder
""",
    )
    assert found["uri"].startswith("file://") and found["read"] == "hello"
    assert Path(found["folder"]).parent.parent.parent == (repo / "runs").resolve()


def test_mlflow_reads_back_the_tags_it_wrote_and_its_dataset_tags_in_order(repo: Path):
    found = run_in_mlflow(
        repo,
        """
import numpy as np
mlflow.set_experiment("e")
with mlflow.start_run() as run:
    mlflow.set_tags({"a": "1", "b": "2"})
    dataset = mlflow.data.from_numpy(np.arange(6).reshape(3, 2), name="train")
    mlflow.log_input(dataset, context="training", tags={"foo": "baz"})
got = client.get_run(run.info.run_id)
out["tags"] = sorted(got.data.tags)
out["input_tags"] = [(t.key, t.value) for t in got.inputs.dataset_inputs[0].tags]
""",
    )
    assert "mlflow.source.git.commit" not in found["tags"]  # MLflow set no such tag here
    assert {"a", "b", "mlflow.runName", "mlflow.source.type"} <= set(found["tags"])
    assert found["input_tags"] == [["foo", "baz"], ["mlflow.data.context", "training"]]
    record = next((repo / "runs").glob("*/*/run.yaml")).read_text()
    assert "commit:" in record  # gitruns' own capture is still kept


def test_registry_timestamps_are_milliseconds_and_order_versions_as_made(repo: Path):
    found = run_in_mlflow(
        repo,
        """
import time
now = lambda: int(time.time() * 1000)
started = now()
client.create_registered_model("first")
version = client.create_model_version("first", "s3://bucket/first", "run1")
out["created"] = version.creation_timestamp >= started
for name in ("second", "third"):
    client.create_model_version(name, f"s3://bucket/{name}", "run1")
before_update = now()
client.update_registered_model("first", "a description")
model = client.get_registered_model("first")
out["updated"] = [model.last_updated_timestamp >= before_update, model.description]
out["newest_first"] = [v.name for v in client.search_model_versions()]
""",
    )
    assert found["created"]
    assert found["updated"] == [True, "a description"]
    assert found["newest_first"] == ["third", "second", "first"]


def test_a_metric_history_pages_with_mlflows_tokens_and_refuses_a_bad_one(repo: Path):
    found = run_in_mlflow(
        repo,
        """
from mlflow.tracking._tracking_service.utils import _get_store
mlflow.set_experiment("e")
with mlflow.start_run() as run:
    for step in range(10):
        mlflow.log_metric("m", float(step), step=step)
store = _get_store()
first = store.get_metric_history(run.info.run_id, "m", max_results=4)
second = store.get_metric_history(run.info.run_id, "m", max_results=4, page_token=first.token)
out["pages"] = [[m.step for m in first], [m.step for m in second]]
out["bad"] = code_of(
    lambda: store.get_metric_history(run.info.run_id, "m", max_results=4, page_token="bad")
)
out["bad_alone"] = code_of(lambda: store.get_metric_history(run.info.run_id, "m", page_token="x"))
""",
    )
    assert found["pages"] == [[0, 1, 2, 3], [4, 5, 6, 7]]
    assert found["bad"] == "INVALID_PARAMETER_VALUE" == found["bad_alone"]


def test_a_missing_tag_is_not_found_and_a_local_artifact_location_absolute(repo: Path):
    found = run_in_mlflow(
        repo,
        """
import os
experiment_id = client.create_experiment("located", artifact_location="my_location")
out["location"] = client.get_experiment(experiment_id).artifact_location
out["cwd"] = os.getcwd()
run_id = client.create_run(experiment_id).info.run_id
client.set_tag(run_id, "kept", "1")
client.delete_tag(run_id, "kept")
out["missing"] = code_of(lambda: client.delete_tag(run_id, "kept"))
out["uri"] = client.get_run(run_id).info.artifact_uri
with open("weights.txt", "w") as file:
    file.write("0.5")
client.log_artifact(run_id, "weights.txt")
out["listed"] = [f.path for f in client.list_artifacts(run_id)]
""",
    )
    location = Path(found["cwd"]) / "my_location"
    assert found["location"] == str(location)
    assert found["missing"] == "RESOURCE_DOES_NOT_EXIST"
    # MLflow puts the artifacts of an experiment's runs where its location says
    run_id = found["uri"].split("/")[-2]
    assert found["uri"] == f"{location}/{run_id}/artifacts"
    assert (location / run_id / "artifacts" / "weights.txt").read_text() == "0.5"
    assert found["listed"] == ["weights.txt"]


def test_a_registered_model_comes_back_with_the_tags_it_was_made_with(repo: Path):
    found = run_in_mlflow(
        repo,
        """
made = client.create_registered_model("tagged", tags={"key": "value", "n": "12345"})
out["made"] = made.tags
out["read"] = client.get_registered_model("tagged").tags
""",
    )
    assert found["made"] == found["read"] == {"key": "value", "n": "12345"}


def test_the_default_experiments_datasets_are_listed_under_zero(repo: Path):
    found = run_in_mlflow(
        repo,
        """
import numpy as np
from mlflow.tracking._tracking_service.utils import _get_store
with mlflow.start_run():
    mlflow.log_input(mlflow.data.from_numpy(np.arange(4.0), name="train"), context="training")
out["summaries"] = [
    [s.experiment_id, s.name, s.context] for s in _get_store()._search_datasets(["0"])
]
""",
    )
    assert found["summaries"] == [["0", "train", "training"]]


def test_a_logged_model_without_a_run_has_a_folder_of_its_own(repo: Path):
    found = run_in_mlflow(
        repo,
        """
import time
from mlflow.entities import LoggedModelStatus
from mlflow.entities.logged_model_output import LoggedModelOutput

exp = client.create_experiment("models")
first = client.create_logged_model(exp, name="first", params={"alpha": "1"}, tags={"t": "1"})
time.sleep(0.002)
second = client.create_logged_model(exp, model_type="LLM", source_run_id="not-here")
out["ids"] = [first.model_id, second.model_id]
out["pending"] = str(first.status)
out["ready"] = str(client.finalize_logged_model(first.model_id, LoggedModelStatus.READY).status)
client.set_logged_model_tags(first.model_id, {"t": "2", "u": "3"})
client.delete_logged_model_tag(first.model_id, "u")
client.log_model_params(first.model_id, {"beta": "2"})
got = client.get_logged_model(first.model_id)
out["got"] = [got.name, got.tags, got.params, second.model_type, second.source_run_id]
run = client.create_run(exp)
client.log_metric(run.info.run_id, "rmse", 0.5, timestamp=123, step=1,
                  dataset_name="valid", dataset_digest="abc", model_id=first.model_id)
metric = client.get_logged_model(first.model_id).metrics[0]
out["metric"] = [metric.key, metric.value, metric.step, metric.dataset_name, metric.run_id]
out["run_metric"] = client.get_run(run.info.run_id).data.metrics
client.log_outputs(run.info.run_id, [LoggedModelOutput(first.model_id, 1)])
out["outputs"] = [o.model_id for o in client.get_run(run.info.run_id).outputs.model_outputs]
from mlflow.entities import LoggedModelInput
client.log_inputs(run.info.run_id, models=[LoggedModelInput(second.model_id)])
out["inputs"] = [i.model_id for i in client.get_run(run.info.run_id).inputs.model_inputs]
names = lambda page: [m.name for m in page]
out["newest_first"] = names(client.search_logged_models([exp]))
out["by_name"] = names(client.search_logged_models([exp], filter_string="name = 'first'"))
out["by_metric"] = names(client.search_logged_models([exp], filter_string="metrics.rmse < 1"))
out["by_data"] = names(client.search_logged_models([exp], datasets=[{"dataset_name": "valid"}]))
out["oldest_first"] = names(client.search_logged_models(
    [exp], order_by=[{"field_name": "creation_timestamp", "ascending": True}]))
page = client.search_logged_models([exp], max_results=1)
rest = client.search_logged_models([exp], max_results=1, page_token=page.token)
out["pages"] = [names(page), names(rest)]
client.delete_logged_model(second.model_id)
out["deleted"] = code_of(lambda: client.get_logged_model(second.model_id))
out["after_delete"] = names(client.search_logged_models([exp]))
out["unknown"] = code_of(lambda: client.get_logged_model("m-" + "0" * 32))
try:
    client.get_logged_model("1234")
except MlflowException as error:
    out["not_an_id"] = str(error)
out["hostile"] = code_of(lambda: client.get_logged_model("m-../../etc"))

class Echo(mlflow.pyfunc.PythonModel):
    def predict(self, context, model_input):
        return model_input

mlflow.set_experiment(experiment_id=exp)
info = mlflow.pyfunc.log_model(name="echo", python_model=Echo())
out["loaded"] = list(mlflow.pyfunc.load_model(info.model_uri).predict([1, 2]))
out["artifact_location"] = client.get_logged_model(info.model_id).artifact_location
with mlflow.start_run():
    in_run = mlflow.pyfunc.log_model(name="echo", python_model=Echo())
client.delete_logged_model(in_run.model_id)
out["run_model_deleted"] = code_of(lambda: client.get_logged_model(in_run.model_id))
listed = [m.model_id for m in client.search_logged_models([exp])]
out["run_model_listed"] = in_run.model_id in listed
""",
    )
    first, second = found["ids"]
    assert found["pending"] == "PENDING" and found["ready"] == "READY"
    assert found["got"] == ["first", {"t": "2"}, {"alpha": "1", "beta": "2"}, "LLM", "not-here"]
    assert found["metric"][:4] == ["rmse", 0.5, 1, "valid"]
    assert found["run_metric"] == {"rmse": 0.5}  # the run has the value too
    assert found["outputs"] == [first]
    assert found["inputs"] == [second]
    assert found["not_an_id"].startswith("Logged model with ID '1234' not found")
    assert found["run_model_deleted"] == "RESOURCE_DOES_NOT_EXIST"
    assert found["run_model_listed"] is False
    assert found["newest_first"][1] == "first" and found["by_name"] == ["first"]
    assert found["by_metric"] == ["first"] == found["by_data"]
    assert found["oldest_first"][0] == "first"
    assert found["pages"][0] == found["newest_first"][:1]
    assert found["pages"][1] == found["newest_first"][1:2]
    assert found["deleted"] == "RESOURCE_DOES_NOT_EXIST" == found["unknown"]
    assert found["hostile"] in ("RESOURCE_DOES_NOT_EXIST", "INVALID_PARAMETER_VALUE")
    assert second not in found["after_delete"] and "first" in found["after_delete"]
    assert found["loaded"] == [1, 2]
    folder = Path(found["artifact_location"].removeprefix("file://"))
    assert (folder / "MLmodel").is_file()
    assert folder.parent.parent.name == "models" and folder.is_relative_to(repo / "runs")
    record = (folder.parent / "model.yaml").read_text()
    assert "schema: 1" in record and "deleted" not in record


def test_mlflow_renames_an_experiment_and_finds_it_by_its_new_name(repo: Path):
    found = run_in_mlflow(
        repo,
        """
experiment_id = client.create_experiment("BadName")
client.rename_experiment(experiment_id, "GoodName")
out["name"] = client.get_experiment(experiment_id).name
out["by_name"] = client.get_experiment_by_name("GoodName").experiment_id == experiment_id
out["old"] = client.get_experiment_by_name("BadName")
other = client.create_experiment("Other")
out["taken"] = code_of(lambda: client.rename_experiment(other, "GoodName"))
""",
    )
    assert found["name"] == "GoodName" and found["by_name"] and found["old"] is None
    assert found["taken"] == "RESOURCE_ALREADY_EXISTS"


def test_a_deleted_run_takes_nothing_and_refusals_name_the_entry_and_the_feature(repo: Path):
    found = run_in_mlflow(
        repo,
        """
from mlflow.entities import Metric
run = client.create_run("0")
run_id = run.info.run_id
bad = [Metric("rmse", 1.0, 0, 0), Metric("../up", 1.0, 0, 0)]
try:
    client.log_batch(run_id, metrics=bad)
except MlflowException as error:
    out["batch"] = [error.error_code, str(error)]
out["fields"] = []
for metric in (Metric("m", "high", 0, 0), Metric("m", 1.0, "now", 0), Metric("m", 1.0, 0, "one")):
    try:
        client.log_batch(run_id, metrics=[metric])
    except MlflowException as error:
        out["fields"].append(str(error).split(" supplied")[0])
try:
    client.log_metric(run_id, "m", "apple")
except MlflowException as error:
    out["single"] = str(error)
client.set_tag(run_id, "kept", "yes")
client.delete_run(run_id)
out["deleted_tag"] = code_of(lambda: client.delete_tag(run_id, "kept"))
try:
    client.log_param(run_id, "alpha", "1")
except MlflowException as error:
    out["deleted_param"] = str(error)
client.restore_run(run_id)
client.log_param(run_id, "alpha", "1")
out["restored"] = client.get_run(run_id).data.params
store = mlflow.tracking._tracking_service.utils._get_store()
try:
    store.add_dataset_to_experiments("d-1", ["0"])
except MlflowException as error:
    out["feature"] = [error.error_code, str(error)]
""",
    )
    code, message = found["batch"]
    assert code == "INVALID_PARAMETER_VALUE"
    assert """Invalid value "../up" for parameter 'metrics[1].name'""" in message
    assert found["fields"] == [
        """Invalid value "high" for parameter 'metrics[0].value'""",
        """Invalid value "now" for parameter 'metrics[0].timestamp'""",
        """Invalid value "one" for parameter 'metrics[0].step'""",
    ]
    assert found["single"].startswith("""Invalid value "apple" for parameter 'value' supplied""")
    assert "Please specify value as a valid double" in found["single"]
    assert found["deleted_tag"] == "INVALID_PARAMETER_VALUE"
    assert "must be in the 'active' state" in found["deleted_param"]
    assert found["restored"] == {"alpha": "1"}
    assert found["feature"][0] == "NOT_IMPLEMENTED"
    assert "Evaluation datasets (add_dataset_to_experiments)" in found["feature"][1]


def test_experiments_are_searched_newest_first_with_mlflows_grammar(repo: Path):
    found = run_in_mlflow(
        repo,
        """
import time
out["fresh"] = [e.name for e in client.search_experiments()]
for name, tags in (("a", {"key": "value"}), ("ab", {"key": "vaLue"}), ("Abc", None)):
    time.sleep(0.001)  # finer than the kernel's file times
    client.create_experiment(name, tags=tags)
names = lambda found: [e.name for e in found]
out["newest"] = names(client.search_experiments(filter_string="attribute.name != 'a'"))
out["like"] = names(client.search_experiments(filter_string="name LIKE 'a%'"))
out["ilike_tag"] = names(client.search_experiments(filter_string="tag.key ILIKE '%alu%'"))
out["by_name"] = names(client.search_experiments(order_by=["name DESC"]))
page = client.search_experiments(max_results=2)
out["pages"] = [names(page), names(client.search_experiments(page_token=page.token))]
time.sleep(0.001)
client.delete_experiment(client.get_experiment_by_name("ab").experiment_id)
out["after_delete"] = names(client.search_experiments(view_type=3))
""",
    )
    assert found["fresh"] == ["Default"]
    assert found["newest"] == ["Abc", "ab", "Default"]
    assert found["like"] == ["ab", "a"] == found["ilike_tag"]
    assert found["by_name"] == ["ab", "a", "Default", "Abc"]
    assert found["pages"] == [["Abc", "ab"], ["a", "Default"]]
    assert found["after_delete"] == ["Abc", "ab", "a", "Default"]  # made, not changed


def test_latest_is_the_highest_version_and_a_missing_alias_is_mlflows_not_found(repo: Path):
    found = run_in_mlflow(
        repo,
        """
client.create_registered_model("m")
with mlflow.start_run() as run:
    mlflow.log_text("flavors: {}", "model/MLmodel")
for _ in range(2):
    client.create_model_version("m", f"runs:/{run.info.run_id}/model", run.info.run_id)
out["latest"] = str(client.get_model_version_by_alias("m", "latest").version)
try:
    client.get_model_version_by_alias("m", "champion")
except MlflowException as error:
    out["missing"] = [error.error_code, str(error)]
client.create_registered_model("empty")
out["no_latest"] = code_of(lambda: client.get_model_version_by_alias("empty", "latest"))
out["no_model"] = code_of(lambda: client.get_model_version_by_alias("none", "champion"))
""",
    )
    assert found["latest"] == "2"
    assert found["missing"][0] == "INVALID_PARAMETER_VALUE"
    assert found["missing"][1].startswith("Registered model alias champion not found.")
    assert found["no_latest"] == "RESOURCE_DOES_NOT_EXIST" == found["no_model"]


def test_renaming_a_model_with_no_version_yet_is_an_update(repo: Path):
    found = run_in_mlflow(
        repo,
        """
import time
client.create_registered_model("first")
time.sleep(0.05)
before = int(time.time() * 1000)
client.rename_registered_model("first", "second")
model = client.get_registered_model("second")
out["updated_after"] = model.last_updated_timestamp >= before
out["created_before"] = model.creation_timestamp < before
""",
    )
    assert found == {"updated_after": True, "created_before": True}


def test_a_runs_whole_artifacts_folder_can_be_a_version_as_a_path_or_a_file_uri(repo: Path):
    found = run_in_mlflow(
        repo,
        """
client.create_registered_model("m")
run = client.create_run("0")
uri = run.info.artifact_uri
out["sources"] = [
    client.create_model_version("m", source, run.info.run_id).source
    for source in (uri, uri[len("file://"):])
]
out["run_ids"] = [v.run_id for v in client.search_model_versions("name = 'm'")]
""",
    )
    assert found["sources"][0].startswith("file://") and found["sources"][0].endswith("artifacts")
    assert found["sources"][1].startswith("/")
    assert len(set(found["run_ids"])) == 1 and found["run_ids"][0]


def test_a_prompts_text_is_held_to_mlflows_tag_limit(repo: Path):
    found = run_in_mlflow(
        repo,
        """
from mlflow.utils.validation import MAX_MODEL_REGISTRY_TAG_VALUE_LENGTH as LIMIT
try:
    client.register_prompt("long", "x" * (LIMIT + 1))
except MlflowException as error:
    out["long"] = [error.error_code, str(error)]
out["short"] = client.register_prompt("short", "Hello {{name}}").version
""",
    )
    assert found["long"][0] == "INVALID_PARAMETER_VALUE"
    assert found["long"][1].startswith("Prompt text exceeds max length of")
    assert found["short"] == 1
