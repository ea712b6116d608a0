"""Every surface asked the same question on the same runs gives one answer: the primary
metric and best run (the CLI's listings, the site, the review, the models pages), MLflow's
experiment "0" (the fluent API, the client, the REST server), a stage's spelling."""

from __future__ import annotations

import json
import math
import re
from pathlib import Path

import pytest
from click.testing import CliRunner

import gitruns
from gitruns.cli import cli
from gitruns.site import build_site
from tests.conftest import git
from tests.mlflow_bridge.test_mlflow_bridge import MlflowServer, needs_mlflow


def invoke(*args: str) -> str:
    result = CliRunner().invoke(cli, list(args))
    assert result.exit_code == 0, result.output
    return result.output


def log(name: str, rmse: float) -> str:
    with gitruns.start_run(run_name=name) as run:
        gitruns.log_metric("rmse", rmse)
        gitruns.log_metric("training_time", 0.5)  # on every run: timing never ranks
        gitruns.log_metric("epochs", 10)
    return run.info.run_id


@pytest.fixture()
def runs(repo: Path) -> dict[str, str]:
    """No primary metric declared; rmse 5 on main, then 3, -inf and a deleted 1 on a branch;
    the best run is registered and put in Production."""
    gitruns.set_experiment("taxi")
    ids = {"base": log("base", 5.0)}
    git(repo, "add", "runs")
    git(repo, "commit", "-qm", "main's runs")
    git(repo, "checkout", "-q", "-b", "tune")
    ids["three"] = log("three", 3.0)
    ids["minus-inf"] = log("minus-inf", -math.inf)
    ids["deleted"] = log("deleted", 1.0)
    client = gitruns.MlflowClient()
    client.delete_run(ids["deleted"])
    with gitruns.start_run(run_id=ids["three"]):
        gitruns.log_text("weights", "model/weights.txt")
    git(repo, "add", "runs")
    git(repo, "commit", "-qm", "tuning runs")
    client.create_model_version("taxi-model", f"runs:/{ids['three']}/model", ids["three"])
    client.transition_model_version_stage("taxi-model", 1, "production")
    return ids


def test_every_surface_names_one_primary_metric_and_one_best_run(repo: Path, runs):
    best = runs["three"]

    (listed,) = json.loads(invoke("experiments", "list", "--json"))
    assert (listed["primary_metric"], listed["goal"]) == ("rmse", "minimize")
    assert (listed["best"], listed["best_run_id"]) == (3.0, best)
    assert listed["primary_metric_declared"] is False
    table = " ".join(invoke("experiments", "list").split())
    assert "rmse (minimize)*" in table and best[:12] in table

    said = " ".join(invoke("runs", "list", "-e", "taxi").split())
    assert f"Best of taxi by rmse (minimize)*: three {best[:8]}" in said and "= 3" in said

    review = json.loads(invoke("review", "--base", "main", "--format", "json"))
    (experiment,) = review["experiments"]
    assert (experiment["metric"], experiment["goal"]) == ("rmse", "minimize")
    best_added = min(
        (run for run in experiment["added"] if run["value"] is not None),
        key=lambda run: run["value"],
    )
    assert best_added["id"] == best

    build_site(repo / "runs", repo / "site")
    page = (repo / "site" / "experiments" / "taxi.html").read_text()
    facts = re.search(r'<p class="facts">(.*?)</p>', page, re.S).group(1)
    assert "primary metric <b>rmse</b> (minimize)" in facts
    assert f'href="../runs/{best}.html"' in facts
    model_page = (repo / "site" / "models" / "taxi-model.html").read_text()
    cell = re.search(r'<td class="primary-metric">(.*?)</td>', model_page, re.S).group(1)
    assert "rmse = 3" in cell and "best run" in cell
    version_page = (repo / "site" / "models" / "taxi-model" / "v1.html").read_text()
    assert "the best run of its experiment" in version_page


def test_a_stage_is_spelt_one_way_everywhere(repo: Path, runs):
    listed = invoke("models", "list")
    shown = invoke("models", "show", "taxi-model")
    assert "Production: v1" in listed and "production" not in listed
    assert "Production" in shown and "production" not in shown
    build_site(repo / "runs", repo / "site")
    for page in ("models.html", "models/taxi-model.html", "models/taxi-model/v1.html"):
        text = (repo / "site" / page).read_text()
        assert ">Production<" in text and "→ production" not in text, page


def test_mlflows_experiment_0_is_the_default_experiment_through_every_door(repo: Path):
    with gitruns.start_run():  # into the Default experiment
        gitruns.log_metric("rmse", 1.0)
    fluent = gitruns.get_experiment("0")
    client = gitruns.MlflowClient().get_experiment("0")
    assert fluent.name == client.name == "Default"
    assert fluent.experiment_id == client.experiment_id
    with gitruns.start_run(experiment_id="0") as run:
        pass
    assert run.info.experiment_id == fluent.experiment_id


@needs_mlflow
@pytest.mark.slow
def test_the_rest_server_answers_experiment_0_as_the_default_experiment(repo: Path):
    with gitruns.start_run():
        gitruns.log_metric("rmse", 1.0)
    expected = gitruns.get_experiment("0").experiment_id
    with MlflowServer("gitruns:./runs", repo) as server:
        answered = server.call("GET", "experiments/get?experiment_id=0")["experiment"]
    assert (answered["name"], answered["experiment_id"]) == ("Default", expected)
