"""gitruns init, and the GitHub workflows: valid, and their commands really run."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner

import gitruns as mlflow
from gitruns.cli import cli
from gitruns.init import WORKFLOWS, init_project, install_requirement
from tests.conftest import git, installed_command
from tests.review.test_review import MARKER, FakeGitHub

ROOT = Path(__file__).resolve().parents[2]


def check_jsonschema() -> str:
    return installed_command("check-jsonschema")


def validate(paths: list[Path]) -> None:
    command = [check_jsonschema(), "--builtin-schema", "vendor.github-workflows", *map(str, paths)]
    result = subprocess.run(command, capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_repositorys_own_workflows_are_valid():
    paths = sorted((ROOT / ".github" / "workflows").glob("*.yml"))
    assert {path.name for path in paths} == {
        "site.yml",
        "review.yml",
        "review-comment.yml",
        "tests.yml",
    }
    validate(paths)
    site = yaml.safe_load((ROOT / ".github" / "workflows" / "site.yml").read_text())
    assert site["permissions"] == {}
    assert "concurrency" in site
    steps = site["jobs"]["build"]["steps"]
    assert steps[0]["with"]["fetch-depth"] == 0
    uses = [step.get("uses", "") for job in site["jobs"].values() for step in job["steps"]]
    assert any(u.startswith("actions/upload-pages-artifact") for u in uses)
    assert any(u.startswith("actions/deploy-pages") for u in uses)


def _workflow_files() -> list[Path]:
    packaged = Path(__file__).resolve().parents[2] / "src" / "gitruns" / "workflows"
    return sorted((ROOT / ".github" / "workflows").glob("*.yml")) + sorted(packaged.glob("*.yml"))


@pytest.mark.parametrize("path", _workflow_files(), ids=lambda path: path.name)
def test_every_workflow_is_pinned_and_least_privileged(path: Path):
    text = path.read_text()
    document = yaml.safe_load(text)
    for line in text.splitlines():
        if "uses:" in line:
            # A full commit, with the version it is in a comment: a moved tag changes nothing.
            assert re.search(r"uses: [\w./-]+@[0-9a-f]{40} # v[0-9.]+", line), line
    assert document["permissions"] == {}  # nothing by default; each job says what it uses
    triggers = document.get(True) or document.get("on")  # YAML 1.1 reads the key 'on' as True
    for name, job in document["jobs"].items():
        permissions = job.get("permissions", {})
        writes = {scope for scope, level in permissions.items() if level == "write"}
        if "pull_request" in triggers:
            assert not writes, (name, writes)  # runs a fork's code: read only
        if name == "build":
            assert "pages" not in writes and "id-token" not in writes
        for step in job["steps"]:
            if step.get("uses", "").startswith("actions/checkout"):
                assert step["with"]["persist-credentials"] is False
                if "workflow_run" in triggers:  # never the pull request's code
                    assert "head" not in str(step["with"].get("ref", ""))
            # Values from events reach scripts through env, never pasted into the script.
            assert "${{" not in step.get("run", ""), step["run"]


def test_the_repository_holds_example_runs_for_its_site():
    from gitruns.store.check import check_runs

    report = check_runs(ROOT / "runs")
    assert report.ok and report.runs >= 10


@pytest.mark.parametrize("name", ["site.yml", "review.yml", "review-comment.yml"])
def test_the_repositorys_workflows_install_from_the_checkout(name: str):
    assert 'pip install "."' in (ROOT / ".github" / "workflows" / name).read_text()


def test_init_writes_pinned_workflows_and_never_overwrites(repo: Path):
    result = CliRunner().invoke(cli, ["init", "--github"])
    assert result.exit_code == 0, result.output
    written = [repo / ".github" / "workflows" / name for name in WORKFLOWS]
    validate(written)
    for path in written:
        text = path.read_text()
        assert f"pip install {install_requirement()}" in text
        assert "[ml]" not in text  # building the site and reviewing need no ML libraries
    assert "/.index/" in (repo / "runs" / ".gitignore").read_text()
    again = CliRunner().invoke(cli, ["init", "--github"])
    assert again.exit_code == 1 and "already exist" in again.output and "--force" in again.output
    assert CliRunner().invoke(cli, ["init", "--github", "--force"]).exit_code == 0
    assert init_project(repo) == []  # runs/.gitignore is already right


def _gitruns_steps(workflow: Path) -> list[tuple[str, dict[str, str]]]:
    """Each step that calls gitruns: its script and its env, as the workflow gives them."""
    document = yaml.safe_load(workflow.read_text())
    return [
        (step["run"], dict(step.get("env", {})))
        for job in document["jobs"].values()
        for step in job.get("steps", [])
        if "run" in step and re.search(r"(^|\n)\s*gitruns ", step["run"])
    ]


def _expand(text: str, values: dict[str, str]) -> str:
    return re.sub(r"\$\{\{\s*([^}]+?)\s*\}\}", lambda m: values[m.group(1)], text)


def _run_step(step: tuple[str, dict[str, str]], values, cwd: Path, env: dict[str, str]) -> None:
    script, step_env = step
    expanded = {name: _expand(str(value), values) for name, value in step_env.items()}
    subprocess.run(["bash", "-e", "-c", script], cwd=cwd, env={**env, **expanded}, check=True)


def test_the_workflows_commands_run(repo: Path, tmp_path: Path):
    """The site build, then both review stages as GitHub would run them: the first on the
    pull request's checkout with no token, the second elsewhere, with the artifact only."""
    init_project(repo, github=True)
    workflows = repo / ".github" / "workflows"
    values = {
        "steps.pages.outputs.base_url": "https://me.github.io/project",
        "github.base_ref": "main",
        "github.repository_owner": "me",
        "github.event.repository.name": "project",
        "github.event.pull_request.number": "3",
        "github.token": "secret-token",
        "github.event.workflow_run.head_sha": "a" * 40,
    }
    mlflow.set_experiment("taxi", primary_metric="rmse")
    with mlflow.start_run():
        mlflow.log_metric("rmse", 5.0)
    git(repo, "add", "-A")
    git(repo, "commit", "-qm", "runs and workflows")
    git(repo, "update-ref", "refs/remotes/origin/main", "HEAD")
    git(repo, "checkout", "-q", "-b", "tune")
    with mlflow.start_run(run_name="@octocat"):
        mlflow.log_metric("rmse", 4.0)

    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"}
    for name in ("GITHUB_TOKEN", "GITHUB_EVENT_PATH", "GITHUB_REPOSITORY"):
        env.pop(name, None)
    (site_step,) = _gitruns_steps(workflows / "gitruns-site.yml")
    _run_step(site_step, values, repo, env)
    index = (repo / "site" / "index.html").read_text()
    assert 'content="https://me.github.io/project"' in index

    (review_step,) = _gitruns_steps(workflows / "gitruns-review.yml")
    _run_step(review_step, values, repo, env)  # no token in this stage
    artifact = repo / "gitruns-review"
    assert (artifact / "pull-request.txt").read_text().strip() == "3"

    elsewhere = tmp_path / "second-stage"  # the second stage has no checkout at all
    shutil.copytree(artifact, elsewhere / "gitruns-review")
    fake = FakeGitHub()
    try:
        env.update(
            GITHUB_REPOSITORY="me/project",
            GITHUB_API_URL=fake.url,
            GITHUB_ACTIONS="true",
        )
        (comment_step,) = _gitruns_steps(workflows / "gitruns-review-comment.yml")
        _run_step(comment_step, values, elsewhere, env)
        posted = [body for method, _, body in fake.requests if method == "POST"]
        assert len(posted) == 1 and posted[0]["body"].startswith(MARKER)
        assert "https://me.github.io/project/runs/" in posted[0]["body"]
        assert "@octocat" not in posted[0]["body"]
        assert ("GET", "/repos/me/project/pulls/3", None) in fake.requests
    finally:
        fake.close()


def _distribution(tmp_path: Path, direct_url: dict | None):
    """A real installed-package record (a dist-info folder) as pip leaves one."""
    import importlib.metadata

    info = tmp_path / "gitruns-0.3.1.dist-info"
    info.mkdir()
    (info / "METADATA").write_text(
        "Metadata-Version: 2.1\nName: gitruns\nVersion: 0.3.1\n"
        "Project-URL: Homepage, https://github.com/example/gitruns\n"
    )
    if direct_url is not None:
        (info / "direct_url.json").write_text(json.dumps(direct_url))
    return importlib.metadata.PathDistribution(info)


@pytest.mark.parametrize(
    ("direct_url", "requirement"),
    [
        (None, '"gitruns==0.3.1"'),
        (
            {
                "url": "https://github.com/example/gitruns",
                "vcs_info": {"vcs": "git", "commit_id": "abc123"},
            },
            '"gitruns @ git+https://github.com/example/gitruns@abc123"',
        ),
        (
            {"url": "file:///home/me/gitruns", "dir_info": {"editable": True}},
            '"gitruns @ git+https://github.com/example/gitruns@v0.3.1"',
        ),
    ],
    ids=["from-an-index", "from-git", "from-a-folder"],
)
def test_workflows_install_gitruns_the_way_it_can_be_had(tmp_path, direct_url, requirement):
    assert install_requirement(_distribution(tmp_path, direct_url)) == requirement


@pytest.mark.skipif(
    shutil.which("git-lfs") is None,
    reason="git-lfs is not installed (apt-get install git-lfs; .ci/run installs it)",
)
def test_init_lfs_sends_model_files_through_git_lfs(repo: Path, tmp_path: Path):
    """Debian's git-lfs and a local bare remote: no network service."""
    result = CliRunner().invoke(cli, ["init", "--lfs"])
    assert result.exit_code == 0, result.output
    assert "filter=lfs" in (repo / ".gitattributes").read_text()
    model = tmp_path / "model.pkl"
    model.write_bytes(os.urandom(2 * 1024 * 1024))
    with mlflow.start_run() as run:
        mlflow.log_artifact(str(model), artifact_path="model")
        mlflow.log_text("small and plain", "notes.txt")
    git(repo, "add", "-A")
    git(repo, "commit", "-qm", "runs with a model")
    tracked = git(repo, "lfs", "ls-files", "--name-only").split()
    assert tracked == [f"runs/default/{run.info.run_id}/artifacts/model/model.pkl"]
    remote = tmp_path / "remote.git"
    git(tmp_path, "init", "--quiet", "--bare", "--initial-branch=main", str(remote))
    git(repo, "remote", "add", "origin", str(remote))
    git(repo, "push", "--quiet", "origin", "main")
    clone = tmp_path / "clone"
    git(tmp_path, "clone", "--quiet", str(remote), str(clone))
    cloned = clone / tracked[0]
    assert cloned.read_bytes().startswith(b"version https://git-lfs")  # git alone: a pointer
    git(clone, "lfs", "install", "--local")
    git(clone, "lfs", "pull")
    assert cloned.read_bytes() == model.read_bytes()  # the content, not a pointer


def test_a_large_artifact_without_lfs_warns_once_with_the_fix(repo: Path, tmp_path: Path, caplog):
    import logging

    big = tmp_path / "data.parquet"
    big.write_bytes(b"\0" * (11 * 1024 * 1024))
    with caplog.at_level(logging.WARNING), mlflow.start_run():
        mlflow.log_artifact(str(big))
        mlflow.log_artifact(str(big), artifact_path="again")
    warnings = [r.getMessage() for r in caplog.records if "gitruns init --lfs" in r.getMessage()]
    assert len(warnings) == 1 and "data.parquet is 12 MB" in warnings[0]
