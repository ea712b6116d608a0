"""The fluent API, as a training script written for MLflow uses it."""

from __future__ import annotations

import hashlib
import json
import logging
import math
from pathlib import Path

import pytest
import yaml

import gitruns
import gitruns as mlflow
from gitruns import MlflowClient
from gitruns.exceptions import InvalidName
from gitruns.store.history import read_histories
from gitruns.store.names import MAX_EXPERIMENT_NAME_LENGTH, experiment_folder
from gitruns.store.run_record import read_run_record
from tests.conftest import git, make_repo, run_python


def run_folder(run: gitruns.Run) -> Path:
    return Path(run.info.artifact_uri.removeprefix("file://")).parent


def test_mlflow_code_runs_unchanged_and_lands_under_runs(repo: Path):
    mlflow.set_tracking_uri("sqlite:///mlflow.db")
    experiment = mlflow.set_experiment("nyc-taxi-experiment")
    with mlflow.start_run() as run:
        mlflow.set_tag("developer", "cristian")
        mlflow.log_param("train-data-path", "./data/green_tripdata_2021-01.parquet")
        mlflow.log_param("alpha", 0.1)
        mlflow.log_metric("rmse", 6.25)
        (repo / "models").mkdir()
        (repo / "models" / "lin_reg.bin").write_bytes(b"\x00model")
        mlflow.log_artifact(local_path="models/lin_reg.bin", artifact_path="models_pickle")

    assert experiment.name == "nyc-taxi-experiment"
    assert run.info.experiment_id == experiment.experiment_id == "nyc-taxi-experiment"
    assert run.info.status == "FINISHED"
    assert run.data.params == {
        "train-data-path": "./data/green_tripdata_2021-01.parquet",
        "alpha": "0.1",
    }
    assert run.data.metrics == {"rmse": 6.25}
    assert run.data.tags["developer"] == "cristian"
    folder = repo / "runs" / "nyc-taxi-experiment" / run.info.run_id
    assert run_folder(run) == folder
    assert (folder / "artifacts" / "models_pickle" / "lin_reg.bin").read_bytes() == b"\x00model"
    assert not (repo / "mlflow.db").exists()
    record = yaml.safe_load((folder / "run.yaml").read_text())
    assert record["status"] == "FINISHED"
    assert record["git"]["commit"] == git(repo, "rev-parse", "HEAD").strip()
    assert record["git"]["branch"] == "main"


def test_database_uri_warns_once_and_says_where_runs_go(
    repo: Path, caplog: pytest.LogCaptureFixture
):
    caplog.set_level(logging.WARNING)
    mlflow.set_tracking_uri("sqlite:///mlflow.db")
    for _ in range(3):
        with mlflow.start_run():
            pass
    warnings = [r.getMessage() for r in caplog.records if "sqlite:///mlflow.db" in r.getMessage()]
    assert len(warnings) == 1
    assert str(repo / "runs") in warnings[0]
    assert mlflow.get_tracking_uri() == "sqlite:///mlflow.db"


def test_http_server_uri_also_falls_back_to_runs(repo: Path):
    mlflow.set_tracking_uri("http://127.0.0.1:5000")
    with mlflow.start_run() as run:
        pass
    assert run_folder(run).parent.parent == repo / "runs"


@pytest.mark.parametrize("form", ["folder", "file-uri", "env-gitruns", "env-mlflow"])
def test_tracking_location_can_be_chosen(repo: Path, monkeypatch: pytest.MonkeyPatch, form: str):
    target = repo / "elsewhere" / "tracked"
    if form == "folder":
        mlflow.set_tracking_uri("elsewhere/tracked")
    elif form == "file-uri":
        mlflow.set_tracking_uri(target.as_uri())
    elif form == "env-gitruns":
        monkeypatch.setenv("GITRUNS_DIR", str(target))
    else:
        monkeypatch.setenv("MLFLOW_TRACKING_URI", target.as_uri())
    with mlflow.start_run() as run:
        pass
    assert run_folder(run).parent.parent == target
    assert mlflow.get_tracking_uri() in (str(target), target.as_uri(), "elsewhere/tracked")


def test_runs_go_to_the_top_of_the_repository_from_a_subfolder(
    repo: Path, monkeypatch: pytest.MonkeyPatch
):
    (repo / "notebooks").mkdir()
    monkeypatch.chdir(repo / "notebooks")
    with mlflow.start_run() as run:
        pass
    assert run_folder(run).parent.parent == repo / "runs"


def test_outside_git_still_works_and_warns_once(tmp_path: Path, monkeypatch, caplog):
    caplog.set_level(logging.WARNING)
    monkeypatch.chdir(tmp_path)
    for _ in range(2):
        with mlflow.start_run() as run:
            mlflow.log_metric("m", 1)
    record = read_run_record(run_folder(run))
    assert record.git is None
    assert record.status == "FINISHED"
    warnings = [r for r in caplog.records if "not inside a git repository" in r.getMessage()]
    assert len(warnings) == 1


def test_set_experiment_returns_an_experiment_and_is_used_by_later_runs(repo: Path):
    experiment = mlflow.set_experiment("Duration: NYC (v2)", primary_metric="rmse")
    folder = experiment_folder("Duration: NYC (v2)")
    assert folder.startswith("duration-nyc-v2-") and len(folder) == len("duration-nyc-v2-") + 8
    assert experiment.experiment_id == folder
    assert experiment.name == "Duration: NYC (v2)"
    with mlflow.start_run() as run:
        pass
    assert run.info.experiment_id == folder
    text = (repo / "runs" / folder / "experiment.yaml").read_text()
    assert yaml.safe_load(text) == {
        "schema": 1,
        "name": "Duration: NYC (v2)",
        "primary_metric": "rmse",
        "goal": "minimize",
    }
    assert mlflow.set_experiment(experiment_id=folder).name == "Duration: NYC (v2)"
    assert mlflow.get_experiment_by_name("Duration: NYC (v2)").experiment_id == folder
    assert mlflow.get_experiment_by_name("missing") is None
    assert mlflow.set_experiment("nyc-taxi").experiment_id == "nyc-taxi"


def test_names_sharing_a_slug_are_separate_experiments_on_every_branch(repo: Path):
    """Branch A makes "My Exp", branch B "my-exp": they merge cleanly, each run in its own."""
    git(repo, "checkout", "-q", "-b", "a")
    mlflow.set_experiment("My Exp")
    with mlflow.start_run() as run_a:
        pass
    git(repo, "add", "runs")
    git(repo, "commit", "-qm", "a")
    git(repo, "checkout", "-q", "main")
    mlflow.set_experiment("my-exp")
    with mlflow.start_run() as run_b:
        pass
    git(repo, "add", "runs")
    git(repo, "commit", "-qm", "b")
    git(repo, "merge", "-q", "--no-edit", "a")  # raises on a conflict
    assert run_a.info.experiment_id == experiment_folder("My Exp") != "my-exp"
    assert run_b.info.experiment_id == "my-exp"
    assert {e.name for e in mlflow.search_experiments()} >= {"My Exp", "my-exp"}
    by_experiment = {
        run_id: mlflow.get_run(run_id).info.experiment_id
        for run_id in (run_a.info.run_id, run_b.info.run_id)
    }
    assert by_experiment == {
        run_a.info.run_id: experiment_folder("My Exp"),
        run_b.info.run_id: "my-exp",
    }


def test_a_tree_from_before_the_folder_rule_is_read_and_never_mixed(repo: Path):
    legacy = repo / "runs" / "my-exp"
    legacy.mkdir(parents=True)
    (legacy / "experiment.yaml").write_text("schema: 1\nname: My Exp\n")
    assert mlflow.set_experiment("My Exp").experiment_id == "my-exp"  # found where it is
    other = mlflow.set_experiment("my-exp").experiment_id  # its folder is taken: the digest one
    assert other.startswith("my-exp-") and mlflow.get_experiment(other).name == "my-exp"
    assert mlflow.get_experiment("my-exp").name == "My Exp"  # the legacy one, untouched
    assert sorted(p.name for p in (repo / "runs").iterdir() if p.is_dir()) == ["my-exp", other]


def test_experiment_names_up_to_the_one_limit_are_accepted(repo: Path):
    long_name = "x" * MAX_EXPERIMENT_NAME_LENGTH
    assert mlflow.set_experiment(long_name).name == long_name
    assert mlflow.get_experiment_by_name(long_name).name == long_name
    assert MlflowClient().get_experiment_by_name(long_name).name == long_name
    with pytest.raises(InvalidName, match=f"the limit is {MAX_EXPERIMENT_NAME_LENGTH}"):
        mlflow.set_experiment(long_name + "x")


def test_runs_without_an_experiment_go_to_default(repo: Path):
    with mlflow.start_run() as run:
        pass
    assert run.info.experiment_id == "0"  # MLflow's id; the folder stays runs/default/
    assert mlflow.get_experiment("0").name == mlflow.get_experiment("default").name == "Default"
    assert (repo / "runs" / "default" / run.info.run_id / "run.yaml").is_file()


def test_failed_block_records_failed_with_the_error(repo: Path):
    with pytest.raises(ZeroDivisionError), mlflow.start_run() as run:
        mlflow.log_metric("before", 1.0)
        _ = 1 / 0
    record = read_run_record(run_folder(run))
    assert record.status == "FAILED"
    assert record.error == {"type": "ZeroDivisionError", "message": "division by zero"}
    assert record.metrics["before"].last == 1.0
    assert mlflow.active_run() is None


def test_ctrl_c_in_block_records_killed(repo: Path):
    with pytest.raises(KeyboardInterrupt), mlflow.start_run() as run:
        raise KeyboardInterrupt
    assert read_run_record(run_folder(run)).status == "KILLED"


def test_end_run_takes_a_status(repo: Path):
    run = mlflow.start_run()
    mlflow.end_run("KILLED")
    assert read_run_record(run_folder(run)).status == "KILLED"
    with pytest.raises(gitruns.GitrunsError, match="does not end a run"):
        mlflow.end_run("DONE")


def test_nested_runs_know_their_parent(repo: Path):
    mlflow.set_experiment("tuning")
    with mlflow.start_run(run_name="search") as parent:
        for trial in range(3):
            with mlflow.start_run(nested=True, run_name=f"trial-{trial}") as child:
                mlflow.log_param("trial", trial)
                assert mlflow.active_run().info.run_id == child.info.run_id
        assert mlflow.active_run().info.run_id == parent.info.run_id
    assert child.data.tags["mlflow.parentRunId"] == parent.info.run_id
    assert read_run_record(run_folder(child)).parent == parent.info.run_id
    assert child.info.experiment_id == "tuning"


def test_starting_a_second_run_without_nested_explains_what_to_do(repo: Path):
    with mlflow.start_run() as run:
        with pytest.raises(gitruns.GitrunsError, match="nested=True") as raised:
            mlflow.start_run()
        assert run.info.run_id in str(raised.value)


def test_a_finished_run_can_be_resumed_by_id_or_prefix(repo: Path):
    with mlflow.start_run(run_name="resumable") as run:
        mlflow.log_param("alpha", 0.5)
        mlflow.log_metric("loss", 3.0, step=0)
    with mlflow.start_run(run_id=run.info.run_id[:10]) as again:
        mlflow.log_param("alpha", 0.5)  # the same value again is fine
        mlflow.log_metric("loss", 2.0, step=1)
    assert again.info.run_id == run.info.run_id
    assert again.info.status == "FINISHED"
    history = read_histories(run_folder(run), 2)["loss"]
    assert [(step, value) for _, step, value in history] == [(0, 3.0), (1, 2.0)]
    assert again.data.metrics["loss"] == 2.0


def test_start_run_takes_name_tags_and_description(repo: Path):
    with mlflow.start_run(
        run_name="baseline", tags={"team": "pricing"}, description="first try"
    ) as run:
        pass
    assert run.info.run_name == "baseline"
    assert run.data.tags["team"] == "pricing"
    assert run.data.tags["mlflow.note.content"] == "first try"
    record = read_run_record(run_folder(run))
    assert (record.name, record.description) == ("baseline", "first try")
    with pytest.raises(gitruns.GitrunsError, match="given twice"):
        mlflow.start_run(tags={"mlflow.note.content": "x"}, description="y")


def test_mlflow_system_tags_rename_and_describe_the_run(repo: Path):
    with mlflow.start_run() as run:
        mlflow.set_tag("mlflow.runName", "renamed")
        mlflow.set_tag("mlflow.note.content", "what this run tried")
    record = read_run_record(run_folder(run))
    assert (record.name, record.description) == ("renamed", "what this run tried")
    assert "mlflow.runName" not in record.tags


def test_runs_without_a_name_get_a_friendly_one(repo: Path):
    with mlflow.start_run() as run:
        pass
    assert run.info.run_name.count("-") == 2


def test_active_and_last_active_run(repo: Path):
    assert mlflow.active_run() is None
    with mlflow.start_run() as run:
        assert mlflow.active_run().info.run_id == run.info.run_id
        assert mlflow.last_active_run().info.run_id == run.info.run_id
    assert mlflow.active_run() is None
    last = mlflow.last_active_run()
    assert last.info.run_id == run.info.run_id and last.info.status == "FINISHED"


def test_params_tags_and_metrics_in_bulk(repo: Path):
    with mlflow.start_run() as run:
        mlflow.log_params({"max_depth": 6, "learning_rate": 0.3, "objective": "reg:squarederror"})
        mlflow.set_tags({"model": "xgboost", "stage": "tuning"})
        mlflow.log_metrics({"rmse": 5.1, "mae": 3.2}, step=4)
        mlflow.set_tag("stage", "final")
    assert run.data.params == {
        "max_depth": "6",
        "learning_rate": "0.3",
        "objective": "reg:squarederror",
    }
    assert run.data.tags["stage"] == "final"
    assert run.data.metrics == {"rmse": 5.1, "mae": 3.2}
    record = read_run_record(run_folder(run))
    assert record.metrics["rmse"].step == 4


def test_metric_history_with_steps_timestamps_and_summary(repo: Path):
    with mlflow.start_run() as run:
        for step, value in enumerate([0.9, 0.5, 0.7, 0.2]):
            mlflow.log_metric(
                "validation-rmse", value, step=step, timestamp=1_700_000_000_000 + step
            )
    lines = (run_folder(run) / "metrics.tsv").read_text().splitlines()
    assert lines[0] == "step\ttimestamp\tvalidation-rmse"
    assert lines[1] == "0\t1700000000000\t0.9"
    assert not (run_folder(run) / "metrics.log").exists()
    summary = read_run_record(run_folder(run)).metrics["validation-rmse"]
    assert (summary.last, summary.min, summary.max, summary.step) == (0.2, 0.2, 0.9, 3)


def test_latest_value_is_the_one_at_the_highest_step_as_in_mlflow(repo: Path):
    with mlflow.start_run() as run:
        mlflow.log_metric("loss", 1.0, step=5)
        mlflow.log_metric("loss", 9.0, step=2)  # logged later, at an earlier step
    assert run.data.metrics["loss"] == 1.0


def test_nan_and_infinities_are_kept(repo: Path):
    with mlflow.start_run() as run:
        mlflow.log_metric("loss", float("nan"), step=0)
        mlflow.log_metric("loss", float("inf"), step=1)
        mlflow.log_metric("grad", float("-inf"))
        mlflow.log_metric("only_nan", math.nan)
    record = read_run_record(run_folder(run))
    assert record.metrics["loss"].last == math.inf
    assert record.metrics["grad"].last == -math.inf
    assert math.isnan(record.metrics["only_nan"].last)
    assert record.metrics["only_nan"].min is None
    history = read_histories(run_folder(run), 2)["loss"]
    assert math.isnan(history[0][2]) and history[1][2] == math.inf


def test_numpy_numbers_are_metrics(repo: Path):
    np = pytest.importorskip("numpy")
    with mlflow.start_run() as run:
        mlflow.log_metric("rmse", np.float32(1.5), step=np.int64(3))
        mlflow.log_metric("count", np.array(7))
    assert run.data.metrics == {"rmse": 1.5, "count": 7.0}


def test_metric_keys_with_slashes_are_columns_not_folders(repo: Path):
    with mlflow.start_run() as run:
        mlflow.log_metric("train/loss", 0.5)
    header = (run_folder(run) / "metrics.tsv").read_text().splitlines()[0]
    assert header.split("\t") == ["step", "timestamp", "train/loss"]
    assert run.data.metrics == {"train/loss": 0.5}


def test_artifacts_files_folders_text_dicts(repo: Path):
    (repo / "plots").mkdir()
    (repo / "plots" / "a.png").write_bytes(b"png")
    (repo / "plots" / "deep").mkdir()
    (repo / "plots" / "deep" / "b.txt").write_text("b")
    with mlflow.start_run() as run:
        mlflow.log_artifact("plots/a.png")
        mlflow.log_artifacts("plots", artifact_path="all-plots")
        mlflow.log_text("hello", "notes/readme.txt")
        mlflow.log_dict({"features": ["PU_DO", "trip_distance"], "alpha": 0.1}, "config.json")
        mlflow.log_dict({"features": ["PU_DO"]}, "config.yaml")
        mlflow.log_artifact("plots", artifact_path="copy")
        uri = mlflow.get_artifact_uri("config.json")
    artifacts = run_folder(run) / "artifacts"
    assert (artifacts / "a.png").read_bytes() == b"png"
    assert (artifacts / "all-plots" / "deep" / "b.txt").read_text() == "b"
    assert (artifacts / "copy" / "plots" / "deep" / "b.txt").exists()
    assert (artifacts / "notes" / "readme.txt").read_text() == "hello"
    assert json.loads((artifacts / "config.json").read_text())["alpha"] == 0.1
    assert yaml.safe_load((artifacts / "config.yaml").read_text()) == {"features": ["PU_DO"]}
    assert uri == (artifacts / "config.json").as_uri()


def test_log_figure_saves_a_matplotlib_figure(repo: Path):
    matplotlib = pytest.importorskip("matplotlib")
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, axes = plt.subplots()
    axes.plot([1, 2, 3], [3, 1, 2])
    with mlflow.start_run() as run:
        mlflow.log_figure(figure, "figures/curve.png")
    plt.close(figure)
    assert (run_folder(run) / "artifacts" / "figures" / "curve.png").read_bytes()[:4] == b"\x89PNG"


def test_run_records_source_environment_and_packages(repo: Path):
    with mlflow.start_run() as run:
        pass
    folder = run_folder(run)
    record = read_run_record(folder)
    assert record.user
    assert record.environment["python"].count(".") == 2
    digest = record.environment["requirements"]
    requirements = (repo / "runs" / "_environments" / f"{digest}.txt").read_text()
    assert hashlib.sha256(requirements.encode()).hexdigest() == digest
    assert "PyYAML==" in requirements or "pyyaml==" in requirements.lower()
    assert record.process["pid"] > 0
    assert record.source["type"] == "LOCAL"


def test_dirty_tree_is_recorded_with_its_diff(repo: Path):
    (repo / "train.py").write_text("print('train better')\n")
    (repo / "features.py").write_text("FEATURES = ['PU_DO']\n")
    with mlflow.start_run() as run:
        pass
    record = read_run_record(run_folder(run))
    assert record.git["dirty"] is True
    diff = (run_folder(run) / "code.diff").read_text()
    assert "+print('train better')" in diff
    assert "+++ b/features.py" in diff and "+FEATURES = ['PU_DO']" in diff
    assert "runs/" not in diff


def test_clean_tree_has_no_diff_and_runs_do_not_make_it_dirty(repo: Path):
    for _ in range(3):
        with mlflow.start_run() as run:
            mlflow.log_metric("m", 1)
    assert read_run_record(run_folder(run)).git["dirty"] is False
    assert not (run_folder(run) / "code.diff").exists()


def test_get_run_by_prefix(repo: Path):
    with mlflow.start_run() as run:
        mlflow.log_metric("rmse", 4.0)
    fetched = mlflow.get_run(run.info.run_id[:8])
    assert fetched.info.run_id == run.info.run_id
    assert fetched.data.metrics == {"rmse": 4.0}


def test_run_ids_are_32_hex_and_sort_by_start(repo: Path):
    ids = []
    for _ in range(20):
        with mlflow.start_run() as run:
            pass
        ids.append(run.info.run_id)
    assert all(len(run_id) == 32 and int(run_id, 16) >= 0 for run_id in ids)
    assert ids == sorted(ids) and len(set(ids)) == 20


def test_two_repositories_in_one_process_keep_their_own_runs(tmp_path: Path, monkeypatch):
    first, second = make_repo(tmp_path / "a"), make_repo(tmp_path / "b")
    monkeypatch.chdir(first)
    with mlflow.start_run() as run_a:
        pass
    monkeypatch.chdir(second)
    with mlflow.start_run() as run_b:
        pass
    assert run_folder(run_a).is_relative_to(first) and run_folder(run_b).is_relative_to(second)


def test_a_script_that_logs_without_start_run_gets_one_run_finished_at_exit(repo: Path):
    # As homework scripts written for MLflow do: no start_run, the run ends with the process.
    script = (
        "import gitruns as mlflow\n"
        "mlflow.set_experiment('homework')\n"
        "mlflow.log_param('alpha', 0.1)\n"
        "mlflow.log_metric('rmse', 5.25)\n"
        "mlflow.set_tag('developer', 'me')\n"
        "mlflow.log_text('done', 'notes.txt')\n"
    )
    (repo / "homework.py").write_text(script)
    result = run_python(script, repo)
    assert result.returncode == 0, result.stderr
    (run,) = MlflowClient().search_runs("homework")
    assert run.info.status == "FINISHED"
    assert run.data.params == {"alpha": "0.1"} and run.data.metrics == {"rmse": 5.25}
    assert run.data.tags["developer"] == "me"
    assert [item.path for item in MlflowClient().list_artifacts(run.info.run_id)] == ["notes.txt"]
