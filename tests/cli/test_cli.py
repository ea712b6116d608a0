"""The command line: each command works, explains itself, and fails in one clear line."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import click
import pytest
from click.testing import CliRunner

import gitruns
from gitruns.cli import cli
from gitruns.store.check import check_runs
from gitruns.store.folder import RunStore
from gitruns.store.run_record import read_run_record
from tests.conftest import git, installed_command, run_python

ROOT = Path(__file__).resolve().parents[2]


def gitruns_command() -> str:
    return installed_command("gitruns")


def run_gitruns(*args: str, **kwargs) -> subprocess.CompletedProcess[str]:
    """The installed command, in a process of its own, as a user runs it."""
    return subprocess.run(
        [gitruns_command(), *args], capture_output=True, text=True, timeout=300, **kwargs
    )


@pytest.mark.slow
def test_demo_tunes_registers_and_commits(tmp_path: Path):
    target = tmp_path / "demo"
    result = run_gitruns("demo", str(target), "--trials", "3", "--rows", "2000")
    assert result.returncode == 0, result.stderr
    assert "Best of" in result.stdout and "xgboost-best" in result.stdout
    assert "Registered nyc-taxi-regressor v1: Production" in result.stdout
    subjects = git(target, "log", "--format=%s").splitlines()
    assert subjects[0] == "Add demo runs" and subjects[-1] == "Add the demo's training script"
    assert any(subject.startswith("Add run ") for subject in subjects)
    assert git(target, "status", "--porcelain") == ""
    assert set(git(target, "tag").split()) == {
        "nyc-taxi-regressor@v1.0.0",
        "nyc-taxi-regressor#production#1",
    }
    records = [read_run_record(path) for path in RunStore(target / "runs").run_dirs()]
    names = sorted(r.name for r in records)
    assert names == sorted(
        ["ridge-baseline", "hyperopt-search", "xgboost-best", "trial-1", "trial-2", "trial-3"]
    )
    assert all(r.status == "FINISHED" for r in records)
    code_commit = git(target, "rev-list", "--max-parents=0", "HEAD").strip()
    assert {r.git["commit"] for r in records} == {code_commit}
    trials = [r for r in records if r.name.startswith("trial-")]
    parent = next(r for r in records if r.name == "hyperopt-search")
    assert all(r.parent == parent.id for r in trials)
    assert all("validation-rmse" in r.metrics and "rmse" in r.metrics for r in trials)
    assert check_runs(target / "runs").ok
    (experiment,) = json.loads(run_gitruns("experiments", "list", "--json", cwd=target).stdout)
    assert (experiment["primary_metric"], experiment["goal"]) == ("rmse", "minimize")
    assert experiment["primary_metric_declared"] is True  # the demo says so
    # A branch adding the demo's runs (against its first commit) is judged on rmse.
    first = git(target, "rev-list", "--max-parents=0", "HEAD").strip()
    reviewed = run_gitruns("review", "--base", first, "--format", "json", cwd=target)
    (judged,) = json.loads(reviewed.stdout)["experiments"]
    assert (judged["metric"], judged["goal"]) == ("rmse", "minimize")

    with_model = [
        r
        for r in records
        if (target / "runs" / r.experiment / r.id / "artifacts" / "model").is_dir()
    ]
    best = min(with_model, key=lambda r: r.metrics["rmse"].last)
    load = run_python(
        "import gitruns\n"
        "client = gitruns.MlflowClient()\n"
        "version = client.get_latest_versions('nyc-taxi-regressor', ['Production'])[0]\n"
        "model = gitruns.pyfunc.load_model('models:/nyc-taxi-regressor/Production')\n"
        "print(version.run_id, model.flavor)",
        cwd=target,
    )
    run_id, flavor = load.stdout.split()
    assert run_id == best.id and flavor in ("sklearn", "xgboost"), load.stderr

    again = run_gitruns("demo", str(target), "--trials", "2", "--rows", "2000")
    assert again.returncode == 0, again.stderr
    # Training again registers a new version only if a better model came out of it.
    registered = [line for line in again.stdout.splitlines() if line.startswith("Registered ")]
    assert sum(": Production " in line for line in registered) == 1, registered
    assert len(set(git(target, "tag").split()) - {"nyc-taxi-regressor@v1.0.0"}) >= 1

    # Every "Next:" line runs as printed, from where the demo was started.
    commands = again.stdout.split("Next:", 1)[1].splitlines()
    shown = [line.split("#")[0].strip() for line in commands if line.strip()]
    assert shown[0] == f"cd {target}" and "python train.py" in shown
    for command in shown[1:]:
        if command.startswith(("gitruns ui", "python")):
            continue  # a server, and a retraining: each tried elsewhere
        result = subprocess.run(
            f"{shown[0]} && {command.replace('gitruns', gitruns_command(), 1)}",
            shell=True, capture_output=True, text=True, cwd=tmp_path,
        )  # fmt: skip
        assert result.returncode == 0, (command, result.stderr)

    # Training again with nothing better leaves production as it is: no new version.
    tags_before = set(git(target, "tag").split())
    retrain = subprocess.run(
        [sys.executable, "train.py"], cwd=target, capture_output=True, text=True, timeout=300,
        env={**os.environ, "DEMO_TRIALS": "1"},
    )  # fmt: skip
    assert retrain.returncode == 0, retrain.stderr
    assert "stays in production" in retrain.stdout
    assert set(git(target, "tag").split()) == tags_before

    # Edits to an earlier demo are never overwritten.
    script = target / "train.py"
    script.write_text(script.read_text() + "\n# my change\n")
    edited = run_gitruns("demo", str(target), "--trials", "2", "--rows", "2000")
    assert edited.returncode == 1 and "train.py you changed" in edited.stderr
    assert script.read_text().endswith("# my change\n")


def test_the_demo_data_rewards_tuned_trees_over_the_linear_baseline():
    """As in the course: the zones' interaction with distance is what XGBoost finds."""
    import numpy as np
    import xgboost as xgb
    from sklearn.feature_extraction import DictVectorizer
    from sklearn.linear_model import Ridge

    from gitruns.demo.data import taxi_trips

    def prepared(month: int):
        trips = taxi_trips(2021, month, rows=10_000)
        minutes = (trips.lpep_dropoff_datetime - trips.lpep_pickup_datetime).dt.total_seconds() / 60
        trips = trips[(minutes >= 1) & (minutes <= 60)].assign(duration=minutes)
        trips["PU_DO"] = trips.PULocationID.astype(str) + "_" + trips.DOLocationID.astype(str)
        return trips[["PU_DO", "trip_distance"]].to_dict(orient="records"), trips.duration

    (train_x, train_y), (valid_x, valid_y) = prepared(1), prepared(2)
    vectorizer = DictVectorizer()
    x_train, x_valid = vectorizer.fit_transform(train_x), vectorizer.transform(valid_x)
    linear = Ridge(alpha=1.0).fit(x_train, train_y).predict(x_valid)
    valid = xgb.DMatrix(x_valid, label=valid_y)
    booster = xgb.train(
        {"max_depth": 6, "learning_rate": 0.3, "min_child_weight": 5, "seed": 42},
        xgb.DMatrix(x_train, label=train_y),
        num_boost_round=300,
        evals=[(valid, "validation")],
        early_stopping_rounds=20,
        verbose_eval=False,
    )
    trees = booster.predict(valid, iteration_range=(0, booster.best_iteration + 1))

    def rmse(predicted) -> float:
        return float(np.sqrt(np.mean((valid_y.to_numpy() - predicted) ** 2)))

    assert rmse(trees) < 0.96 * rmse(linear)


def test_demo_refuses_a_folder_with_other_work(tmp_path: Path):
    (tmp_path / "mine.txt").write_text("precious")
    result = CliRunner().invoke(cli, ["demo", str(tmp_path)])
    assert result.exit_code == 1
    assert "not empty" in result.output and "Traceback" not in result.output
    assert [p.name for p in tmp_path.iterdir()] == ["mine.txt"]


def test_commit_takes_the_runs_folder_alone(repo: Path):
    with gitruns.start_run():
        gitruns.log_metric("m", 1.0)
    (repo / "staged.py").write_text("print('not ready')\n")
    git(repo, "add", "staged.py")
    result = CliRunner().invoke(cli, ["commit", "-m", "Add a run"])
    assert result.exit_code == 0, result.output
    assert git(repo, "log", "-1", "--format=%s").strip() == "Add a run"
    committed = git(repo, "show", "--name-only", "--format=", "HEAD").split()
    assert committed and all(name.startswith("runs/") for name in committed)
    assert git(repo, "diff", "--cached", "--name-only").split() == ["staged.py"]
    again = CliRunner().invoke(cli, ["commit"])
    assert again.exit_code == 0 and "Nothing new" in again.output


def test_errors_are_one_line_and_exit_1(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.chdir(tmp_path)
    result = run_gitruns("commit")
    assert result.returncode == 1
    assert result.stderr.startswith("Error:") and "git init" in result.stderr
    assert "Traceback" not in result.stderr
    traced = run_gitruns("--traceback", "commit")
    assert "Traceback" in traced.stderr


def all_commands(group: click.Group, prefix: str = "") -> list[tuple[str, click.Command]]:
    found = []
    for name, command in group.commands.items():
        found.append((f"{prefix}{name}", command))
        if isinstance(command, click.Group):
            found += all_commands(command, f"{prefix}{name} ")
    return found


@pytest.mark.parametrize(("name", "command"), all_commands(cli))
def test_every_command_has_help_with_an_example_and_is_in_the_readme(
    name: str, command: click.Command
):
    assert command.help and "Example:" in command.help
    result = CliRunner().invoke(cli, [*name.split(), "--help"])
    assert result.exit_code == 0 and "Example:" in result.output
    assert f"gitruns {name}" in (ROOT / "README.md").read_text()


def test_version():
    result = CliRunner().invoke(cli, ["--version"])
    assert gitruns.__version__ in result.output


@pytest.fixture()
def logged(repo: Path) -> list[str]:
    gitruns.set_experiment("taxi", primary_metric="rmse")
    ids = []
    for model, rmse in [("lasso", 6.2), ("ridge", 5.1), ("xgboost", 4.3)]:
        with gitruns.start_run(run_name=model) as run:
            gitruns.log_params({"model": model, "seed": 1})
            gitruns.log_metric("rmse", rmse)
        ids.append(run.info.run_id)
    return ids


def invoke(*args: str):
    result = CliRunner().invoke(cli, list(args))
    assert result.exit_code == 0, result.output
    return result.output


def test_experiments_list(logged):
    output = invoke("experiments", "list")
    assert "taxi" in output and "rmse (minimize)" in output and "4.3" in output
    rows = json.loads(invoke("experiments", "list", "--json"))
    assert rows == [
        {
            "experiment_id": "taxi", "name": "taxi", "runs": 3, "primary_metric": "rmse",
            "primary_metric_declared": True, "goal": "minimize", "best": 4.3,
            "best_run_id": rows[0]["best_run_id"], "last_activity": rows[0]["last_activity"],
        }
    ]  # fmt: skip


def test_runs_list_filters_orders_and_limits(logged):
    rows = json.loads(
        invoke("runs", "list", "--json", "-f", "metrics.rmse < 6", "-o", "metrics.rmse")
    )
    assert [row["run_name"] for row in rows] == ["xgboost", "ridge"]
    assert rows[0]["params"] == {"model": "xgboost", "seed": "1"}
    table = invoke("runs", "list", "-e", "taxi", "-n", "2")
    assert "2 run(s) (more with --limit)" in table and "xgboost" in table and "lasso" not in table
    assert "rmse" in table


def test_runs_show_and_compare(logged):
    shown = invoke("runs", "show", logged[0][:20])
    assert logged[0] in shown and "lasso" in shown and "FINISHED" in shown
    assert json.loads(invoke("runs", "show", logged[0], "--json"))["params"]["model"] == "lasso"
    compared = invoke("runs", "compare", logged[0], logged[2])
    assert "≠" in compared and "params.model" in compared and "metrics.rmse" in compared
    rows = json.loads(invoke("runs", "compare", logged[0], logged[2], "--json"))
    by_key = {row["key"]: row for row in rows}
    assert by_key["model"]["differs"] and not by_key["seed"]["differs"]
    only = invoke("runs", "compare", "--only-differences", logged[0], logged[2])
    assert "params.seed" not in only


def test_runs_delete_and_restore(logged):
    invoke("runs", "delete", logged[1])
    assert [r["run_name"] for r in json.loads(invoke("runs", "list", "--json"))] == [
        "xgboost",
        "lasso",
    ]
    assert [
        r["run_name"] for r in json.loads(invoke("runs", "list", "--json", "--view", "deleted"))
    ] == ["ridge"]
    invoke("runs", "restore", logged[1])
    assert len(json.loads(invoke("runs", "list", "--json"))) == 3


def test_a_bad_filter_is_a_clear_error_not_a_traceback(logged):
    result = CliRunner().invoke(cli, ["runs", "list", "-f", "metrics.rmse <"])
    assert result.exit_code == 1
    assert "position 14" in result.output and "Traceback" not in result.output
    missing = CliRunner().invoke(cli, ["runs", "show", "ffff"])
    assert missing.exit_code == 1 and "no run id starts with 'ffff'" in missing.output


def test_an_unknown_experiment_is_named_in_the_error(logged):
    result = CliRunner().invoke(cli, ["runs", "list", "-e", "No Such Thing"])
    assert result.exit_code == 1
    assert "no experiment is named 'No Such Thing'" in result.output


def test_runs_list_reads_well_in_100_columns(repo: Path):
    """Names and statuses whole, dates on one line, children under their parent,
    params sorted as numbers, and the columns a user asks for."""
    gitruns.set_experiment("taxi", primary_metric="rmse")
    with gitruns.start_run(run_name="a-rather-long-search-name") as parent:
        for depth in (2, 9, 10, 12):
            with gitruns.start_run(run_name=f"trial-depth-{depth}", nested=True):
                gitruns.log_params({"max_depth": depth})
                gitruns.log_metrics(
                    {
                        "rmse": 5 - depth / 10,
                        "mae": 3.0,
                        "r2": 0.5,
                        "validation_loss_at_the_end": 0.25,
                        "best_iteration": 99,
                    }
                )
    result = run_gitruns("runs", "list", cwd=repo, env={**os.environ, "COLUMNS": "100"})
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert all(len(line) <= 100 for line in lines), lines
    table = [line for line in lines if "│" in line]
    names = [line for line in table if "trial-depth" in line or "a-rather-long" in line]
    assert "a-rather-long-search-name" in names[0] and "FINISHED" in names[0]
    assert all("└ trial-depth-" in line for line in names[1:])
    assert re.search(r"\d\d-\d\d \d\d:\d\d", names[1])  # the start on one line
    assert "left out to fit: choose with --columns" in result.stdout

    ordered = run_gitruns(
        "runs",
        "list",
        "-f",
        "params.max_depth > 0",
        "-o",
        "params.max_depth DESC",
        "-c",
        "params.max_depth,metrics.rmse",
        cwd=repo,
        env={**os.environ, "COLUMNS": "100"},
    )
    rows = "\n".join(line for line in ordered.stdout.splitlines() if "│" in line)
    depths = re.findall(r"trial-depth-(\d+)", rows)
    assert depths == ["12", "10", "9", "2"], ordered.stdout  # as numbers, not as text
    assert "Best of taxi by rmse (minimize): trial-depth-12" in ordered.stdout
    assert "max_depth" in ordered.stdout and "rmse" in ordered.stdout
    assert "a-rather-long-search-name" not in ordered.stdout and parent.info.run_id


def test_unknown_keys_and_order_by_mistakes_say_what_to_write(logged):
    typo = CliRunner().invoke(cli, ["runs", "list", "-f", "metrics.rmsee < 5"])
    assert typo.exit_code == 1 and "did you mean metrics.rmse?" in typo.output
    param = CliRunner().invoke(cli, ["runs", "list", "-o", "params.mdoel"])
    assert param.exit_code == 1
    assert "invalid order-by" in param.output and "did you mean params.model?" in param.output
    direction = CliRunner().invoke(cli, ["runs", "list", "-o", "metrics.rmse DECS"])
    assert "invalid order-by" in direction.output and "ASC or DESC" in direction.output
    columns = CliRunner().invoke(cli, ["runs", "list", "-c", "start_time"])
    assert columns.exit_code == 1 and "metrics, params and tags" in columns.output


def test_ui_on_a_busy_port_names_the_next_free_one(logged, repo: Path):
    import socket

    from gitruns.site.serve import DEFAULT_PORT

    assert DEFAULT_PORT != 5000
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = run_gitruns("ui", "--port", str(port), cwd=repo, stdin=subprocess.DEVNULL)
    assert result.returncode == 1
    assert f"port {port} on 127.0.0.1 is in use by another program" in result.stderr
    suggested = int(re.search(r"gitruns ui --port (\d+)", result.stderr).group(1))
    assert suggested > port
    assert not (repo / "site").exists()  # refused before building anything


def test_help_examples_are_never_wrapped_mid_command():
    for name, command in all_commands(cli):
        result = CliRunner().invoke(cli, [*name.split(), "--help"], terminal_width=60)
        examples = [
            line.strip()
            for line in (command.help or "").splitlines()
            if line.strip().startswith("gitruns ")
        ]
        shown = [line.strip() for line in result.output.splitlines()]
        for example in examples:
            assert example in shown, (name, example)


def test_reading_commands_say_where_they_looked_when_there_is_no_runs_folder(tmp_path: Path):
    outside = tmp_path / "not-a-project"
    outside.mkdir()
    env = {k: v for k, v in os.environ.items() if k not in ("GITRUNS_DIR", "MLFLOW_TRACKING_URI")}
    for command in (["runs", "list"], ["site", "build"], ["experiments", "list"]):
        result = run_gitruns(*command, cwd=outside, env=env)
        assert result.returncode == 1, result.stdout
        assert "no runs folder found: looked for" in result.stderr
        assert "not inside a git repository" in result.stderr and "--runs-dir" in result.stderr
    assert list(outside.iterdir()) == []  # no empty site/ left behind
    git(outside, "init", "--quiet")
    result = run_gitruns("runs", "show", "01a2", cwd=outside, env=env)
    assert f"runs/ at the top of the git repository {outside}" in result.stderr
    result = run_gitruns("runs", "list", cwd=outside, env={**env, "GITRUNS_DIR": "elsewhere"})
    assert "(named by GITRUNS_DIR)" in result.stderr


def test_a_misspelt_model_or_experiment_gets_the_name_that_exists(repo: Path):
    gitruns.set_experiment("nyc-taxi-experiment")
    with gitruns.start_run() as run:
        gitruns.log_text("flavors: {}", "model/MLmodel")
    gitruns.register_model(f"runs:/{run.info.run_id}/model", "nyc-taxi-regressor")
    result = CliRunner().invoke(cli, ["models", "promote", "nyc-taxi-regresor", "1", "staging"])
    assert result.exit_code == 1
    assert "Did you mean nyc-taxi-regressor?" in result.output
    assert "nyc-taxi-regresor" not in gitruns.MlflowClient().search_registered_models()[0].name
    result = CliRunner().invoke(cli, ["runs", "list", "-e", "nyc-taxi"])
    assert result.exit_code == 1 and "Did you mean 'nyc-taxi-experiment'?" in result.output
