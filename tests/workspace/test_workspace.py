"""The one door: ids, prefixes, MLflow's experiment "0" and artifact paths are resolved and
checked in the workspace, whatever surface asks."""

from __future__ import annotations

from pathlib import Path

import pytest

import gitruns
from gitruns.exceptions import (
    AmbiguousRunId,
    ExperimentNotFound,
    InvalidName,
    InvalidPath,
    RunNotFound,
)
from gitruns.store.record import ACTIVE, DELETED
from gitruns.workspace import Workspace


def _log_runs(count: int, experiment: str = "taxi") -> list[str]:
    gitruns.set_experiment(experiment)
    ids = []
    for value in range(count):
        with gitruns.start_run() as run:
            gitruns.log_metric("rmse", float(value))
            gitruns.log_text("hello", "notes/readme.txt")
        ids.append(run.info.run_id)
    return ids


def test_the_workspace_is_the_runs_folder_of_the_repository(repo: Path):
    workspace = Workspace.current()
    assert workspace.runs_dir == repo / "runs"
    assert workspace.repo_top == repo
    assert Workspace.at(repo / "runs").repo_top == repo


def test_experiment_zero_is_the_default_experiment_read_without_being_made(repo: Path):
    workspace = Workspace.current()
    assert workspace.experiments() == []
    experiment_id, record = workspace.experiment("0")
    assert (experiment_id, record.name) == ("default", "Default")
    assert [name for name, _ in workspace.experiments(with_default=True)] == ["default"]
    assert workspace.entries(["default"]) == [] and workspace.indexes(["default"]) == []
    assert not (repo / "runs").exists()  # reading wrote nothing
    workspace.create_run("0").finish("FINISHED")  # the first write makes its folder
    assert [name for name, _ in workspace.experiments()] == ["default"]


@pytest.mark.parametrize("reference", ["../outside", "a/b", ".git", "x" * 300, "Default!"])
def test_an_experiment_id_that_could_name_a_path_is_refused(repo: Path, reference: str):
    with pytest.raises(ExperimentNotFound, match="not an experiment id"):
        Workspace.current().experiment(reference)


def test_a_number_other_than_zero_names_no_experiment(repo: Path):
    with pytest.raises(ExperimentNotFound, match="by folder"):
        Workspace.current().experiment("42")


def test_a_run_is_found_by_a_unique_prefix_and_an_ambiguous_one_is_refused(repo: Path):
    ids = _log_runs(2)
    workspace = Workspace.current()
    record, run_dir = workspace.load_run(ids[0][:20])
    assert (record.id, run_dir.name) == (ids[0], ids[0])
    differs_at = next(at for at, (a, b) in enumerate(zip(*ids, strict=True)) if a != b)
    shared = ids[0][:differs_at]
    with pytest.raises(AmbiguousRunId, match="Give more characters"):
        workspace.run_dir(shared)
    with pytest.raises(RunNotFound, match="gitruns runs list"):
        workspace.run_dir("f" * 32)
    with pytest.raises(RunNotFound, match="not a run id"):
        workspace.run_dir("../" + ids[0])


def test_an_artifact_path_stays_inside_the_run(repo: Path):
    (run_id,) = _log_runs(1)
    workspace = Workspace.current()
    assert workspace.artifact_path(run_id, "notes/readme.txt").read_text() == "hello"
    assert workspace.artifact_path(run_id, None) == workspace.artifacts_dir(run_id)
    for climbing in ("../run.yaml", "/etc/passwd", "notes/../../run.yaml"):
        with pytest.raises(InvalidPath):
            workspace.artifact_path(run_id, climbing)
    with pytest.raises(InvalidPath, match="has no artifact"):
        workspace.artifact_path(run_id, "notes/missing.txt")


def test_an_artifact_reached_through_a_link_is_refused(repo: Path, tmp_path: Path):
    (run_id,) = _log_runs(1)
    workspace = Workspace.current()
    secret = tmp_path / "secret.txt"
    secret.write_text("private")
    (workspace.artifacts_dir(run_id) / "escape").symlink_to(tmp_path)
    with pytest.raises(InvalidPath, match="symbolic link"):
        workspace.artifact_path(run_id, "escape/secret.txt")


def test_a_run_brought_from_elsewhere_needs_ids_that_name_no_path(repo: Path):
    workspace = Workspace.current()
    experiment_id = workspace.ensure_experiment("imported")
    good = "a" * 32
    assert workspace.new_run_dir(experiment_id, good) == repo / "runs" / experiment_id / good
    for bad in ("../" + good, good.upper(), good + "/x", "a" * 31):
        with pytest.raises(InvalidName, match="not a run id"):
            workspace.new_run_dir(experiment_id, bad)
    with pytest.raises(ExperimentNotFound, match="not an experiment id"):
        workspace.new_run_dir("../up", good)


def test_declaring_the_primary_metric_keeps_the_experiments_tags(repo: Path):
    gitruns.create_experiment("taxi", tags={"team": "pricing"})
    gitruns.set_experiment("taxi", description="fares", primary_metric="rmse")
    experiment = gitruns.get_experiment_by_name("taxi")
    assert experiment is not None
    assert experiment.tags["team"] == "pricing"
    assert experiment.tags["mlflow.note.content"] == "fares"
    _, record = Workspace.current().experiment(experiment.experiment_id)
    assert (record.primary_metric, record.goal) == ("rmse", "minimize")


def test_summaries_list_experiments_by_stage_with_the_one_ranking(repo: Path):
    ids = _log_runs(3)
    _log_runs(1, experiment="gone")
    client = gitruns.MlflowClient()
    client.delete_experiment(client.get_experiment_by_name("gone").experiment_id)
    workspace = Workspace.current()
    active = workspace.summaries()
    assert [(s.name, s.runs) for s in active] == [("taxi", 3)]
    assert (active[0].ranking.best_id, active[0].best) == (ids[0], 0.0)
    assert workspace.ranking("taxi").best_id == ids[0]
    assert [s.name for s in workspace.summaries((DELETED,))] == ["gone"]
    assert sorted(s.name for s in workspace.summaries((ACTIVE, DELETED))) == ["gone", "taxi"]


def test_a_renamed_experiment_keeps_its_folder_and_frees_its_old_name(repo: Path):
    from click.testing import CliRunner

    from gitruns.cli import cli

    (run_id,) = _log_runs(1, "taxi")
    workspace = Workspace.current()
    result = CliRunner().invoke(cli, ["experiments", "rename", "taxi", "nyc taxi"])
    assert result.exit_code == 0, result.output
    assert "Renamed experiment taxi to nyc taxi (id taxi)" in result.output
    assert workspace.find_experiment("nyc taxi")[0] == "taxi"  # the same folder, the id
    assert workspace.find_experiment("taxi") is None
    assert gitruns.get_run(run_id).info.experiment_id == "taxi"
    gitruns.set_experiment("taxi")  # the old name, free again: a folder of its own
    with gitruns.start_run() as again:
        pass
    moved = again.info.experiment_id
    assert moved.startswith("taxi-") and (repo / "runs" / moved / "experiment.yaml").exists()
    assert workspace.find_experiment("taxi")[0] == moved
    with pytest.raises(InvalidName, match=r"Experiment\(name=nyc taxi\) already exists"):
        workspace.rename_experiment(moved, "nyc taxi")
    with pytest.raises(InvalidName):
        workspace.rename_experiment("taxi", "")
    assert workspace.experiment("taxi")[1].name == "nyc taxi"  # nothing changed


def test_an_empty_artifact_location_is_none_as_mlflows_rest_api_sends_it(repo: Path):
    from gitruns import MlflowClient

    client = MlflowClient()
    experiment_id = client.create_experiment("located", artifact_location="")
    assert Workspace.current().experiment(experiment_id)[1].artifact_location is None
    assert client.get_experiment(experiment_id).artifact_location.endswith("/runs/located")
