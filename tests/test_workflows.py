"""gitruns init, and the GitHub workflows: valid, and their commands really run."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner

import gitruns as mlflow
from gitruns.cli import cli
from gitruns.init import WORKFLOWS, init_project

from .conftest import git, installed_command
from .test_review import MARKER, FakeGitHub

ROOT = Path(__file__).resolve().parents[1]


def check_jsonschema() -> str:
    return installed_command("check-jsonschema")


def validate(paths: list[Path]) -> None:
    command = [check_jsonschema(), "--builtin-schema", "vendor.github-workflows", *map(str, paths)]
    result = subprocess.run(command, capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_repositorys_own_workflows_are_valid():
    paths = sorted((ROOT / ".github" / "workflows").glob("*.yml"))
    assert {path.name for path in paths} == {"site.yml", "review.yml", "tests.yml"}
    validate(paths)
    site = yaml.safe_load((ROOT / ".github" / "workflows" / "site.yml").read_text())
    assert site["permissions"] == {"contents": "read", "pages": "write", "id-token": "write"}
    assert "concurrency" in site
    steps = site["jobs"]["build"]["steps"]
    assert steps[0]["with"]["fetch-depth"] == 0
    uses = [step.get("uses", "") for job in site["jobs"].values() for step in job["steps"]]
    assert any(u.startswith("actions/upload-pages-artifact") for u in uses)
    assert any(u.startswith("actions/deploy-pages") for u in uses)


def test_the_repository_holds_example_runs_for_its_site():
    from gitruns.check import check_runs

    report = check_runs(ROOT / "runs")
    assert report.ok and report.runs >= 10


@pytest.mark.parametrize("name", ["site.yml", "review.yml"])
def test_the_repositorys_workflows_install_from_the_checkout(name: str):
    assert 'pip install ".[ml]"' in (ROOT / ".github" / "workflows" / name).read_text()


def test_init_writes_pinned_workflows_and_never_overwrites(repo: Path):
    result = CliRunner().invoke(cli, ["init", "--github"])
    assert result.exit_code == 0, result.output
    written = [repo / ".github" / "workflows" / name for name in WORKFLOWS]
    validate(written)
    assert f'pip install "gitruns[ml]=={mlflow.__version__}"' in written[0].read_text()
    assert "/.index/" in (repo / "runs" / ".gitignore").read_text()
    again = CliRunner().invoke(cli, ["init", "--github"])
    assert again.exit_code == 1 and "already exist" in again.output and "--force" in again.output
    assert CliRunner().invoke(cli, ["init", "--github", "--force"]).exit_code == 0
    assert init_project(repo) == []  # runs/.gitignore is already right


def _gitruns_steps(workflow: Path) -> list[str]:
    document = yaml.safe_load(workflow.read_text())
    return [
        step["run"]
        for job in document["jobs"].values()
        for step in job.get("steps", [])
        if "run" in step and "gitruns " in step["run"]
    ]


def _expand(command: str, values: dict[str, str]) -> str:
    return re.sub(r"\$\{\{\s*([^}]+?)\s*\}\}", lambda m: values[m.group(1)], command)


def test_the_workflows_commands_run(repo: Path, tmp_path: Path):
    init_project(repo, github=True)
    workflows = repo / ".github" / "workflows"
    values = {
        "steps.pages.outputs.base_url": "https://me.github.io/project",
        "github.base_ref": "main",
        "github.repository_owner": "me",
        "github.event.repository.name": "project",
    }
    mlflow.set_experiment("taxi", primary_metric="rmse")
    with mlflow.start_run():
        mlflow.log_metric("rmse", 5.0)
    git(repo, "add", "-A")
    git(repo, "commit", "-qm", "runs and workflows")
    git(repo, "update-ref", "refs/remotes/origin/main", "HEAD")
    git(repo, "checkout", "-q", "-b", "tune")
    with mlflow.start_run():
        mlflow.log_metric("rmse", 4.0)

    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"}
    (site_command,) = _gitruns_steps(workflows / "gitruns-site.yml")
    subprocess.run(_expand(site_command, values), shell=True, cwd=repo, env=env, check=True)
    index = (repo / "site" / "index.html").read_text()
    assert 'content="https://me.github.io/project"' in index

    fake = FakeGitHub()
    try:
        event = tmp_path / "event.json"
        event.write_text(json.dumps({"pull_request": {"number": 3}}))
        env.update(
            GITHUB_REPOSITORY="me/project",
            GITHUB_TOKEN="secret-token",
            GITHUB_EVENT_PATH=str(event),
            GITHUB_API_URL=fake.url,
        )
        (review_command,) = _gitruns_steps(workflows / "gitruns-review.yml")
        subprocess.run(_expand(review_command, values), shell=True, cwd=repo, env=env, check=True)
        posted = [body for method, _, body in fake.requests if method == "POST"]
        assert len(posted) == 1 and posted[0]["body"].startswith(MARKER)
        assert "https://me.github.io/project/runs/" in posted[0]["body"]
    finally:
        fake.close()
