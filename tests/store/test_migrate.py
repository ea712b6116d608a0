"""Schema 1 trees (written by the gitruns before schema 2) read as they are, and
``gitruns migrate`` rewrites them in place, run by run, losing nothing."""

from __future__ import annotations

import math
import shutil
import signal
import subprocess
import time
from pathlib import Path

import pytest

import gitruns as mlflow
from gitruns.exceptions import CorruptRecord
from gitruns.store.check import check_runs
from gitruns.store.environments import ENVIRONMENTS_DIR
from gitruns.store.folder import RunStore
from gitruns.store.history import read_histories
from gitruns.store.migrate import migrate_runs
from gitruns.store.run_record import read_run_record
from tests.conftest import git, installed_command

SCHEMA_1_TREE = Path(__file__).parents[1] / "data" / "schema-1"
PARENT = "old-taxi-29eb9551/01a2296129782254ee7fc561b361ba48"
CHILD = "old-taxi-29eb9551/01a2296129d0c367dbaa631acf861253"
FAILED = "default/01a2296129d352fcf399017813aa90ca"


@pytest.fixture()
def old_tree(repo: Path) -> Path:
    shutil.copytree(SCHEMA_1_TREE, repo / "runs")
    git(repo, "add", "runs")
    git(repo, "commit", "-qm", "runs written by gitruns 7938c10")
    return repo / "runs"


def everything(runs_dir: Path) -> dict[str, object]:
    """What a user can get out of a tree through the client: every run's record data
    and every metric point, as MLflow's entities show them."""
    client = mlflow.MlflowClient()
    seen: dict[str, object] = {}
    for experiment in client.search_experiments():
        for run in client.search_runs([experiment.experiment_id], max_results=1000):
            histories = {
                key: [
                    (m.step, m.timestamp, "nan" if math.isnan(m.value) else m.value)
                    for m in client.get_metric_history(run.info.run_id, key)
                ]
                for key in run.data.metrics
            }
            seen[run.info.run_id] = (
                run.info.status,
                run.info.start_time,
                run.info.end_time,
                run.data.params,
                run.data.tags,
                {k: "nan" if math.isnan(v) else v for k, v in run.data.metrics.items()},
                histories,
                sorted(p.path for p in client.list_artifacts(run.info.run_id)),
            )
    return seen


def files_of(run_dir: Path) -> list[str]:
    return sorted(
        path.relative_to(run_dir).as_posix()
        for path in run_dir.rglob("*")
        if path.is_file() and not path.name.startswith(".")
    )


def test_a_schema_1_tree_reads_as_it_is_and_migrates_with_nothing_lost(old_tree: Path):
    before = everything(old_tree)
    assert len(before) == 3
    parent_before = before[PARENT.split("/")[1]]
    assert len(parent_before[6]["rmse"]) == 5 and len(parent_before[6]["train/loss"]) == 5
    requirements = (old_tree / PARENT / "requirements.txt").read_text()

    report = migrate_runs(old_tree)

    assert len(report.migrated) == 3 and not report.failed
    assert everything(old_tree) == before
    assert files_of(old_tree / PARENT) == [
        "artifacts/notes/hello.txt",
        "code.diff",
        "metrics.tsv",
        "run.yaml",
    ]
    # A metric named like a table column keeps its history as a log, not a table.
    assert files_of(old_tree / CHILD) == ["code.diff", "metrics.log", "run.yaml"]
    record = read_run_record(old_tree / PARENT)
    assert record.schema == 2 and "packages" not in record.environment
    shared = old_tree / ENVIRONMENTS_DIR / f"{record.environment['requirements']}.txt"
    assert shared.read_text() == requirements
    assert len(list((old_tree / ENVIRONMENTS_DIR).iterdir())) == 1  # three runs, one list
    assert check_runs(old_tree).ok

    again = migrate_runs(old_tree)
    assert (again.migrated, again.current) == ([], 3)


def test_the_command_migrates_and_says_what_to_commit(old_tree: Path):
    result = subprocess.run(
        [installed_command("gitruns"), "migrate"],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=old_tree.parent,
    )
    assert result.returncode == 0, result.stderr
    assert "3 run(s) migrated to schema 2" in result.stdout
    assert "git add -A" in result.stdout
    git(old_tree.parent, "add", "-A", "runs")
    status = git(old_tree.parent, "status", "--porcelain", "runs")
    assert "D  runs/" in status and "metrics/rmse.tsv" in status


def make_schema_1_runs(runs_dir: Path, count: int) -> dict[str, list[tuple[int, int, float]]]:
    """``count`` copies of the fixture's parent run, each under an id of its own."""
    template = runs_dir / PARENT
    record_text = (template / "run.yaml").read_text()
    expected = {}
    for index in range(count):
        run_id = f"01a2296129{index:022x}"
        folder = template.parent / run_id
        shutil.copytree(template, folder)
        (folder / "run.yaml").write_text(record_text.replace(template.name, run_id))
        # Every run's history differs, so a mix-up between runs would show.
        path = folder / "metrics" / "rmse.tsv"
        lines = path.read_text().splitlines()
        lines[1] = f"{lines[1].rsplit(chr(9), 1)[0]}\t{index}.5"
        path.write_text("\n".join(lines) + "\n")
        expected[run_id] = read_histories(folder, 1)["rmse"]
    return expected


def test_a_migration_killed_at_any_moment_leaves_every_run_whole(old_tree: Path):
    expected = make_schema_1_runs(old_tree, 1000)
    folders = [old_tree / PARENT.split("/")[0] / run_id for run_id in sorted(expected)]
    command = [installed_command("gitruns"), "migrate", str(old_tree)]
    for kill in range(3):
        process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        # Kill it once it is under way: when the first run not yet migrated moves over.
        waiting = next(folder for folder in folders if read_run_record(folder).schema == 1)
        deadline = time.monotonic() + 60
        while read_run_record(waiting).schema == 1 and time.monotonic() < deadline:
            time.sleep(0.002)
        time.sleep(0.01 * kill)
        process.send_signal(signal.SIGKILL)
        process.wait()
        for folder in folders:
            record = read_run_record(folder)
            assert read_histories(folder, record.schema)["rmse"] == expected[folder.name]
    schemas = [read_run_record(folder).schema for folder in folders]
    assert 2 in schemas and 1 in schemas, "the kills should land mid-migration"
    migrate_runs(old_tree)
    for folder in folders:
        assert read_run_record(folder).schema == 2
        assert read_histories(folder, 2)["rmse"] == expected[folder.name]
        assert not (folder / "metrics").exists() and not (folder / "requirements.txt").exists()


def test_resuming_an_old_run_migrates_it_first(old_tree: Path):
    run_id = PARENT.split("/")[1]
    with mlflow.start_run(run_id=run_id):
        mlflow.log_metric("rmse", 4.5, step=5)
    folder = old_tree / PARENT
    assert read_run_record(folder).schema == 2
    steps = [step for _, step, _ in read_histories(folder, 2)["rmse"]]
    assert steps == [0, 1, 2, 3, 4, 5]
    assert not (folder / "metrics").exists()


def test_a_run_from_a_newer_gitruns_is_refused_with_what_to_do(repo: Path):
    with mlflow.start_run() as run:
        pass
    folder = next((repo / "runs").glob(f"*/{run.info.run_id}"))
    text = (folder / "run.yaml").read_text().replace("schema: 2", "schema: 9")
    (folder / "run.yaml").write_text(text)
    with pytest.raises(CorruptRecord, match=r"newer gitruns.*pip install --upgrade gitruns"):
        RunStore(repo / "runs").load_run(run.info.run_id)


def test_an_ended_run_is_three_files_and_a_killed_one_is_folded_on_commit(repo: Path):
    with mlflow.start_run() as run:
        mlflow.log_params({"alpha": 0.5})
        for step in range(3):
            mlflow.log_metrics({"rmse": 1.0 / (step + 1), "mae": 0.5}, step=step)
    folder = next((repo / "runs").glob(f"*/{run.info.run_id}"))
    assert sorted(path.name for path in folder.iterdir()) == ["metrics.tsv", "run.yaml"]  # no lock
    text = (folder / "metrics.tsv").read_text()
    assert text.splitlines()[0] == "step\ttimestamp\tmae\trmse"

    # A run logged to by id after it ended keeps a log until the next commit.
    mlflow.MlflowClient().log_metric(run.info.run_id, "rmse", 0.1, step=3)
    assert (folder / "metrics.log").exists()
    from gitruns.store.repo import commit_runs

    commit_runs(repo / "runs")
    assert files_of(folder) == ["metrics.tsv", "run.yaml"]
    steps = [step for _, step, _ in read_histories(folder, 2)["rmse"]]
    assert steps == [0, 1, 2, 3]
    assert "metrics.log" not in git(repo, "ls-files", "runs")


def snapshot(folder: Path) -> dict[str, object]:
    """Every entry under a folder as it is (links and fifos named, never followed)."""
    seen: dict[str, object] = {}
    for path in sorted(folder.rglob("*")):
        name = path.relative_to(folder).as_posix()
        if path.is_symlink():
            seen[name] = ("link", str(path.readlink()))
        elif path.is_fifo():
            seen[name] = "fifo"
        elif path.is_file():
            seen[name] = path.read_bytes()
    return seen


def test_a_hidden_metric_file_is_carried_over(old_tree: Path):
    run_dir = old_tree / PARENT
    (run_dir / "metrics" / ".warmup.tsv").write_text("timestamp\tstep\tvalue\n1\t0\t0.5\n")
    report = migrate_runs(old_tree)
    assert run_dir in report.migrated and not report.failed
    assert read_histories(run_dir, 2)[".warmup"] == [(1, 0, 0.5)]
    assert not (run_dir / "metrics").exists()


@pytest.mark.parametrize(
    ("plant", "why"),
    [
        ("link", "symbolic link"),
        ("fifo", "is not a regular file"),
        ("bad line", "is not 'timestamp<TAB>step<TAB>value'"),
        ("not a metric", "is not a metric file"),
        ("linked folder", "is not a folder"),
        ("linked requirements", "symbolic link"),
        ("invalid utf-8", "is not UTF-8"),
    ],
)
def test_a_file_that_cannot_be_carried_leaves_its_run_untouched(
    old_tree: Path, tmp_path: Path, plant: str, why: str
):
    import os

    run_dir = old_tree / PARENT
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "secret.tsv").write_text("timestamp\tstep\tvalue\n1\t0\t42\n")
    metrics = run_dir / "metrics"
    if plant == "link":
        os.symlink(outside / "secret.tsv", metrics / "stolen.tsv")
    elif plant == "fifo":
        os.mkfifo(metrics / ".pipe.tsv")
    elif plant == "bad line":
        with (metrics / "rmse.tsv").open("a") as file:
            file.write("not\ta number\n")
    elif plant == "not a metric":
        (metrics / "notes.txt").write_text("kept by hand\n")
    elif plant == "linked folder":
        os.symlink(outside, metrics / "elsewhere")
    elif plant == "linked requirements":
        (run_dir / "requirements.txt").unlink()
        os.symlink(outside / "secret.tsv", run_dir / "requirements.txt")
    else:
        (metrics / "lr.tsv").write_bytes(b"timestamp\tstep\tvalue\n1\t0\t\xff\n")
    before, outside_before = snapshot(run_dir), snapshot(outside)

    report = migrate_runs(old_tree)

    (failed,) = report.failed
    assert failed[0] == run_dir and why in failed[1] and "left at schema 1" in failed[1]
    assert snapshot(run_dir) == before  # not one file written, moved or removed
    assert snapshot(outside) == outside_before
    assert read_run_record(run_dir).schema == 1
    assert len(report.migrated) == 2  # the other runs went over
