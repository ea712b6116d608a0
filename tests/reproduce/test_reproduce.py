"""Reproducing a run from its record: its commit, its diff, its command, its packages."""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner

from gitruns.cli import cli
from gitruns.reproduce import REPRODUCES_TAG, VERDICT_TAG, ReproduceError, reproduce_run
from gitruns.store.environments import store_requirements
from gitruns.store.folder import RunStore
from gitruns.store.run_record import read_run_record
from tests.conftest import git, make_repo
from tests.site.test_site import Visitor
from tests.site.test_site import browser as browser  # the fixture, shared

TRAIN = """\
import random
import gitruns as mlflow

random.seed(7)
alpha = {alpha}
with mlflow.start_run(run_name="fit"):
    mlflow.log_param("alpha", alpha)
    for step in range(3):
        mlflow.log_metric("rmse", alpha * 10 + random.random() / (step + 1), step=step)
"""


def train(repo: Path, *args: str) -> str:
    """Run train.py as a user would; the id of the run it logged."""
    before = {path.name for path in RunStore(repo / "runs").run_dirs()}
    subprocess.run([sys.executable, "train.py", *args], cwd=repo, check=True, capture_output=True)
    (new,) = [p for p in RunStore(repo / "runs").run_dirs() if p.name not in before]
    return new.name


def state(repo: Path) -> tuple[str, ...]:
    """What the user's repository shows: work tree (but runs/, where the new run goes),
    index, branches, tags, worktrees."""
    return (
        git(repo, "status", "--porcelain", "--untracked-files=all", "--", ".", ":!runs"),
        git(repo, "diff", "--cached"),
        git(repo, "for-each-ref"),
        git(repo, "worktree", "list", "--porcelain"),
        (repo / "train.py").read_text(),
    )


@pytest.fixture()
def project(tmp_path: Path) -> Path:
    return make_repo(tmp_path / "project", {"train.py": TRAIN.format(alpha=0.5)})


def test_a_run_from_a_dirty_tree_reproduces_from_its_diff(project: Path):
    (project / "train.py").write_text(TRAIN.format(alpha=0.25))  # not committed
    run_id = train(project)
    git(project, "add", "runs")
    git(project, "commit", "-qm", "Add the run")
    (project / "train.py").write_text(TRAIN.format(alpha=0.9))  # the user moved on
    before = state(project)

    result = reproduce_run(project / "runs", run_id[:10])

    assert result.verdict == "reproduced", result
    assert result.params == [] and [m.key for m in result.metrics] == ["rmse"]
    assert result.metrics[0].delta == 0.0 and result.metrics[0].within
    assert state(project) == before  # work tree, index, branches, tags: untouched
    assert result.worktree is None  # the checkout is gone
    new = read_run_record(project / "runs" / "default" / result.new_run_id)
    assert new.params == {"alpha": "0.25"}
    assert new.tags[REPRODUCES_TAG] == run_id and new.tags[VERDICT_TAG] == "reproduced"
    original = read_run_record(project / "runs" / "default" / run_id)
    assert new.git["commit"] == original.git["commit"] and new.git["dirty"] is True
    assert "alpha = 0.25" in (project / "runs" / "default" / new.id / "code.diff").read_text()

    shown = CliRunner().invoke(cli, ["runs", "show", run_id, "--runs-dir", str(project / "runs")])
    assert f"reproduced by: {new.id} (reproduced)" in shown.output
    assert f"reproduce: gitruns runs reproduce {run_id}" in shown.output


def test_a_changed_result_is_a_difference_and_a_changed_package_shows_as_drift(project: Path):
    run_id = train(project)
    run_dir = project / "runs" / "default" / run_id
    record = yaml.safe_load((run_dir / "run.yaml").read_text())
    # As if the run had been made elsewhere: another PyYAML, one package more, one less.
    recorded = project / "runs" / "_environments" / f"{record['environment']['requirements']}.txt"
    lines = recorded.read_text().splitlines()
    pyyaml = next(line for line in lines if line.lower().startswith("pyyaml=="))
    dropped = next(line for line in lines if line.lower().startswith("jinja2=="))
    lines = [line for line in lines if line not in (pyyaml, dropped)]
    lines += ["PyYAML==5.1", "left-pad==1.0"]
    record["environment"]["requirements"] = store_requirements(
        project / "runs", "\n".join(sorted(lines)) + "\n"
    )
    record["metrics"]["rmse"]["last"] = 1.0  # and a result that is not what the code gives
    (run_dir / "run.yaml").write_text(yaml.safe_dump(record, sort_keys=False))

    result = reproduce_run(project / "runs", run_id, tolerance=1e-6)

    assert result.drift.changed == {"pyyaml": ("5.1", pyyaml.split("==")[1])}
    assert result.drift.removed == {"left-pad": "1.0"}
    assert result.drift.added == {"jinja2": dropped.split("==")[1]}
    assert result.verdict == "differs"
    (rmse,) = result.metrics
    assert rmse.old == 1.0 and not rmse.within and rmse.delta == pytest.approx(rmse.new - 1.0)


def test_a_killed_run_is_not_run_again(project: Path):
    run_id = train(project)
    run_yaml = project / "runs" / "default" / run_id / "run.yaml"
    run_yaml.write_text(run_yaml.read_text().replace("status: FINISHED", "status: KILLED"))
    result = reproduce_run(project / "runs", run_id)
    try:
        assert result.verdict == "not run" and "ended KILLED" in result.explanation
        assert "python train.py" in result.explanation and result.worktree is not None
    finally:
        shutil.rmtree(result.worktree)


def test_a_run_that_cannot_be_run_again_gets_its_code_and_why(project: Path):
    subprocess.run([sys.executable, "-c", TRAIN.format(alpha=0.3)], cwd=project, check=True)
    (run_dir,) = RunStore(project / "runs").run_dirs()
    result = reproduce_run(project / "runs", run_dir.name)
    try:
        assert result.verdict == "not run"
        assert "interactive session" in result.explanation
        assert result.worktree is not None and (result.worktree / "train.py").exists()
        assert str(result.worktree) in result.explanation
    finally:
        shutil.rmtree(result.worktree)


@pytest.mark.parametrize(
    ("diff", "message"),
    [
        (
            "--- a/train.py\n+++ b/train.py\n@@ -1 +1 @@\n-nothing like this\n+x\n",
            "no longer apply",
        ),
        ("+token = [REDACTED]\n", "redacted"),
        ("# gitruns: diff cut at 1024 KiB of 2048 KiB\n", "was cut"),
    ],
)
def test_a_diff_that_cannot_give_the_code_back_is_refused(project: Path, diff: str, message):
    run_id = train(project)
    (project / "runs" / "default" / run_id / "code.diff").write_text(diff)
    before = state(project)
    with pytest.raises(ReproduceError, match=message):
        reproduce_run(project / "runs", run_id)
    assert state(project) == before


@pytest.mark.slow
def test_the_demos_best_run_reproduces_its_rmse_exactly(tmp_path: Path, browser):
    from gitruns.demo import run_demo
    from gitruns.site import build_site

    demo = tmp_path / "demo"
    result = run_demo(demo, rows=1500, trials=2)
    best_id, best_name, rmse = min(result.runs, key=lambda run: run[2])
    before = state(demo)

    reproduction = reproduce_run(demo / "runs", best_id)  # its data, ignored by git, is lent

    assert reproduction.verdict == "reproduced", reproduction.metrics
    timing = [m for m in reproduction.metrics if m.timing]
    assert [m.key for m in timing] == ["training_time"]  # shown, not part of the verdict
    assert reproduction.command[1:] == ["train.py", "2"]  # the trials are in the command
    rmse_delta = next(m for m in reproduction.metrics if m.key == "rmse")
    assert rmse_delta.old == rmse and rmse_delta.delta == 0.0
    assert state(demo) == before  # its registry tags too: the script registered a model
    new = read_run_record(next((demo / "runs").glob(f"*/{reproduction.new_run_id}")))
    assert new.name == best_name and new.tags[VERDICT_TAG] == "reproduced"

    # The site shows the reproduce command, and the verdict on the original's page.
    build_site(demo / "runs", demo / "site")
    visitor = Visitor(browser)
    visitor.open(demo / "site" / "runs" / f"{best_id}.html")
    assert visitor.page.locator("code.reproduce").inner_text() == (
        f"gitruns runs reproduce {best_id} --data data/green_tripdata_2021-01.csv "
        "--data data/green_tripdata_2021-02.csv"
    )
    data_read = visitor.page.locator("table.data-files tbody tr").all_inner_texts()
    assert [row.split("\t")[0] for row in data_read] == [
        "data/green_tripdata_2021-01.csv",
        "data/green_tripdata_2021-02.csv",
    ]
    size = (demo / "data/green_tripdata_2021-01.csv").stat().st_size
    assert f"{size:,} B" in data_read[0]
    link = visitor.page.locator(".reproduction a")
    assert link.inner_text() == "reproduced"
    link.click()
    visitor.page.wait_for_load_state("load")
    assert reproduction.new_run_id in visitor.page.url
    assert "Reproduces" in visitor.page.locator("dl").first.inner_text()
    assert visitor.errors == []
    visitor.close()


def test_the_recorded_environment_is_built_from_the_recorded_packages(project: Path, monkeypatch):
    run_id = train(project)
    run_dir = project / "runs" / "default" / run_id
    record = yaml.safe_load((run_dir / "run.yaml").read_text())
    record["environment"]["requirements"] = store_requirements(project / "runs", "left-pad==1.0\n")
    (run_dir / "run.yaml").write_text(yaml.safe_dump(record, sort_keys=False))
    monkeypatch.setenv("PIP_NO_INDEX", "1")  # offline: only what pip can find here
    private = project.parent / "tmp"  # this test's own: others reproduce in parallel
    private.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(private))
    monkeypatch.setenv("TMPDIR", str(private))
    before = {path.name for path in Path(tempfile.gettempdir()).glob("gitruns-reproduce-*")}
    with pytest.raises(ReproduceError, match=r"could not be installed.*left-pad"):
        reproduce_run(project / "runs", run_id, env="recorded")
    after = {path.name for path in Path(tempfile.gettempdir()).glob("gitruns-reproduce-*")}
    assert after == before  # the checkout and the virtualenv are gone

    del record["environment"]["requirements"]
    (run_dir / "run.yaml").write_text(yaml.safe_dump(record, sort_keys=False))
    with pytest.raises(ReproduceError, match="recorded no package list"):
        reproduce_run(project / "runs", run_id, env="recorded")


def test_a_command_run_from_a_subfolder_runs_there_again(tmp_path: Path):
    script = TRAIN.format(alpha="float(open('alpha.txt').read())")  # read relative to cwd
    repo = make_repo(tmp_path / "project", {"src/train.py": script, "src/alpha.txt": "0.75"})
    subprocess.run([sys.executable, "train.py"], cwd=repo / "src", check=True, capture_output=True)
    (run_dir,) = RunStore(repo / "runs").run_dirs()
    record = read_run_record(run_dir)
    assert record.source["cwd"] == "src" and record.source["command"] == "python src/train.py"

    result = reproduce_run(repo / "runs", run_dir.name)

    assert result.verdict == "reproduced" and result.command[1:] == ["train.py"]
    new = read_run_record(next((repo / "runs").glob(f"*/{result.new_run_id}")))
    assert new.params == {"alpha": "0.75"} and new.source["cwd"] == "src"

    # A working directory that leaves the checkout, from an edited record, is refused.
    run_yaml = run_dir / "run.yaml"
    run_yaml.write_text(run_yaml.read_text().replace("cwd: src", "cwd: ../.."))
    with pytest.raises(ReproduceError, match="working directory"):
        reproduce_run(repo / "runs", run_dir.name)


# -- a record from someone's branch is untrusted: nothing runs unseen ---------------------


def edit_source(run_dir: Path, **changes: str) -> None:
    record = yaml.safe_load((run_dir / "run.yaml").read_text())
    record["source"].update(changes)
    (run_dir / "run.yaml").write_text(yaml.safe_dump(record, sort_keys=False))


@pytest.mark.parametrize(
    ("command", "entry_point", "why"),
    [
        ("sh -c 'touch {marker}'", "train.py", "does not start with python"),
        ('python -c \'open("{marker}", "w")\'', "train.py", "not the run's entry point"),
        ("python evil.py {marker}", "evil.py", "holds no file 'evil.py'"),
    ],
)
def test_a_command_gitruns_would_not_record_runs_only_when_the_user_gives_it(
    project: Path, tmp_path: Path, command: str, entry_point: str, why: str
):
    run_id = train(project)
    marker = tmp_path / "pwned"
    run_dir = project / "runs" / "default" / run_id
    edit_source(run_dir, command=command.format(marker=marker), entry_point=entry_point)

    with pytest.raises(ReproduceError, match="--command"):
        reproduce_run(project / "runs", run_id)
    # Through the CLI with no terminal: the plan is shown, the command refused.
    shown = CliRunner().invoke(
        cli, ["runs", "reproduce", run_id, "--runs-dir", str(project / "runs")]
    )
    assert shown.exit_code != 0 and "refused to run a command" in shown.output
    assert str(marker) in shown.output and why in " ".join(shown.output.split())
    assert "commit" in shown.output and "environment" in shown.output
    assert not marker.exists()

    # The user's own command runs, and reproduces the run.
    given = CliRunner().invoke(
        cli,
        [
            "runs",
            "reproduce",
            run_id,
            "--command",
            "python train.py",
            "--runs-dir",
            str(project / "runs"),
        ],
    )
    assert given.exit_code == 0, given.output
    assert "✓ reproduced" in given.output and not marker.exists()


@pytest.mark.parametrize(
    "line",
    [
        "--index-url http://127.0.0.1:9/simple",
        "--extra-index-url=http://127.0.0.1:9/simple",
        "-e .",
        "-r other.txt",
        "--find-links ./wheels",
        "--trusted-host 127.0.0.1",
        "git+https://127.0.0.1:9/evil.git",
        "evil @ https://127.0.0.1:9/evil-1.0-py3-none-any.whl",
        "./wheels/evil-1.0-py3-none-any.whl",
        "https://127.0.0.1:9/evil.tar.gz",
    ],
)
def test_a_recorded_package_list_hands_pip_only_plain_requirements(project: Path, line: str):
    run_id = train(project)
    run_dir = project / "runs" / "default" / run_id
    record = yaml.safe_load((run_dir / "run.yaml").read_text())
    record["environment"]["requirements"] = store_requirements(
        project / "runs", f"pyyaml==6.0.1\n{line}\nrich[jupyter]==13.0 ; python_version > '3'\n"
    )
    (run_dir / "run.yaml").write_text(yaml.safe_dump(record, sort_keys=False))
    before = set(Path(tempfile.gettempdir()).glob("gitruns-*"))
    with pytest.raises(ReproduceError, match="line 2 of the run's package list") as refused:
        reproduce_run(project / "runs", run_id, env="recorded")
    assert line[:40] in str(refused.value)
    assert set(Path(tempfile.gettempdir()).glob("gitruns-*")) == before  # nothing made


def test_the_checkout_runs_no_hook_and_no_filter_driver(project: Path, tmp_path: Path):
    # What the user's git config allows elsewhere (a hooks folder, a filter driver) must
    # not be set off by files a branch brings into the checkout.
    hooks = tmp_path / "hooks"
    hooks.mkdir()
    marker = tmp_path / "ran"
    for hook in ("post-checkout", "post-merge", "pre-commit"):
        (hooks / hook).write_text(f"#!/bin/sh\necho {hook} >> {marker}\n")
        (hooks / hook).chmod(0o755)
    config = Path(os.environ["GIT_CONFIG_GLOBAL"])
    config.write_text(
        config.read_text()
        + f"[core]\n\thooksPath = {hooks}\n"
        + f"[filter \"evil\"]\n\tsmudge = sh -c 'echo smudge >> {marker}; cat'\n"
        + f"\tclean = sh -c 'echo clean >> {marker}; cat'\n"
    )
    (project / ".gitattributes").write_text("*.py filter=evil\n")
    git(project, "add", ".gitattributes")
    git(project, "-c", "core.hooksPath=/dev/null", "commit", "-qm", "attributes")
    marker.unlink(missing_ok=True)  # the user's own add ran the clean filter
    run_id = train(project)
    marker.unlink(missing_ok=True)

    result = reproduce_run(project / "runs", run_id)

    assert result.verdict == "reproduced"
    assert not marker.exists(), marker.read_text()


READS_DATA = """\
import gitruns as mlflow

with mlflow.start_run(run_name="fit"):
    rows = open("data/trips.csv").read().splitlines()
    mlflow.log_metric("rows", len(rows))
"""


def trained_on_ignored_data(tmp_path: Path, script: str, rows: str) -> tuple[Path, str]:
    """A project whose train.py reads data/trips.csv, which git ignores; the run it logged."""
    project = make_repo(tmp_path / "project", {"train.py": script, ".gitignore": "data/\n"})
    (project / "data").mkdir()
    (project / "data" / "trips.csv").write_text(rows)
    return project, train(project)


def test_data_the_run_read_is_lent_while_it_is_the_same_and_named_when_not(tmp_path: Path):
    project, run_id = trained_on_ignored_data(tmp_path, READS_DATA, "a\nb\nc\n")
    runs = project / "runs"

    result = reproduce_run(runs, run_id)  # no --data: the run recorded what it read
    assert result.verdict == "reproduced", result

    (project / "data" / "trips.csv").write_text("a\nb\nc\nd\n")  # the data moved on
    shown = CliRunner().invoke(cli, ["runs", "reproduce", run_id, "--runs-dir", str(runs)])
    assert shown.exit_code == 1
    assert "changed since the run read it (6 bytes" in shown.output
    assert "now 8 bytes" in shown.output and "--data data/trips.csv" in shown.output
    with pytest.raises(ReproduceError) as failed:
        reproduce_run(runs, run_id)
    message = str(failed.value)
    assert "Its last lines:\nTraceback (most recent call last):" in message  # whole, from its start
    assert "FileNotFoundError: [Errno 2]" in message
    assert "- data/trips.csv: changed since the run read it" in message
    # Asked for by name, today's file is lent: the rows metric tells the difference.
    result = reproduce_run(runs, run_id, data=(Path("data/trips.csv"),))
    assert result.verdict == "differs"
    assert [(m.key, m.old, m.new) for m in result.metrics] == [("rows", 3.0, 4.0)]

    (project / "data" / "trips.csv").unlink()
    with pytest.raises(ReproduceError) as failed:
        reproduce_run(runs, run_id)
    assert "- data/trips.csv: not in the work tree: put the file the run read (6 bytes, sha256" in (
        str(failed.value)
    )


def test_data_kept_behind_a_link_is_lent_when_its_bytes_are_the_runs(tmp_path: Path):
    disk = tmp_path / "other-disk"
    disk.mkdir()
    (disk / "trips.csv").write_text("a\nb\n")
    project = make_repo(tmp_path / "project", {"train.py": READS_DATA, ".gitignore": "data\n"})
    (project / "data").symlink_to(disk, target_is_directory=True)
    run_id = train(project)
    recorded = yaml.safe_load(
        (RunStore(project / "runs").find_run_dir(run_id) / "run.yaml").read_text()
    )
    assert [entry["path"] for entry in recorded["data_files"]] == ["data/trips.csv"]
    result = reproduce_run(project / "runs", run_id)
    assert result.verdict == "reproduced", result


def test_a_hostile_record_names_no_file_to_lend(tmp_path: Path):
    secret = tmp_path / "secret.txt"
    secret.write_text("key")
    project, run_id = trained_on_ignored_data(tmp_path, READS_DATA, "a\n")
    run_yaml = RunStore(project / "runs").find_run_dir(run_id) / "run.yaml"
    record = yaml.safe_load(run_yaml.read_text())
    digest = hashlib.sha256(b"key").hexdigest()
    record["data_files"] += [
        {"path": path, "size": 3, "sha256": digest}
        for path in ("../secret.txt", str(secret), "data/../../secret.txt")
    ]
    run_yaml.write_text(yaml.safe_dump(record))
    shown = CliRunner().invoke(cli, ["runs", "show", run_id, "--runs-dir", str(project / "runs")])
    assert "secret" not in shown.output
    result = reproduce_run(project / "runs", run_id)
    assert result.verdict == "reproduced", result
    checked = CliRunner().invoke(cli, ["check", str(project / "runs")])
    assert checked.exit_code != 0 and "data_files" in checked.output


LOGS_A_SEARCH = """\
import gitruns as mlflow

for alpha in (0.1, 0.2, 0.3):
    with mlflow.start_run(run_name=f"alpha-{alpha}"):
        mlflow.log_param("alpha", alpha)
        mlflow.log_metric("rmse", alpha * 10)
"""


def test_a_script_that_logs_many_runs_adds_only_the_reproduction(tmp_path: Path):
    project = make_repo(tmp_path / "project", {"train.py": LOGS_A_SEARCH})
    subprocess.run([sys.executable, "train.py"], cwd=project, check=True, capture_output=True)
    store = RunStore(project / "runs")
    originals = {read_run_record(path).name: path.name for path in store.run_dirs()}
    result = reproduce_run(project / "runs", originals["alpha-0.2"])
    assert result.verdict == "reproduced", result
    assert result.new_runs == [result.new_run_id] and len(result.left_out) == 2
    assert len(list(store.run_dirs())) == 4  # three originals and one reproduction, not six
    result = reproduce_run(project / "runs", originals["alpha-0.3"], keep_all=True)
    assert len(result.new_runs) == 3 and result.left_out == []
    assert len(list(store.run_dirs())) == 7
    shown = CliRunner().invoke(
        cli, ["runs", "reproduce", originals["alpha-0.1"], "--runs-dir", str(project / "runs")]
    )
    assert "logged 2 other run(s), not kept" in shown.output and "--keep-all" in shown.output


LOGS_ITS_DATA = """\
import pandas as pd
import gitruns as mlflow

with mlflow.start_run(run_name="fit"):
    frame = pd.read_csv("data/trips.csv")
    mlflow.log_input(mlflow.data.from_pandas(frame, source="data/trips.csv"), context="training")
    mlflow.log_input(mlflow.data.from_pandas(frame, source="../outside.csv"), context="other")
    mlflow.log_metric("rows", len(frame))
"""


def test_the_data_a_run_logged_as_its_input_is_lent_and_named_in_the_command(tmp_path: Path):
    project, run_id = trained_on_ignored_data(tmp_path, LOGS_ITS_DATA, "a\n1\n2\n")
    shown = CliRunner().invoke(cli, ["runs", "show", run_id, "--runs-dir", str(project / "runs")])
    assert f"gitruns runs reproduce {run_id} --data data/trips.csv" in shown.output
    assert "outside.csv" not in shown.output.split("reproduce:")[-1]  # never lent: it leaves
    result = reproduce_run(project / "runs", run_id)  # no --data: the recorded source is lent
    assert result.verdict == "reproduced", result
