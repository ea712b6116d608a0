"""MlflowClient and the fluent search functions, as MLflow code and the course use them."""

from __future__ import annotations

import logging
import os
import shutil
import time
from pathlib import Path

import pandas as pd
import pytest

import gitruns
import gitruns as mlflow
from gitruns import MlflowClient
from gitruns.entities import Metric, Param, RunTag, ViewType
from gitruns.exceptions import ExperimentNotFound, GitrunsError, InvalidPath, InvalidValue
from gitruns.store import session
from gitruns.store.check import check_runs
from gitruns.store.record import FINISHED
from gitruns.store.session import FLUSH_INTERVAL_SECONDS
from tests.conftest import git


@pytest.fixture()
def experiment(repo: Path) -> str:
    mlflow.set_experiment("nyc-taxi-experiment")
    for alpha, rmse in [(0.1, 6.9), (0.01, 6.4), (0.001, 7.5), (1.0, 8.1)]:
        with mlflow.start_run():
            mlflow.set_tag("model", "lasso")
            mlflow.log_param("alpha", alpha)
            mlflow.log_metric("rmse", rmse)
    return "nyc-taxi-experiment"


def test_client_is_importable_where_mlflow_code_looks():
    assert gitruns.MlflowClient is gitruns.tracking.MlflowClient is gitruns.client.MlflowClient
    assert mlflow.entities.ViewType.ACTIVE_ONLY == 1


def test_the_course_model_registry_search(experiment: str):
    client = MlflowClient(tracking_uri="sqlite:///mlflow.db")
    runs = client.search_runs(
        experiment_ids=client.get_experiment_by_name("nyc-taxi-experiment").experiment_id,
        filter_string="metrics.rmse < 7",
        run_view_type=ViewType.ACTIVE_ONLY,
        max_results=5,
        order_by=["metrics.rmse ASC"],
    )
    assert [run.data.metrics["rmse"] for run in runs] == [6.4, 6.9]
    assert [run.data.params["alpha"] for run in runs] == ["0.01", "0.1"]
    assert runs.token is None
    for run in runs:
        assert len(run.info.run_id) == 32 and run.info.experiment_id == experiment


def test_search_pages_with_tokens(experiment: str):
    client = MlflowClient()
    first = client.search_runs([experiment], max_results=3, order_by=["metrics.rmse"])
    assert len(first) == 3 and first.token
    second = client.search_runs(
        [experiment], max_results=3, order_by=["metrics.rmse"], page_token=first.token
    )
    assert len(second) == 1 and second.token is None
    everything = [run.info.run_id for run in (*first, *second)]
    assert len(set(everything)) == 4
    with pytest.raises(InvalidValue, match="page_token"):
        client.search_runs([experiment], page_token="garbage!")
    with pytest.raises(InvalidValue, match="max_results"):
        client.search_runs([experiment], max_results=0)


def test_soft_delete_and_restore_runs(experiment: str):
    client = MlflowClient()
    worst = client.search_runs(experiment, order_by=["metrics.rmse DESC"], max_results=1)[0]
    client.delete_run(worst.info.run_id)
    assert len(client.search_runs(experiment)) == 3
    deleted = client.search_runs(experiment, run_view_type=ViewType.DELETED_ONLY)
    assert [run.info.run_id for run in deleted] == [worst.info.run_id]
    assert deleted[0].info.lifecycle_stage == "deleted"
    assert len(client.search_runs(experiment, run_view_type=ViewType.ALL)) == 4
    assert client.get_run(worst.info.run_id).info.lifecycle_stage == "deleted"
    client.restore_run(worst.info.run_id)
    assert len(client.search_runs(experiment)) == 4


def test_experiments_create_search_delete_restore(repo: Path):
    client = MlflowClient()
    experiment_id = client.create_experiment("my-cool-experiment")
    assert client.get_experiment(experiment_id).name == "my-cool-experiment"
    client.create_experiment("other")
    with pytest.raises(GitrunsError, match="already exists"):
        client.create_experiment("other")
    # MLflow's Default experiment (id "0") is always there, as in MLflow's own stores.
    assert [e.name for e in client.search_experiments()] == [
        "Default",
        "my-cool-experiment",
        "other",
    ]
    assert [e.name for e in client.search_experiments(filter_string="name LIKE '%cool%'")] == [
        "my-cool-experiment"
    ]
    client.delete_experiment(experiment_id)
    assert [e.name for e in client.list_experiments()] == ["Default", "other"]
    assert [e.name for e in client.search_experiments(view_type=ViewType.DELETED_ONLY)] == [
        "my-cool-experiment"
    ]
    client.restore_experiment(experiment_id)
    assert len(mlflow.search_experiments()) == 3 and len(mlflow.list_experiments()) == 3


def test_numeric_experiment_ids(repo: Path):
    with mlflow.start_run():
        pass
    client = MlflowClient()
    assert client.get_experiment("0").name == "Default"
    with pytest.raises(ExperimentNotFound, match="get_experiment_by_name"):
        client.search_runs(experiment_ids="1")


def test_writing_to_runs_by_id(experiment: str):
    client = MlflowClient()
    run = client.create_run(experiment, run_name="by-client", tags={"source": "client"})
    run_id = run.info.run_id
    assert run.info.status == "RUNNING"
    client.log_param(run_id, "alpha", 0.5)
    client.set_tag(run_id, "stage", "test")
    for step in range(3):
        client.log_metric(run_id, "loss", 1.0 / (step + 1), step=step)
    client.log_batch(
        run_id,
        metrics=[Metric("acc", 0.9, 1_700_000_000_000, 2)],
        params=[Param("depth", "6")],
        tags=[RunTag("team", "pricing")],
    )
    client.set_terminated(run_id)
    fetched = client.get_run(run_id[:16])
    assert fetched.info.status == "FINISHED" and fetched.info.run_name == "by-client"
    assert fetched.data.params == {"alpha": "0.5", "depth": "6"}
    assert fetched.data.metrics == {"loss": pytest.approx(1 / 3), "acc": 0.9}
    expected_tags = {"source": "client", "stage": "test", "team": "pricing"}
    assert {key: fetched.data.tags.get(key) for key in expected_tags} == expected_tags
    history = client.get_metric_history(run_id, "loss")
    assert [(m.step, m.value) for m in history] == [(0, 1.0), (1, 0.5), (2, pytest.approx(1 / 3))]
    assert client.get_metric_history(run_id, "missing") == []
    with pytest.raises(InvalidValue, match="does not end a run"):
        client.set_terminated(run_id, "PAUSED")


def test_client_sees_what_the_fluent_api_has_open(repo: Path):
    with mlflow.start_run() as run:
        MlflowClient().set_tag(run.info.run_id, "via", "client")
        mlflow.set_tag("via-fluent", "yes")
    assert {"via", "via-fluent"} <= set(run.data.tags)


def test_artifacts_listed_and_downloaded(repo: Path, tmp_path: Path):
    (repo / "model").mkdir()
    (repo / "model" / "MLmodel").write_text("flavors: {}\n")
    (repo / "model" / "model.xgb").write_bytes(b"booster")
    with mlflow.start_run() as run:
        mlflow.log_artifacts("model", artifact_path="model")
        mlflow.log_text("notes", "readme.txt")
    client = MlflowClient()
    listing = client.list_artifacts(run.info.run_id)
    assert [(i.path, i.is_dir) for i in listing] == [("model", True), ("readme.txt", False)]
    assert listing[1].file_size == 5
    assert [i.path for i in client.list_artifacts(run.info.run_id, "model")] == [
        "model/MLmodel",
        "model/model.xgb",
    ]
    local = client.download_artifacts(run.info.run_id, "model", str(tmp_path / "out"))
    assert Path(local) == tmp_path / "out" / "model"
    assert (Path(local) / "model.xgb").read_bytes() == b"booster"
    single = client.download_artifacts(run.info.run_id, "readme.txt")
    assert Path(single).read_text() == "notes"
    with pytest.raises(InvalidPath, match="no artifact"):
        client.download_artifacts(run.info.run_id, "nothing")
    with pytest.raises(InvalidPath):
        client.download_artifacts(run.info.run_id, "../run.yaml")


def test_fluent_search_runs_gives_mlflow_columns(experiment: str):
    frame = mlflow.search_runs(filter_string="metrics.rmse < 7", order_by=["metrics.rmse"])
    assert isinstance(frame, pd.DataFrame)
    assert list(frame.columns[:6]) == [
        "run_id",
        "experiment_id",
        "status",
        "artifact_uri",
        "start_time",
        "end_time",
    ]
    assert {"metrics.rmse", "params.alpha", "tags.model", "tags.mlflow.runName"} <= set(
        frame.columns
    )
    assert list(frame["metrics.rmse"]) == [6.4, 6.9]
    # The times pandas' own to_datetime gives for MLflow's milliseconds, NaT where not ended.
    runs = {run.info.run_id: run.info for run in MlflowClient().search_runs(experiment)}
    for name in ("start_time", "end_time"):
        expected = pd.to_datetime(
            [getattr(runs[run_id], name) for run_id in frame["run_id"]], unit="ms", utc=True
        )
        assert frame[name].dtype == expected.dtype
        assert list(frame[name]) == list(expected)
    as_list = mlflow.search_runs(experiment_names=["nyc-taxi-experiment"], output_format="list")
    assert len(as_list) == 4 and all(isinstance(run, gitruns.Run) for run in as_list)
    assert len(mlflow.search_runs(search_all_experiments=True)) == 4


def test_a_running_run_is_read_with_what_it_logged(experiment: str):
    client = MlflowClient()
    with mlflow.start_run() as running:
        mlflow.log_metric("rmse", 1.0)
        mlflow.log_metric("rmse", 0.5, step=1)
        # Read at once, in the process that logged: nothing waits for a flush.
        assert client.get_run(running.info.run_id).data.metrics == {"rmse": 0.5}
        history = client.get_metric_history(running.info.run_id, "rmse")
        assert [(m.step, m.value) for m in history] == [(0, 1.0), (1, 0.5)]
        assert client.search_runs(experiment, order_by=["metrics.rmse"])[0].info.run_id == (
            running.info.run_id
        )
        frame = mlflow.search_runs(order_by=["metrics.rmse"])
    assert frame["run_id"][0] == running.info.run_id and frame["status"][0] == "RUNNING"
    assert pd.isna(frame["end_time"][0]) and frame["end_time"][1:].notna().all()
    assert frame["start_time"][0] == pd.Timestamp(running.info.start_time, unit="ms", tz="UTC")


def test_a_live_run_that_cannot_be_written_does_not_stop_a_read(experiment: str, caplog):
    caplog.set_level(logging.WARNING)
    client = MlflowClient()
    run = mlflow.start_run(experiment_id=experiment)
    mlflow.log_metric("rmse", 1.0)
    shutil.rmtree(Path(run.info.artifact_uri.removeprefix("file://")).parent)  # under it
    time.sleep(3 * FLUSH_INTERVAL_SECONDS)  # the flusher tries, and fails, meanwhile
    for _ in range(2):
        assert len(client.search_runs(experiment)) == 4  # the runs on disk
    said = [r.getMessage() for r in caplog.records if run.info.run_id in r.getMessage()]
    assert len(said) == 1 and "is still there" in said[0]  # said once, not at every try
    with pytest.raises(GitrunsError, match=r"folder .* is gone"):  # its end says what is wrong
        mlflow.end_run()
    session.end_all(FINISHED, None)  # as the process's exit does with runs left open
    ended = [r for r in caplog.records if r.getMessage().startswith("Could not end run")]
    assert len(ended) == 1 and run.info.run_id in ended[0].getMessage()
    assert "folder is still there" in ended[0].getMessage() and not ended[0].exc_info
    session.live_runs.difference_update(
        [live for live in session.live_runs if live.run_id == run.info.run_id]
    )


def test_search_skips_a_corrupt_record_with_one_warning(experiment: str, caplog):
    caplog.set_level(logging.WARNING)
    client = MlflowClient()
    victim = client.search_runs(experiment)[0]
    record = Path(victim.info.artifact_uri.removeprefix("file://")).parent / "run.yaml"
    record.write_text("id: [this is not a record\n")
    for _ in range(3):
        assert len(client.search_runs(experiment)) == 3
    warnings = [r.getMessage() for r in caplog.records if str(record) in r.getMessage()]
    assert len(warnings) == 1 and "gitruns check" in warnings[0]


def test_the_index_cache_is_ignored_by_git_and_deleting_it_loses_nothing(experiment: str):
    client = MlflowClient()
    before = sorted(run.info.run_id for run in client.search_runs(experiment))
    index = Path("runs/.index") / experiment / "state.json"
    assert index.exists()
    assert git(Path.cwd(), "check-ignore", str(index)).strip() == str(index)
    shutil.rmtree("runs/.index")
    assert sorted(run.info.run_id for run in client.search_runs(experiment)) == before


def test_a_metric_column_keeps_nan_apart_from_a_missing_value_and_mends_when_damaged(
    experiment: str,
):
    client = MlflowClient()
    with mlflow.start_run(experiment_id=experiment) as nan_run:
        mlflow.log_metric("rmse", float("nan"))
    with mlflow.start_run(experiment_id=experiment) as lacking:
        mlflow.log_metric("mae", 1.0)
    settle(Path("runs"))  # read from the cache's columns, not parsed again as just written

    def searched() -> tuple[list[str], list[str], list[float]]:
        ordered = [r.info.run_id for r in client.search_runs(experiment, order_by=["metrics.rmse"])]
        under = [r.info.run_id for r in client.search_runs(experiment, "metrics.rmse < 100")]
        frame = mlflow.search_runs(experiment_ids=[experiment], order_by=["metrics.rmse"])
        return ordered, under, list(frame["metrics.rmse"])

    ordered, under, values = searched()
    assert ordered[-2:] == [nan_run.info.run_id, lacking.info.run_id]  # NaN, then missing
    assert len(under) == 4 and nan_run.info.run_id not in under
    assert values[:4] == [6.4, 6.9, 7.5, 8.1] and pd.isna(values[4]) and pd.isna(values[5])
    columns = sorted(Path("runs/.index", experiment).glob("c-*.f64"))
    assert len(columns) == 2  # rmse and mae: 6 runs, 9 bytes each
    assert all(column.stat().st_size == 6 * 9 for column in columns)
    columns[0].write_bytes(columns[0].read_bytes()[:-1])  # cut short
    columns[1].unlink()
    again = searched()
    assert again[:2] == (ordered, under) and again[2][:4] == values[:4]
    assert all(column.stat().st_size == 6 * 9 for column in columns)  # written again whole


def test_an_index_another_gitruns_version_wrote_is_rebuilt_and_its_files_removed(
    experiment: str,
):
    import json

    from gitruns.store.index import INDEX_VERSION

    client = MlflowClient()
    settle(Path("runs"))
    ordered = [r.info.run_id for r in client.search_runs(experiment, order_by=["metrics.rmse"])]
    folder = Path("runs/.index", experiment)
    state = json.loads((folder / "state.json").read_text())
    (folder / "state.json").write_text(json.dumps({**state, "version": INDEX_VERSION - 1}))
    stale = folder / ("c-" + "0" * 20 + ".json")  # a column file of the older layout
    stale.write_text("[1.0, 2.0, 3.0, 4.0]")
    assert [r.info.run_id for r in client.search_runs(experiment, order_by=["metrics.rmse"])] == (
        ordered
    )
    assert json.loads((folder / "state.json").read_text())["version"] == INDEX_VERSION
    assert not stale.exists()


def test_the_index_follows_changes_to_records(experiment: str):
    client = MlflowClient()
    run = client.search_runs(experiment, "params.alpha = '0.1'")[0]
    client.set_tag(run.info.run_id, "reviewed", "yes")
    assert [r.info.run_id for r in client.search_runs(experiment, "tags.reviewed = 'yes'")] == [
        run.info.run_id
    ]
    with mlflow.start_run(experiment_id=experiment):
        mlflow.log_metric("rmse", 1.0)
    assert client.search_runs(experiment, order_by=["metrics.rmse"])[0].data.metrics["rmse"] == 1.0


def test_the_index_never_trusts_a_record_changed_within_one_clock_tick(experiment: str):
    client = MlflowClient()
    run = client.search_runs(experiment, "params.alpha = '0.1'")[0]
    record = Path(run.info.artifact_uri.removeprefix("file://")).parent / "run.yaml"
    text = record.read_text()
    stat = record.stat()
    # Same size, same mtime, different content: only a fresh parse can tell.
    record.write_text(text.replace("status: FINISHED", "status: KILLED  "))
    os.utime(record, ns=(stat.st_atime_ns, stat.st_mtime_ns))
    assert record.stat().st_size == stat.st_size
    assert client.get_run(run.info.run_id).info.status == "KILLED"
    assert (
        client.search_runs(experiment, "attributes.status = 'KILLED'")[0].info.run_id
        == run.info.run_id
    )


def test_list_run_infos_and_experiment_order(experiment: str):
    client = MlflowClient()
    infos = client.list_run_infos(experiment, max_results=2, order_by=["metrics.rmse"])
    assert len(infos) == 2 and infos.token and all(isinstance(i, gitruns.RunInfo) for i in infos)
    client.create_experiment("aardvark")
    names = [e.name for e in client.search_experiments(order_by=["name DESC"])]
    assert names == ["nyc-taxi-experiment", "aardvark", "Default"]  # Default: always listed


def settle(runs_dir: Path) -> None:
    """Date records written in the last seconds 10 s back, as files a git pull brings
    are: the index re-parses a file changed within the last 2 s on every search, since
    it may change again within the same clock tick (git's racy rule)."""
    past = time.time() - 10
    for record in runs_dir.glob("*/*/run.yaml"):
        if record.stat().st_mtime > past:
            os.utime(record, (past, past))


def test_a_search_after_new_runs_arrive_parses_only_those(experiment: str):
    from gitruns.store import index

    client = MlflowClient()
    settle(Path("runs"))
    assert len(client.search_runs(experiment)) == 4  # the index is built
    before = index.records_read
    assert len(client.search_runs(experiment, "metrics.rmse < 7")) == 2
    assert index.records_read == before  # nothing changed: nothing parsed
    for rmse in (1.0, 2.0, 3.0):  # as a git pull would bring them
        with mlflow.start_run(experiment_id=experiment):
            mlflow.log_metric("rmse", rmse)
    settle(Path("runs"))
    before = index.records_read
    found = client.search_runs(experiment, "metrics.rmse < 7", order_by=["metrics.rmse"])
    assert [run.data.metrics["rmse"] for run in found] == [1.0, 2.0, 3.0, 6.4, 6.9]
    assert index.records_read - before == 3
    with mlflow.start_run(experiment_id=experiment):  # and again: the cache it wrote holds
        mlflow.log_metric("rmse", 0.5)
    settle(Path("runs"))
    before = index.records_read
    found = client.search_runs(experiment, "metrics.rmse < 2", order_by=["metrics.rmse"])
    assert [run.data.metrics["rmse"] for run in found] == [0.5, 1.0]
    assert index.records_read - before == 1
    assert len(client.search_runs(experiment)) == 8


def test_what_a_pull_brings_goes_into_a_delta_and_the_cache_is_rewritten_only_when_large(
    experiment: str, monkeypatch
):
    from gitruns.store import index

    client = MlflowClient()
    settle(Path("runs"))
    assert len(client.search_runs(experiment)) == 4  # the cache is written whole
    folder = Path("runs/.index") / experiment
    written = {name: (folder / name).stat().st_ino for name in ("state.json", "entries.jsonl")}
    runs = {run.data.params.get("alpha"): run.info.run_id for run in client.search_runs(experiment)}
    with mlflow.start_run(experiment_id=experiment):  # as a pull brings them: a new run,
        mlflow.log_metric("rmse", 1.0)
        mlflow.log_metric("new_metric", 7.0)
    client.set_tag(runs["0.1"], "reviewed", "yes")  # a changed one,
    shutil.rmtree(Path("runs") / experiment / runs["1.0"])  # and one gone
    settle(Path("runs"))
    before = index.records_read
    found = client.search_runs(experiment, order_by=["metrics.rmse"])
    assert index.records_read - before == 2  # the new run and the changed one
    assert [run.data.metrics.get("rmse") for run in found][:1] == [1.0] and len(found) == 4
    assert runs["1.0"] not in {run.info.run_id for run in found}
    assert [r.info.run_id for r in client.search_runs(experiment, "tags.reviewed = 'yes'")] == [
        runs["0.1"]
    ]
    assert len(client.search_runs(experiment, "metrics.new_metric = 7")) == 1
    assert "new_metric" in index.RunIndex(Path("runs")).experiment(experiment).keys("metric")
    # The cache files were left as they were: only delta.json was written.
    assert {name: (folder / name).stat().st_ino for name in written} == written
    assert (folder / "delta.json").exists()
    before = index.records_read
    assert len(client.search_runs(experiment, "metrics.rmse < 7")) == 3
    assert index.records_read == before  # the delta holds: nothing parsed again

    monkeypatch.setattr(index, "DELTA_MIN_RUNS", 2)  # past the delta's size: written whole
    for rmse in (2.0, 3.0):
        with mlflow.start_run(experiment_id=experiment):
            mlflow.log_metric("rmse", rmse)
    settle(Path("runs"))
    found = client.search_runs(experiment, "metrics.rmse < 7", order_by=["metrics.rmse"])
    assert [run.data.metrics["rmse"] for run in found] == [1.0, 2.0, 3.0, 6.4, 6.9]
    assert not (folder / "delta.json").exists()
    assert (folder / "entries.jsonl").stat().st_ino != written["entries.jsonl"]
    assert len(client.search_runs(experiment)) == 6


def test_a_delta_over_another_cache_is_not_read(experiment: str):
    client = MlflowClient()
    settle(Path("runs"))
    client.search_runs(experiment)
    with mlflow.start_run(experiment_id=experiment):
        mlflow.log_metric("rmse", 1.0)
    settle(Path("runs"))
    client.search_runs(experiment)
    folder = Path("runs/.index") / experiment
    delta = (folder / "delta.json").read_text()
    (folder / "state.json").unlink()  # the cache is written again, under a new token
    client.search_runs(experiment)
    (folder / "delta.json").write_text(delta.replace('"rmse":1.0', '"rmse":-5.0'))
    assert all(run.data.metrics["rmse"] > 0 for run in client.search_runs(experiment))


def test_experiment_tags_and_artifact_location_are_kept(repo: Path):
    # As MLflow's docs create experiments: tags and an artifact location.
    experiment_id = mlflow.create_experiment(
        "Apple_Models",
        artifact_location=Path.cwd().joinpath("mlruns").as_uri(),
        tags={"version": "v1", "priority": "P1", "mlflow.note.content": "Demand forecasts"},
    )
    experiment = mlflow.get_experiment(experiment_id)
    assert experiment.name == "Apple_Models"
    assert experiment.artifact_location == Path.cwd().joinpath("mlruns").as_uri()
    assert experiment.tags == {
        "version": "v1",
        "priority": "P1",
        "mlflow.note.content": "Demand forecasts",
    }
    client = MlflowClient()
    client.set_experiment_tag(experiment_id, "stage", "prod")
    client.delete_experiment_tag(experiment_id, "priority")
    mlflow.set_experiment("Apple_Models")
    mlflow.set_experiment_tags({"team": "forecasting"})
    again = client.get_experiment_by_name("Apple_Models")
    assert again.tags == {
        "version": "v1",
        "stage": "prod",
        "team": "forecasting",
        "mlflow.note.content": "Demand forecasts",
    }
    assert check_runs(Path("runs")).ok  # experiment.yaml still matches its schema
    with pytest.raises(InvalidValue, match="tags must be a mapping"):
        client.create_experiment("other", tags=["not", "a", "dict"])


def test_entities_iterate_as_mlflows_do(experiment: str):
    run = MlflowClient().search_runs(experiment, order_by=["metrics.rmse"])[0]
    info = dict(run.info)
    assert info["run_id"] == run.info.run_id and info["status"] == "FINISHED"
    assert dict(run.data)["metrics"] == {"rmse": 6.4}
    assert dict(MlflowClient().get_experiment_by_name(experiment))["name"] == experiment


def test_the_artifacts_module_reads_a_run_by_uri(repo: Path):
    # As MLflow's docs use mlflow.artifacts: by runs:/ URI or by run id.
    with mlflow.start_run() as run:
        mlflow.log_dict({"features": ["PU_DO"], "alpha": 0.1}, "config.json")
        mlflow.log_text("hello", "notes/hello.txt")
    run_id = run.info.run_id
    assert mlflow.artifacts.load_dict(f"runs:/{run_id}/config.json")["alpha"] == 0.1
    assert mlflow.artifacts.load_text(f"runs:/{run_id}/notes/hello.txt") == "hello"
    listed = mlflow.artifacts.list_artifacts(run_id=run_id, artifact_path="notes")
    assert [item.path for item in listed] == ["notes/hello.txt"]
    local = Path(mlflow.artifacts.download_artifacts(f"runs:/{run_id}/notes", dst_path="out"))
    assert local.is_absolute() and (local / "hello.txt").read_text() == "hello"
    with pytest.raises(InvalidPath, match=r"would leave|outside"):
        mlflow.artifacts.load_text(f"runs:/{run_id}/../run.yaml")
    with pytest.raises(InvalidValue, match="runs:/RUN_ID"):
        mlflow.artifacts.load_text("s3://bucket/config.json")


def test_a_page_of_a_large_experiment_reads_entries_and_gives_the_same_frame(
    repo: Path, monkeypatch
):
    """A few runs of many are read from the index's entries, most of them column by
    column: the frames are the same either way, and have columns only for the keys the
    page's runs have."""
    from gitruns import searching

    mlflow.set_experiment("many")
    for i in range(30):
        with mlflow.start_run(run_name=f"run-{i}"):
            mlflow.log_params({"i": i, **({"rare": "yes"} if i == 29 else {})})
            mlflow.log_metric("rmse", 10.0 - i / 10)
            if i % 2:
                mlflow.set_tag("odd", "1")
    query = {"experiment_names": ["many"], "order_by": ["metrics.rmse"], "max_results": 2}
    monkeypatch.setattr(searching, "ENTRY_PAGE_SHARE", 10)  # 2 of 30: entries
    from_entries = mlflow.search_runs(**query)
    monkeypatch.setattr(searching, "ENTRY_PAGE_SHARE", 0)  # always columns
    from_columns = mlflow.search_runs(**query)
    pd.testing.assert_frame_equal(from_entries, from_columns)
    assert list(from_entries["tags.mlflow.runName"]) == ["run-29", "run-28"]
    rare = from_entries["params.rare"].tolist()
    assert rare[0] == "yes" and pd.isna(rare[1])
    plain = mlflow.search_runs(filter_string="params.i = '4'", **query)  # no rare, no odd
    assert "params.rare" not in plain and "tags.odd" not in plain and len(plain) == 1
