"""A team's clones meeting through one bare remote: push, pull, and one registry."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from gitruns.cli import cli
from gitruns.registry import Registry
from gitruns.store.folder import RunStore
from gitruns.team import MergeConflict, PushFailed, pull, push, status
from tests.conftest import git
from tests.registry.test_registry import gto_command

MODEL = "taxi"

# One clone's work, as a script a machine runs: log a run holding a model, register it,
# move it to a stage, push. It prints, per round, the run and the version it says it is.
WORKER = """\
import json, os, sys
from pathlib import Path
import gitruns as mlflow
from gitruns import MlflowClient
from gitruns.team import push

rounds, name = int(sys.argv[1]), sys.argv[2]
mlflow.set_experiment("team")
client = MlflowClient()
said = {}
for number in range(rounds):
    with mlflow.start_run(run_name=f"{name}-{number}") as run:
        mlflow.log_metric("rmse", number)
        Path("model").mkdir(exist_ok=True)
        Path("model/MLmodel").write_text(name)
        mlflow.log_artifacts("model", "model")
    version = mlflow.register_model(f"runs:/{run.info.run_id}/model", "taxi").version
    client.transition_model_version_stage("taxi", version, "Staging")
    said[run.info.run_id] = str(version)
    report = push(Path("runs"))
    for item in report.renumbered:  # what this clone says now
        for run_id, label in said.items():
            if label == item.old_version:
                said[run_id] = item.new_version
print(json.dumps(said))
"""


def clone(remote: Path, folder: Path, name: str) -> Path:
    subprocess.run(["git", "clone", "-q", str(remote), str(folder)], check=True)
    git(folder, "config", "user.name", name)
    git(folder, "config", "user.email", f"{name}@example.com")
    return folder


@pytest.fixture()
def remote(tmp_path: Path) -> Path:
    """A bare remote holding one commit of code, as a team's origin would."""
    bare = tmp_path / "origin.git"
    subprocess.run(["git", "init", "-q", "--bare", "-b", "main", str(bare)], check=True)
    seed = clone(bare, tmp_path / "seed", "seed")
    (seed / "train.py").write_text("print('train')\n")
    (seed / ".gitignore").write_text("model/\n")
    git(seed, "add", "-A")
    git(seed, "commit", "-qm", "Code")
    git(seed, "push", "-q", "origin", "main")
    return bare


def remote_registry(bare: Path, tmp_path: Path) -> dict[str, object]:
    """The remote's registry, read in a fresh clone: versions and stage holders."""
    reader = tmp_path / "reader"
    shutil.rmtree(reader, ignore_errors=True)
    clone(bare, reader, "reader")
    git(reader, "fetch", "-q", "--tags")
    return registry_view(reader)


def registry_view(repo: Path) -> dict[str, object]:
    model = Registry(repo / "runs").model(MODEL)
    return {
        "versions": {state.label: state.run_id for state in model.live_versions()},
        "stages": {stage: state.label for stage, state in model.stage_holders().items()},
    }


def gto_show(repo: Path) -> dict[str, object] | None:
    command = gto_command()
    if command is None:
        return None

    def show(*args: str) -> object:
        done = subprocess.run(
            [command, "show", *args, "--json"], cwd=repo, capture_output=True, text=True, check=True
        )
        return json.loads(done.stdout)

    versions = sorted(row["version"] for row in show(MODEL))  # type: ignore[union-attr]
    stages = show()[MODEL]["stage"]  # type: ignore[index]
    return {"versions": versions, "stages": stages}


def test_eight_clones_pushing_at_once_land_every_run_once_and_one_registry(
    remote: Path, tmp_path: Path
):
    clones = [clone(remote, tmp_path / f"clone-{n}", f"clone-{n}") for n in range(8)]
    for folder in clones:
        (folder / "worker.py").write_text(WORKER)
    rounds = 2
    workers = [
        subprocess.Popen(
            [sys.executable, "worker.py", str(rounds), folder.name],
            cwd=folder,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for folder in clones
    ]
    said: dict[str, str] = {}
    for worker in workers:
        out, err = worker.communicate(timeout=300)
        assert worker.returncode == 0, err[-3000:]
        said.update(json.loads(out.strip().splitlines()[-1]))

    on_remote = remote_registry(remote, tmp_path)
    total = len(clones) * rounds
    assert sorted(on_remote["versions"], key=int) == [str(n) for n in range(1, total + 1)]
    assert sorted(on_remote["versions"].values()) == sorted(said)  # each run once
    # No clone printed a number the remote does not hold for its run.
    assert {run: label for label, run in on_remote["versions"].items()} == said
    reader = tmp_path / "reader"
    landed = [path.name for path in RunStore(reader / "runs").run_dirs()]
    assert sorted(landed) == sorted(said) and len(landed) == total
    expected_gto = gto_show(reader)
    for folder in clones:
        pull(folder / "runs")
        assert registry_view(folder) == on_remote
        if expected_gto is not None:
            assert gto_show(folder) == expected_gto
    if expected_gto is not None:
        assert expected_gto["versions"] == sorted(f"v{n}.0.0" for n in range(1, total + 1))
        assert expected_gto["stages"] == {"staging": f"v{on_remote['stages']['staging']}.0.0"}


def register_here(folder: Path, metric: float) -> str:
    """Log a run with a model in ``folder`` and register it, as its own process would."""
    script = (
        "import sys, gitruns as mlflow\nfrom pathlib import Path\n"
        "mlflow.set_experiment('team')\n"
        "with mlflow.start_run() as run:\n"
        f"    mlflow.log_metric('rmse', {metric})\n"
        "    Path('model').mkdir(exist_ok=True); Path('model/MLmodel').write_text('m')\n"
        "    mlflow.log_artifacts('model', 'model')\n"
        "v = mlflow.register_model(f'runs:/{run.info.run_id}/model', 'taxi')\n"
        "mlflow.MlflowClient().set_registered_model_alias('taxi', 'champion', v.version)\n"
        "print(run.info.run_id)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script], cwd=folder, capture_output=True, text=True, check=True
    )
    return done.stdout.strip()


def test_the_later_push_renumbers_its_version_says_so_and_both_clones_agree(
    remote: Path, tmp_path: Path
):
    first = clone(remote, tmp_path / "first", "first")
    second = clone(remote, tmp_path / "second", "second")
    first_run = register_here(first, 1.0)
    second_run = register_here(second, 2.0)  # both are v1 here, and both hold "champion"
    assert registry_view(second)["versions"] == {"1": second_run}

    CliRunner().invoke(cli, ["push", "--runs-dir", str(first / "runs")], catch_exceptions=False)
    pending = status(second / "runs")
    assert pending.uncommitted == []  # registering committed its run
    assert [event.tag for event in pending.unpushed] == ["taxi@v1.0.0", "taxi#champion#1"]
    said = CliRunner().invoke(
        cli, ["push", "--runs-dir", str(second / "runs")], catch_exceptions=False
    )
    assert "Merged origin/main first: 1 new run(s) (1 in team)." in said.output
    assert "taxi v1 is v2 now: another clone registered v1 on the remote first." in said.output
    assert "✓ Pushed to origin/main" in said.output

    on_remote = remote_registry(remote, tmp_path)
    assert on_remote["versions"] == {"1": first_run, "2": second_run}
    assert on_remote["stages"] == {"champion": "2"}  # set later, on the remote too
    assert registry_view(second) == on_remote
    assert Registry(second / "runs").alias_holder(MODEL, "champion").label == "2"

    report = CliRunner().invoke(
        cli, ["pull", "--runs-dir", str(first / "runs")], catch_exceptions=False
    )
    assert "From origin/main: 1 new run(s) (1 in team)." in report.output
    assert "registry: taxi v2 registered by second" in report.output
    assert registry_view(first) == on_remote
    assert Registry(first / "runs").alias_holder(MODEL, "champion").label == "2"
    expected_gto = gto_show(tmp_path / "reader")
    if expected_gto is not None:
        assert gto_show(first) == gto_show(second) == expected_gto
    assert status(first / "runs").unpushed == [] and status(second / "runs").unpushed == []


def test_a_push_refused_for_good_keeps_everything_here_and_says_so(remote: Path, tmp_path: Path):
    here = clone(remote, tmp_path / "here", "here")
    run_id = register_here(here, 1.0)
    hook = remote / "hooks" / "pre-receive"
    hook.write_text("#!/bin/sh\necho 'runs are frozen this week' >&2\nexit 1\n")
    hook.chmod(0o755)
    with pytest.raises(PushFailed) as refused:
        push(here / "runs")
    message = str(refused.value)
    assert "runs are frozen this week" in message and "Nothing was lost" in message
    assert git(here, "log", "-1", "--format=%s").strip().startswith("Add run")
    assert git(here, "ls-files", f"runs/team/{run_id}/run.yaml").strip()
    assert {event.tag for event in status(here / "runs").unpushed} >= {"taxi@v1.0.0"}
    listed = CliRunner().invoke(cli, ["status", "--runs-dir", str(here / "runs")])
    assert "registry changes not yet on origin" in listed.output and "taxi@v1.0.0" in listed.output
    models = CliRunner().invoke(cli, ["models", "list", "--runs-dir", str(here / "runs")])
    assert "not yet on origin" in models.output

    hook.unlink()
    git(here, "remote", "set-url", "origin", str(tmp_path / "nowhere.git"))
    with pytest.raises(PushFailed, match="could not reach origin") as unreachable:
        push(here / "runs")
    assert "Nothing was lost" in str(unreachable.value)
    git(here, "remote", "set-url", "origin", str(remote))
    push(here / "runs")
    assert status(here / "runs").unpushed == []


def test_code_both_sides_changed_stops_the_push_with_what_to_do(remote: Path, tmp_path: Path):
    first = clone(remote, tmp_path / "first", "first")
    second = clone(remote, tmp_path / "second", "second")
    for folder, text in ((first, "print('first')\n"), (second, "print('second')\n")):
        (folder / "train.py").write_text(text)
        git(folder, "commit", "-qam", f"Edit in {folder.name}")
    push(first / "runs")
    head = git(second, "rev-parse", "HEAD")
    with pytest.raises(MergeConflict) as conflict:
        push(second / "runs")
    assert "train.py" in str(conflict.value) and "git pull origin main" in str(conflict.value)
    assert git(second, "rev-parse", "HEAD") == head  # its own commit, as it was
    assert git(second, "status", "--porcelain") == ""  # no merge left half done
    assert (second / "train.py").read_text() == "print('second')\n"


def test_a_pull_brings_runs_and_refreshes_a_built_site(remote: Path, tmp_path: Path):
    from gitruns.site import build_site

    first = clone(remote, tmp_path / "first", "first")
    second = clone(remote, tmp_path / "second", "second")
    register_here(first, 1.0)
    push(first / "runs")
    pull(second / "runs")
    build_site(second / "runs", second / "site")
    new_run = register_here(first, 0.5)
    push(first / "runs")

    report = pull(second / "runs", site=second / "site")
    assert report.arrived.runs == {"team": 1}
    assert report.site_pages and (second / "site" / "runs" / f"{new_run}.html").exists()
    assert [change.split(" registered")[0] for change in report.arrived.registry][:1] == ["taxi v2"]
    again = pull(second / "runs", site=second / "site")
    assert again.arrived.runs == {} and again.arrived.registry == [] and not again.merged


def test_a_shallow_clone_as_ci_makes_it_pushes_after_the_remote_moved_on(
    remote: Path, tmp_path: Path
):
    other = clone(remote, tmp_path / "other", "other")
    ci = tmp_path / "ci"
    subprocess.run(["git", "clone", "-q", "--depth", "1", remote.as_uri(), str(ci)], check=True)
    git(ci, "config", "user.name", "ci")
    git(ci, "config", "user.email", "ci@example.com")
    register_here(other, 1.0)
    push(other / "runs")  # the remote moves on after the CI job checked out
    ci_run = register_here(ci, 2.0)
    report = push(ci / "runs")
    assert [(item.old_version, item.new_version) for item in report.renumbered] == [("1", "2")]
    assert remote_registry(remote, tmp_path)["versions"]["2"] == ci_run


def test_a_detached_head_or_no_remote_is_named_with_what_to_do(remote: Path, tmp_path: Path):
    here = clone(remote, tmp_path / "here", "here")
    git(here, "checkout", "-q", "--detach")
    with pytest.raises(Exception, match="HEAD is detached"):
        push(here / "runs")
    git(here, "checkout", "-q", "main")
    git(here, "remote", "remove", "origin")
    with pytest.raises(Exception, match="git remote add origin URL"):
        push(here / "runs")
