"""`gitruns check`: the schema shipped with the package, applied to a whole tree."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
from click.testing import CliRunner

import gitruns
from gitruns.cli import cli
from gitruns.store.check import check_runs, load_schema


def make_runs(count: int = 2) -> list[Path]:
    gitruns.set_experiment("checked")
    folders = []
    for i in range(count):
        with gitruns.start_run() as run:
            gitruns.log_param("i", i)
            gitruns.log_metric("loss", 0.5, step=1)
        folders.append(Path(run.info.artifact_uri.removeprefix("file://")).parent)
    return folders


def test_the_schemas_ship_and_are_valid_json_schema():
    for name in ("run", "experiment"):
        schema = load_schema(name)
        jsonschema.validators.validator_for(schema).check_schema(schema)


def test_a_tree_of_fresh_runs_is_valid(repo: Path):
    make_runs(3)
    report = check_runs(repo / "runs")
    assert report.ok and (report.experiments, report.runs) == (1, 3)
    result = CliRunner().invoke(cli, ["check", "runs"])
    assert result.exit_code == 0 and "every record is valid" in result.output


def test_the_runs_folder_is_named_as_every_command_names_it(repo: Path, tmp_path: Path):
    """--runs-dir, as the other commands take it; the RUNS_DIR argument still works; two
    different folders are refused, naming both."""
    make_runs(1)
    elsewhere = repo / "runs"
    (tmp_path / "empty").mkdir()
    for command in ("check", "migrate"):
        for args in (["--runs-dir", str(elsewhere)], [str(elsewhere)]):
            result = CliRunner().invoke(cli, [command, *args])
            assert result.exit_code == 0, (command, args, result.output)
            assert "1 run(s)" in result.output or "1 run(s) already current" in result.output
        both = CliRunner().invoke(cli, [command, str(tmp_path / "empty"), "--runs-dir", "runs"])
        assert both.exit_code == 2 and "two runs folders given" in both.output
        assert str(tmp_path / "empty") in both.output
    committed = CliRunner().invoke(cli, ["commit", "--runs-dir", "runs", "-m", "Runs"])
    assert committed.exit_code == 0 and "Committed" in committed.output


def test_every_bad_record_is_listed_by_path(repo: Path):
    good, broken_yaml, bad_fields, moved = make_runs(4)
    (broken_yaml / "run.yaml").write_text("id: [not closed\n")
    text = (bad_fields / "run.yaml").read_text()
    (bad_fields / "run.yaml").write_text(text.replace("status: FINISHED", "status: DONE"))
    text = (moved / "run.yaml").read_text()
    (moved / "run.yaml").write_text(text.replace(f'id: "{moved.name}"', 'id: "' + "f" * 32 + '"'))
    (repo / "runs" / "checked" / "not-a-run").mkdir()
    (good / "metrics.tsv").write_text("step\ttimestamp\tloss\n0\t1\tfast\n")
    (repo / "runs" / "checked" / ("a" * 32)).mkdir()

    report = check_runs(repo / "runs")
    by_path = {str(problem.path) for problem in report.problems}
    assert str(broken_yaml / "run.yaml") in by_path
    assert str(bad_fields / "run.yaml") in by_path
    assert str(moved / "run.yaml") in by_path
    assert str(good / "metrics.tsv") in by_path
    assert str(repo / "runs" / "checked" / "not-a-run") in by_path
    assert str(repo / "runs" / "checked" / ("a" * 32)) in by_path
    messages = " ".join(problem.message for problem in report.problems)
    assert "'DONE' is not one of" in messages and "differs from its folder" in messages

    result = CliRunner().invoke(cli, ["check"])
    assert result.exit_code == 1
    assert "6 problem(s)" in result.output
    assert result.output.count("✗") == 6


def test_a_run_yaml_validates_against_the_schema_as_json(repo: Path):
    (folder,) = make_runs(1)
    import yaml

    document = yaml.safe_load((folder / "run.yaml").read_text())
    jsonschema.validate(json.loads(json.dumps(document)), load_schema("run"))


def test_missing_runs_folder_is_a_problem(tmp_path: Path):
    report = check_runs(tmp_path / "nowhere")
    assert not report.ok and "no such folder" in report.problems[0].message


def test_logged_models_of_their_own_folders_are_checked_too(repo: Path):
    from gitruns import MlflowClient

    make_runs(1)
    client = MlflowClient()
    kept = client.create_logged_model("checked", name="candidate", params={"alpha": "1"})
    assert check_runs(repo / "runs").ok  # the models/ folder is not taken for a run
    models = repo / "runs" / "checked" / "models"
    (models / kept.model_id / "model.yaml").write_text("schema: 1\nid: m-elsewhere\n")
    (models / "notes").mkdir()
    problems = [str(problem) for problem in check_runs(repo / "runs").problems]
    assert any("its id is not its folder's name" in problem for problem in problems)
    assert any("notes: not a logged model's folder" in problem for problem in problems)
    assert check_runs(repo / "runs").runs == 1
