"""The model registry as git tags: MLflow's registry calls, GTO's tools, real git."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

import gitruns as mlflow
from gitruns import GitrunsError, MlflowClient
from gitruns.cli import cli
from gitruns.exceptions import InvalidName, InvalidPath
from gitruns.registry import Registry, locate_model
from gitruns.registry.tags import parse_tag_name
from tests.conftest import GIT_IDENTITY, git, run_python

MODEL = "nyc-taxi-regressor"


def log_model_run(rmse: float) -> str:
    """A run with a (stand-in) model folder under artifacts/model."""
    with mlflow.start_run() as run:
        mlflow.log_metric("rmse", rmse)
        mlflow.log_text("weights", "model/model.txt")
        mlflow.log_dict({"flavors": {}}, "model/MLmodel")
    return run.info.run_id


def tags(repo: Path) -> list[str]:
    return git(repo, "tag", "--list").split()


@pytest.fixture()
def three_runs(repo: Path) -> list[str]:
    mlflow.set_experiment("nyc-taxi-experiment")
    return [log_model_run(rmse) for rmse in (6.1, 5.2, 4.3)]


def test_the_course_flow_register_promote_archive_and_load(repo: Path, three_runs: list[str]):
    client = MlflowClient(tracking_uri="sqlite:///mlflow.db")
    for run_id in three_runs[:2]:
        mlflow.register_model(model_uri=f"runs:/{run_id}/model", name=MODEL)
    assert [v.version for v in client.get_latest_versions(MODEL)] == [2]
    client.transition_model_version_stage(MODEL, 1, "Staging")
    client.transition_model_version_stage(MODEL, 1, "Production")
    client.transition_model_version_stage(MODEL, 2, "Production", archive_existing_versions=True)

    stages = {v.version: v.current_stage for v in client.search_model_versions(f"name='{MODEL}'")}
    assert stages == {1: "Archived", 2: "Production"}
    assert [v.version for v in client.get_latest_versions(MODEL, stages=["Production"])] == [2]
    folder = locate_model(Registry(repo / "runs"), f"models:/{MODEL}/Production")
    # Read from the tagged commit into the git directory, never from the work tree.
    assert folder.parts[-3:] == (three_runs[1], "artifacts", "model")
    assert repo / ".git" in folder.parents
    assert (folder / "model.txt").read_text() == "weights"

    assert set(tags(repo)) == {
        f"{MODEL}@v1.0.0",
        f"{MODEL}@v2.0.0",
        f"{MODEL}#staging#1",
        f"{MODEL}#staging!#2",
        f"{MODEL}#production#3",
        f"{MODEL}#production!#4",
        f"{MODEL}#archived#5",
        f"{MODEL}#production#6",
    }
    for tag in tags(repo):
        assert git(repo, "cat-file", "-t", tag).strip() == "tag", "every tag is annotated"
    message = git(repo, "tag", "-l", "--format=%(contents)", f"{MODEL}@v2.0.0")
    assert message.startswith(f"Register {MODEL} version 2 from run {three_runs[1]}\n\n")
    assert f"run_id: {three_runs[1]}" in message and "experiment: nyc-taxi-experiment" in message
    assert "rmse: 5.2" in message and "path: model" in message


def test_state_is_read_from_tags_alone_in_a_fresh_clone(repo: Path, three_runs, tmp_path: Path):
    client = MlflowClient()
    client.create_model_version(MODEL, f"runs:/{three_runs[2]}/model", description="best so far")
    client.transition_model_version_stage(MODEL, 1, "production")
    clone = tmp_path / "clone"
    subprocess.run(["git", "clone", "-q", str(repo), str(clone)], check=True)
    result = run_python(
        "import json, gitruns\n"
        f"v = gitruns.MlflowClient().get_model_version('{MODEL}', 1)\n"
        "print(json.dumps([v.current_stage, v.description, v.run_id, v.user_id]))",
        cwd=clone,
    )
    assert json.loads(result.stdout) == ["Production", "best so far", three_runs[2], "Test User"]


def test_uncommitted_run_is_committed_alone(repo: Path):
    mlflow.set_experiment("exp")
    run_id = log_model_run(3.0)
    (repo / "work.py").write_text("print('half done')\n")
    git(repo, "add", "work.py")
    mlflow.register_model(f"runs:/{run_id}/model", MODEL)
    committed = git(repo, "show", "--name-only", "--format=%s", "HEAD").split("\n")
    assert committed[0] == f"Add run {run_id} for model {MODEL}"
    assert all(name.startswith(f"runs/exp/{run_id}/") for name in committed[1:] if name)
    assert git(repo, "diff", "--cached", "--name-only").split() == ["work.py"]
    assert (
        git(repo, "rev-list", "-n1", f"{MODEL}@v1.0.0").strip()
        == git(repo, "rev-parse", "HEAD").strip()
    )


def test_no_two_versions_share_a_commit(repo: Path, three_runs):
    git(repo, "add", "runs")
    git(repo, "commit", "-qm", "all runs")
    (repo / "staged.txt").write_text("keep me staged\n")
    git(repo, "add", "staged.txt")
    client = MlflowClient()
    for run_id in three_runs:
        client.create_model_version(MODEL, f"runs:/{run_id}/model")
    commits = [git(repo, "rev-list", "-n1", f"{MODEL}@v{n}.0.0").strip() for n in (1, 2, 3)]
    assert len(set(commits)) == 3
    assert (
        git(repo, "show", "--stat", "--format=%s", commits[2])
        .strip()
        .startswith(f"Register {MODEL} v3")
    )
    assert git(repo, "diff", "--cached", "--name-only").split() == ["staged.txt"]
    assert git(repo, "status", "--porcelain").strip() == "A  staged.txt"


def test_aliases_have_one_holder(repo: Path, three_runs):
    client = MlflowClient()
    for run_id in three_runs:
        client.create_model_version(MODEL, f"runs:/{run_id}/model")
    client.set_registered_model_alias(MODEL, "champion", 2)
    assert client.get_model_version_by_alias(MODEL, "champion").version == 2
    client.set_registered_model_alias(MODEL, "champion", 3)
    assert client.get_model_version_by_alias(MODEL, "champion").version == 3
    assert client.get_model_version(MODEL, 2).aliases == []
    assert client.get_registered_model(MODEL).aliases == {"champion": 3}
    assert (
        locate_model(Registry(repo / "runs"), f"models:/{MODEL}@champion").parent.parent.name
        == three_runs[2]
    )
    client.delete_registered_model_alias(MODEL, "champion")
    with pytest.raises(GitrunsError, match="no alias 'champion'"):
        client.get_model_version_by_alias(MODEL, "champion")
    # An alias may be spelt as a stage (MLflow allows it); it is kept apart from the stage.
    stage_before = client.get_model_version(MODEL, 1).current_stage
    client.set_registered_model_alias(MODEL, "production", 1)
    client.set_registered_model_alias(MODEL, "latest", 2)
    assert client.get_model_version_by_alias(MODEL, "production").version == 1
    assert client.get_model_version_by_alias(MODEL, "latest").version == 2
    assert client.get_model_version(MODEL, 1).current_stage == stage_before
    assert all(parse_tag_name(tag) is not None for tag in tags(repo))  # GTO's grammar


def test_descriptions_live_in_the_tags_and_keep_who_and_when(repo: Path, three_runs):
    client = MlflowClient()
    client.create_registered_model(MODEL, description="predicts trip duration")
    client.create_model_version(MODEL, f"runs:/{three_runs[0]}/model")
    before = git(
        repo,
        "for-each-ref",
        "--format=%(taggerdate:raw) %(taggername)",
        f"refs/tags/{MODEL}@v1.0.0",
    )
    client.update_model_version(MODEL, 1, description="baseline lasso")
    after = git(
        repo,
        "for-each-ref",
        "--format=%(taggerdate:raw) %(taggername)",
        f"refs/tags/{MODEL}@v1.0.0",
    )
    assert before == after
    assert client.get_model_version(MODEL, 1).description == "baseline lasso"
    assert client.get_registered_model(MODEL).description == "predicts trip duration"
    client.update_registered_model(MODEL, description="trip duration in minutes")
    client.create_model_version(MODEL, f"runs:/{three_runs[1]}/model")
    assert client.get_registered_model(MODEL).description == "trip duration in minutes"


def test_deregister_and_deprecate(repo: Path, three_runs):
    client = MlflowClient()
    for run_id in three_runs[:2]:
        client.create_model_version(MODEL, f"runs:/{run_id}/model")
    client.delete_model_version(MODEL, 2)
    assert f"{MODEL}@v2.0.0!" in tags(repo)
    with pytest.raises(GitrunsError, match=r"Model Version \(name=.*, version=2\) not found"):
        client.get_model_version(MODEL, 2)
    assert client.create_model_version(MODEL, f"runs:/{three_runs[2]}/model").version == 3
    client.delete_registered_model(MODEL)
    assert f"{MODEL}@deprecated" in tags(repo)
    assert client.search_registered_models() == []
    with pytest.raises(GitrunsError, match=f"Registered Model with name={MODEL} not found"):
        client.get_registered_model(MODEL)
    # Registered again after its deletion: a new model, from version 1, as in MLflow.
    assert client.create_model_version(MODEL, f"runs:/{three_runs[0]}/model").version == 1
    client.delete_registered_model(MODEL)
    assert tags(repo) == [f"{MODEL}@deprecated", f"{MODEL}@v1.0.0"]


def test_search_registered_models_and_versions(repo: Path, three_runs):
    client = MlflowClient()
    client.create_model_version("taxi-duration", f"runs:/{three_runs[0]}/model")
    client.create_model_version("taxi-fare", f"runs:/{three_runs[1]}/model")
    client.create_model_version("taxi-fare", f"runs:/{three_runs[2]}/model")
    assert [m.name for m in client.search_registered_models()] == ["taxi-duration", "taxi-fare"]
    assert [m.name for m in client.list_registered_models()] == ["taxi-duration", "taxi-fare"]
    assert [m.name for m in client.search_registered_models("name LIKE '%fare'")] == ["taxi-fare"]
    found = client.search_model_versions(f"run_id = '{three_runs[2]}'")
    assert [(v.name, v.version) for v in found] == [("taxi-fare", 2)]
    assert found[0].source == f"runs:/{three_runs[2]}/model"


def test_bad_input_is_refused_and_nothing_half_written(repo: Path, three_runs):
    client = MlflowClient()
    before = tags(repo)
    with pytest.raises(InvalidName, match="without control characters"):
        client.create_model_version("taxi\nmodel", f"runs:/{three_runs[0]}/model")
    with pytest.raises(InvalidName, match="1 to 256 characters"):
        client.create_model_version("  ", f"runs:/{three_runs[0]}/model")
    with pytest.raises(InvalidPath, match="would leave"):
        client.create_model_version(MODEL, f"runs:/{three_runs[0]}/../../x")
    assert tags(repo) == before
    client.create_model_version(MODEL, f"runs:/{three_runs[0]}/model")
    with pytest.raises(GitrunsError, match=r"Registered Model with name=other-model not found"):
        client.transition_model_version_stage("other-model", 1, "Production")
    with pytest.raises(GitrunsError, match=r"Model Version \(name=.*, version=7\) not found"):
        client.transition_model_version_stage(MODEL, 7, "Production")
    with pytest.raises(InvalidName, match="not a stage name"):
        client.transition_model_version_stage(MODEL, 1, "Prod!")
    with pytest.raises(GitrunsError, match="models:/NAME/VERSION"):
        locate_model(Registry(repo / "runs"), "models:/just-a-name")
    with pytest.raises(GitrunsError, match="no version of"):
        locate_model(Registry(repo / "runs"), f"models:/{MODEL}/Staging")
    assert tags(repo) == [*before, f"{MODEL}@v1.0.0"]


def test_the_command_refuses_a_run_or_model_that_is_not_here(repo: Path, three_runs):
    """MLflow's API keeps a version whatever its source (tests/mlflow_bridge); gitruns' own
    command says at once that the run or its model is missing."""
    before = tags(repo)
    for args, said in (
        (["--run", "ffffffff"], "no run id starts with"),
        (["--run", three_runs[0], "--path", "weights"], "has no artifact 'weights'"),
    ):
        result = CliRunner().invoke(cli, ["models", "register", MODEL, *args])
        assert result.exit_code != 0 and said in result.output, result.output
    assert tags(repo) == before


def test_outside_git_the_registry_explains_itself(tmp_path: Path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    run_id = log_model_run(1.0)
    with pytest.raises(GitrunsError, match="registry lives in git tags"):
        mlflow.register_model(f"runs:/{run_id}/model", MODEL)


def test_lightweight_and_foreign_tags_are_ignored(repo: Path, three_runs):
    git(repo, "tag", "v1.0.0")
    git(repo, "tag", f"{MODEL}@v9.0.0")  # lightweight: GTO ignores it, and so do we
    git(repo, "tag", "-a", "release-1", "-m", "a release")
    assert MlflowClient().search_registered_models() == []
    assert MlflowClient().create_model_version(MODEL, f"runs:/{three_runs[0]}/model").version == 1


@pytest.mark.slow
def test_two_processes_registering_at_once_get_distinct_versions(repo: Path, three_runs):
    git(repo, "add", "runs")
    git(repo, "commit", "-qm", "runs")
    code = (
        "import gitruns, sys\n"
        "print(gitruns.register_model(f'runs:/{sys.argv[1]}/model', '%s').version)"
    )
    processes = [
        subprocess.Popen(
            [sys.executable, "-c", code % MODEL, run_id],
            cwd=repo,
            stdout=subprocess.PIPE,
            text=True,
        )
        for run_id in three_runs
    ]
    versions = sorted(process.communicate(timeout=120)[0].strip() for process in processes)
    assert versions == ["1", "2", "3"]
    commits = {git(repo, "rev-list", "-n1", f"{MODEL}@v{n}.0.0").strip() for n in (1, 2, 3)}
    assert len(commits) == 3


def gto_command() -> str | None:
    return os.environ.get("GITRUNS_TEST_GTO") or shutil.which("gto")


@pytest.mark.skipif(gto_command() is None, reason="GTO is not installed (set GITRUNS_TEST_GTO)")
def test_gto_shows_what_gitruns_reports(repo: Path, three_runs):
    client = MlflowClient()
    for run_id in three_runs:
        client.create_model_version(MODEL, f"runs:/{run_id}/model")
    client.transition_model_version_stage(MODEL, 1, "Staging")
    client.transition_model_version_stage(MODEL, 1, "Production")
    client.transition_model_version_stage(MODEL, 2, "Staging")
    client.transition_model_version_stage(MODEL, 3, "Production", archive_existing_versions=True)
    client.set_registered_model_alias(MODEL, "champion", 3)
    client.delete_model_version(MODEL, 2)

    def gto(*args: str):
        command = [gto_command(), "show", *args, "--json"]
        return json.loads(
            subprocess.run(command, cwd=repo, capture_output=True, text=True, check=True).stdout
        )

    model = Registry(repo / "runs").model(MODEL)
    gto_versions = sorted(row["version"] for row in gto(MODEL))
    assert gto_versions == sorted(state.version for state in model.live_versions())
    gto_stages = gto()[MODEL]["stage"]
    ours = {stage: state.version for stage, state in model.stage_holders().items()}
    assert (
        gto_stages == ours == {"archived": "v1.0.0", "champion": "v3.0.0", "production": "v3.0.0"}
    )


def test_models_cli(repo: Path, three_runs):
    runner = CliRunner()

    def invoke(*args: str) -> str:
        result = runner.invoke(cli, list(args))
        assert result.exit_code == 0, result.output
        return result.output

    out = invoke("models", "register", MODEL, "--run", three_runs[0][:20], "-d", "first")
    assert f"Registered {MODEL} version 1" in out and "git push --tags" in out
    invoke("models", "register", MODEL, "--run", three_runs[1])
    invoke("models", "promote", MODEL, "1", "production")
    out = invoke("models", "promote", MODEL, "2", "Production", "--archive-existing")
    assert "version 2 is now in Production" in out
    listed = json.loads(invoke("models", "list", "--json"))
    assert listed[0]["name"] == MODEL
    shown = json.loads(invoke("models", "show", MODEL, "--json"))
    assert {v["version"]: v["stage"] for v in shown["versions"]} == {
        1: "Archived",
        2: "Production",
    }
    history = json.loads(invoke("models", "history", MODEL, "--json"))
    assert [row["what"] for row in history] == [
        "registered v1", "registered v2", "v1 → Production", "v1 leaves Production",
        "v1 → Archived", "v2 → Production",
    ]  # fmt: skip
    assert all(row["who"] == "Test User" and row["time"] > 0 for row in history)
    assert "Production" in invoke("models", "show", MODEL)
    bad = runner.invoke(cli, ["models", "register", "bad\tname", "--run", three_runs[2]])
    assert bad.exit_code == 1 and "without control characters" in bad.output


def test_a_fresh_repository_without_commits(tmp_path: Path, monkeypatch):
    project = tmp_path / "p"
    project.mkdir()
    git(project, "init", "-q")
    monkeypatch.chdir(project)
    run_id = log_model_run(2.0)
    version = mlflow.register_model(f"runs:/{run_id}/model", MODEL)
    assert version.version == 1


def test_a_run_that_git_ignores_cannot_be_registered(repo: Path):
    (repo / ".gitignore").write_text("runs/\n")
    git(repo, "add", ".gitignore")
    git(repo, "commit", "-qm", "ignore runs, an mlruns habit")
    mlflow.set_experiment("exp")
    run_id = log_model_run(1.0)
    before = tags(repo)
    with pytest.raises(GitrunsError, match=r"ignored by a \.gitignore"):
        mlflow.register_model(f"runs:/{run_id}/model", MODEL)
    assert tags(repo) == before


def test_a_branch_cannot_swap_the_production_model_without_a_tag(repo: Path, three_runs: list[str]):
    client = MlflowClient()
    client.create_model_version(MODEL, f"runs:/{three_runs[0]}/model")
    client.transition_model_version_stage(MODEL, 1, "Production")
    work_tree_model = next((repo / "runs").glob(f"*/{three_runs[0]}/artifacts/model"))
    (work_tree_model / "model.txt").write_text("swapped by a branch")
    git(repo, "commit", "-qam", "update the model files")
    os.symlink("/etc/passwd", work_tree_model / "extra.txt")
    folder = locate_model(Registry(repo / "runs"), f"models:/{MODEL}/Production")
    assert (folder / "model.txt").read_text() == "weights"
    assert not (folder / "extra.txt").exists()
    again = locate_model(Registry(repo / "runs"), f"models:/{MODEL}/1")
    assert again == folder  # cached by commit


def test_promote_knows_the_stages_and_custom_ones_need_a_flag(repo: Path, three_runs: list[str]):
    MlflowClient().create_model_version(MODEL, f"runs:/{three_runs[0]}/model")
    before = tags(repo)
    typo = CliRunner().invoke(cli, ["models", "promote", MODEL, "1", "prod"])
    assert typo.exit_code == 1
    assert "'prod' is not a stage" in typo.output and "Did you mean 'production'?" in typo.output
    assert "--custom-stage" in typo.output
    assert tags(repo) == before  # nothing written
    with pytest.raises(InvalidName, match="not a stage"):
        MlflowClient().transition_model_version_stage(MODEL, 1, "Prodution")
    custom = CliRunner().invoke(cli, ["models", "promote", MODEL, "1", "dev", "--custom-stage"])
    assert custom.exit_code == 0, custom.output
    assert any(tag.startswith(f"{MODEL}#dev#") for tag in tags(repo))
    known = CliRunner().invoke(cli, ["models", "promote", MODEL, "v1", "Production"])
    assert known.exit_code == 0 and "is now in Production" in known.output


def test_model_names_from_mlflows_docs_are_kept_and_tags_stay_in_gtos_grammar(
    repo: Path, three_runs
):
    client = MlflowClient()
    for name in ("my_ml_model", "SklearnLinearRegression"):
        version = mlflow.register_model(f"runs:/{three_runs[0]}/model", name)
        assert (version.name, version.version) == (name, 1)
        client.transition_model_version_stage(name, 1, "Production")
    names = sorted(model.name for model in client.search_registered_models())
    assert names == ["SklearnLinearRegression", "my_ml_model"]
    created = [tag for tag in tags(repo) if "@v1.0.0" in tag]
    assert all(tag.startswith("mlflow-b32-") for tag in created)
    assert all(parse_tag_name(tag) is not None for tag in tags(repo))  # GTO's grammar
    message = git(repo, "tag", "-l", "--format=%(contents)", created[0])
    assert "my_ml_model" in message or "SklearnLinearRegression" in message
    located = locate_model(Registry(repo / "runs"), "models:/my_ml_model/Production")
    assert (located / "model.txt").read_text() == "weights"
    with pytest.raises(GitrunsError, match=r"Registered Model with name=My_ML_Model not found"):
        client.get_registered_model("My_ML_Model")  # names are case-sensitive, as in MLflow


def test_aliases_are_case_sensitive_as_in_mlflow(repo: Path, three_runs):
    client = MlflowClient()
    for run_id in three_runs:
        mlflow.register_model(f"runs:/{run_id}/model", MODEL)
    client.set_registered_model_alias(MODEL, "Champion", 1)
    client.set_registered_model_alias(MODEL, "champion", 2)
    assert client.get_model_version_by_alias(MODEL, "Champion").version == 1
    assert client.get_model_version_by_alias(MODEL, "champion").version == 2
    assert client.get_registered_model(MODEL).aliases == {"Champion": 1, "champion": 2}
    assert client.get_model_version(MODEL, 1).aliases == ["Champion"]
    assert all(parse_tag_name(tag) is not None for tag in tags(repo))  # GTO's grammar
    client.delete_registered_model_alias(MODEL, "Champion")
    assert client.get_registered_model(MODEL).aliases == {"champion": 2}
    # gitruns 0.1 kept aliases lower-cased: one given as "Challenger" was tagged "challenger".
    commit = git(repo, "rev-list", "-n", "1", f"{MODEL}@v3.0.0").strip()
    message = f"{MODEL} v3: challenger\n\nversion: '3'\nstage: challenger\n"
    subprocess.run(  # dated after the registry's own tags, which it spaces a second apart
        ["git", *GIT_IDENTITY, "tag", "-a", f"{MODEL}#challenger#99", "-m", message, commit],
        cwd=repo,
        check=True,
        env={**os.environ, "GIT_COMMITTER_DATE": "@2000000000 +0000"},
    )
    assert client.get_model_version_by_alias(MODEL, "Challenger").version == 3


def test_registry_tags_and_copies_as_in_mlflows_docs(repo: Path, three_runs):
    client = MlflowClient()
    mlflow.register_model(f"runs:/{three_runs[0]}/model", MODEL)
    client.set_registered_model_tag(MODEL, "task", "regression")
    client.set_model_version_tag(MODEL, 1, "validation_status", "approved")
    assert client.get_registered_model(MODEL).tags == {"task": "regression"}
    assert client.get_model_version(MODEL, 1).tags == {"validation_status": "approved"}
    mlflow.register_model(f"runs:/{three_runs[1]}/model", MODEL)  # the model's tags carry on
    assert client.get_registered_model(MODEL).tags == {"task": "regression"}
    assert client.get_model_version(MODEL, 2).tags == {}
    client.delete_model_version_tag(MODEL, 1, "validation_status")
    client.delete_registered_model_tag(MODEL, "task")
    assert client.get_model_version(MODEL, 1).tags == {}
    assert client.get_registered_model(MODEL).tags == {}
    copied = client.copy_model_version(f"models:/{MODEL}/2", "nyc-taxi-regressor-prod")
    assert (copied.name, copied.version, copied.run_id) == (
        "nyc-taxi-regressor-prod",
        1,
        three_runs[1],
    )
    assert all(parse_tag_name(tag) is not None for tag in tags(repo))


def test_renaming_a_model_keeps_its_versions_stages_and_history(repo: Path, three_runs):
    client = MlflowClient()
    for run_id in three_runs[:2]:
        mlflow.register_model(f"runs:/{run_id}/model", MODEL)
    client.transition_model_version_stage(MODEL, 2, "Production")
    client.set_registered_model_alias(MODEL, "Champion", 1)
    before = client.get_model_version(MODEL, 2)
    renamed = client.rename_registered_model(MODEL, "taxi_duration")
    assert renamed.name == "taxi_duration"
    assert client.get_model_version_by_alias("taxi_duration", "Champion").version == 1
    after = client.get_model_version("taxi_duration", 2)
    assert (after.current_stage, after.run_id) == ("Production", before.run_id)
    assert after.creation_timestamp == before.creation_timestamp  # same tagger date
    assert not any(tag.startswith(MODEL) for tag in tags(repo))
    with pytest.raises(GitrunsError, match=r"Registered Model with name=.* not found"):
        client.get_registered_model(MODEL)
    mlflow.register_model(f"runs:/{three_runs[2]}/model", "taxi_duration")
    assert client.get_model_version("taxi_duration", 3).run_id == three_runs[2]


def test_a_deleted_model_registered_again_starts_at_version_1(repo: Path, three_runs):
    client = MlflowClient()
    for run_id in three_runs[:2]:
        mlflow.register_model(f"runs:/{run_id}/model", MODEL)
    client.delete_registered_model(MODEL)
    version = client.create_model_version(
        MODEL, f"runs:/{three_runs[2]}/model", tags={"reviewed": "yes"}
    )
    assert (version.version, version.run_id, version.tags) == (
        1,
        three_runs[2],
        {"reviewed": "yes"},
    )
    assert [v.version for v in client.search_model_versions(f"name='{MODEL}'")] == [1]
    assert tags(repo) == [f"{MODEL}@v1.0.0"]


def test_a_model_announced_with_no_version_is_kept_for_every_process(repo: Path, three_runs):
    client = MlflowClient()
    client.create_registered_model("announced", tags={"team": "pricing"}, description="fares")
    client.set_registered_model_tag("announced", "owner", "ana")
    client.delete_registered_model_tag("announced", "team")
    client.update_registered_model("announced", "taxi fares")
    client.rename_registered_model("announced", "taxi-fares")
    with pytest.raises(GitrunsError) as taken:
        client.create_registered_model("taxi-fares")
    assert taken.value.error_code == "RESOURCE_ALREADY_EXISTS"
    assert "Registered Model (name=taxi-fares) already exists" in taken.value.message
    client.create_registered_model("short-lived")
    client.delete_registered_model("short-lived")
    seen = run_python(
        "import json, gitruns; c = gitruns.MlflowClient(); "
        "m = c.get_registered_model('taxi-fares'); "
        "print(json.dumps([m.name, m.description, m.tags, "
        "[x.name for x in c.search_registered_models()]]))",
        cwd=repo,
    )
    assert seen.returncode == 0, seen.stderr
    assert json.loads(seen.stdout.strip().splitlines()[-1]) == [
        "taxi-fares",
        "taxi fares",
        {"owner": "ana"},
        ["taxi-fares"],
    ]
    assert tags(repo) == []  # nothing in git until its first version
    client.create_model_version("taxi-fares", f"runs:/{three_runs[0]}/model")
    model = client.get_registered_model("taxi-fares")
    assert (model.description, model.tags) == ("taxi fares", {"owner": "ana"})
    assert tags(repo) == ["taxi-fares@v1.0.0"]
    if gto_command() is not None:
        shown = subprocess.run(
            [gto_command(), "show", "--json"], cwd=repo, capture_output=True, text=True
        )
        assert shown.returncode == 0, shown.stderr
        assert "taxi-fares" in json.loads(shown.stdout)
