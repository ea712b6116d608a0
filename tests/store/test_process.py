"""Crash safety and concurrency, with real processes: killed, interrupted, crowded, merged."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

import gitruns
from gitruns.store.check import check_runs
from gitruns.store.folder import RunStore
from gitruns.store.history import read_histories
from gitruns.store.repo import commit_runs
from gitruns.store.run_record import read_run_record
from tests.conftest import git, make_repo, run_python

pytestmark = pytest.mark.slow

# Logs a metric every 10 ms, says which run it is, then waits to be killed. A process
# still alive after 25 s prints where each of its threads stands and exits: a test that
# waits for it to end shows why it did not.
LONG_RUN = """
import faulthandler, sys, time, gitruns
faulthandler.dump_traceback_later(25, exit=True)
gitruns.set_experiment("crash")
with gitruns.start_run() as run:
    gitruns.log_param("alpha", 0.1)
    for step in range(20):
        gitruns.log_metric("loss", 1.0 / (step + 1), step=step)
    print(run.info.run_id, flush=True)
    time.sleep(120)
"""


def start_long_run(repo: Path, code: str = LONG_RUN) -> tuple[subprocess.Popen[str], str]:
    process = subprocess.Popen(
        [sys.executable, "-c", code],
        cwd=repo,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert process.stdout is not None
    run_id = process.stdout.readline().strip()
    assert len(run_id) == 32, process.stderr.read() if process.stderr else ""
    return process, run_id


def test_metrics_reach_disk_within_a_second_while_the_run_goes_on(repo: Path):
    process, run_id = start_long_run(repo)
    try:
        time.sleep(1.2)
        run_dir = repo / "runs" / "crash" / run_id
        history = read_histories(run_dir, 2)["loss"]
        assert [step for _, step, _ in history] == list(range(20))
        record, _ = RunStore(repo / "runs").load_run(run_id)
        assert record.status == "RUNNING"
        assert record.metrics["loss"].last == pytest.approx(0.05)
    finally:
        process.kill()
        process.wait()


def test_sigkill_leaves_a_record_that_reads_as_killed(repo: Path):
    process, run_id = start_long_run(repo)
    time.sleep(1.2)  # let the flusher write the history
    process.send_signal(signal.SIGKILL)
    process.wait()
    run_dir = repo / "runs" / "crash" / run_id
    on_disk = read_run_record(run_dir)
    assert on_disk.status == "RUNNING"  # the process could not say otherwise
    record, _ = RunStore(repo / "runs").load_run(run_id)
    assert record.status == "KILLED"
    assert record.params == {"alpha": "0.1"}
    assert record.metrics["loss"].step == 19
    assert check_runs(repo / "runs").ok
    # A search reads the index's columns, and sees it as killed too, with its last loss.
    client = gitruns.MlflowClient()
    found = client.search_runs("crash", "attributes.status = 'KILLED' AND metrics.loss >= 0")
    assert [run.info.run_id for run in found] == [run_id]
    assert found[0].data.metrics["loss"] == record.metrics["loss"].last
    assert client.search_runs("crash", "attributes.status = 'RUNNING'") == []
    # Its metric log stays (the process never ended the run) until a commit folds it.
    assert (run_dir / "metrics.log").exists()
    commit_runs(repo / "runs")
    assert not (run_dir / "metrics.log").exists()
    assert read_histories(run_dir, 2)["loss"][-1][1] == 19


def test_sigterm_ends_the_run_as_killed(repo: Path):
    process, run_id = start_long_run(repo)
    process.send_signal(signal.SIGTERM)
    assert process.wait(timeout=30) == -signal.SIGTERM
    record = read_run_record(repo / "runs" / "crash" / run_id)
    assert record.status == "KILLED"
    assert "SIGTERM" in record.error["message"]
    assert len(read_histories(repo / "runs" / "crash" / run_id, 2)["loss"]) == 20


def test_ctrl_c_ends_the_run_as_killed(repo: Path):
    process, run_id = start_long_run(repo)
    process.send_signal(signal.SIGINT)
    _, stderr = process.communicate(timeout=30)
    assert "KeyboardInterrupt" in stderr and "Timeout (0:00:25)" not in stderr, stderr
    assert read_run_record(repo / "runs" / "crash" / run_id).status == "KILLED"


def test_uncaught_exception_outside_a_with_block_fails_the_run(repo: Path):
    result = run_python(
        "import gitruns\nrun = gitruns.start_run()\nprint(run.info.run_id)\n"
        "raise ValueError('bad data')",
        cwd=repo,
    )
    assert result.returncode == 1 and "ValueError: bad data" in result.stderr
    run_id = result.stdout.strip()
    record = read_run_record(repo / "runs" / "default" / run_id)
    assert record.status == "FAILED"
    assert record.error == {"type": "ValueError", "message": "bad data"}


def test_a_run_left_open_finishes_at_normal_exit(repo: Path):
    result = run_python(
        "import gitruns\nrun = gitruns.start_run()\ngitruns.log_metric('m', 2.0)\n"
        "print(run.info.run_id)",
        cwd=repo,
    )
    record = read_run_record(repo / "runs" / "default" / result.stdout.strip())
    assert record.status == "FINISHED" and record.metrics["m"].last == 2.0


def test_six_processes_logging_at_once_keep_every_run(repo: Path):
    code = """
import gitruns
gitruns.set_experiment("crowded")
for i in range(25):
    with gitruns.start_run():
        gitruns.log_params({"i": i, "worker": WORKER})
        for step in range(5):
            gitruns.log_metric("loss", 1.0 / (step + 1), step=step)
"""
    workers = [
        subprocess.Popen([sys.executable, "-c", code.replace("WORKER", str(n))], cwd=repo)
        for n in range(6)
    ]
    assert [worker.wait(timeout=120) for worker in workers] == [0] * 6
    run_dirs = list(RunStore(repo / "runs").run_dirs(["crowded"]))
    assert len(run_dirs) == 150
    records = [read_run_record(run_dir) for run_dir in run_dirs]
    assert {(r.params["worker"], r.params["i"]) for r in records} == {
        (str(w), str(i)) for w in range(6) for i in range(25)
    }
    assert all(r.status == "FINISHED" and r.metrics["loss"].step == 4 for r in records)
    report = check_runs(repo / "runs")
    assert report.ok, report.problems
    assert report.runs == 150


def test_two_branches_adding_runs_to_the_same_new_experiment_merge_cleanly(tmp_path: Path):
    repo = make_repo(tmp_path / "project")
    script = """
import gitruns
gitruns.set_experiment("shared-experiment", primary_metric="rmse")
for alpha in ALPHAS:
    with gitruns.start_run():
        gitruns.log_param("alpha", alpha)
        gitruns.log_metric("rmse", 1 / (1 + alpha))
"""
    for branch, alphas in (("tune-a", "[0.1, 0.2]"), ("tune-b", "[0.3]")):
        git(repo, "checkout", "--quiet", "-b", branch, "main")
        assert run_python(script.replace("ALPHAS", alphas), cwd=repo).returncode == 0
        git(repo, "add", "runs")
        git(repo, "commit", "--quiet", "-m", f"runs from {branch}")
    git(repo, "checkout", "--quiet", "tune-a")
    git(repo, "merge", "--no-edit", "--quiet", "tune-b")  # raises on a conflict
    assert git(repo, "status", "--porcelain") == ""
    runs = list(RunStore(repo / "runs").run_dirs(["shared-experiment"]))
    assert sorted(read_run_record(path).params["alpha"] for path in runs) == ["0.1", "0.2", "0.3"]
    assert check_runs(repo / "runs").ok


# Adds params, tags and a metric to an existing run by id, as a second writer does.
SECOND_WRITER = """
import sys, gitruns
from gitruns import MlflowClient
run_id, who = sys.argv[1], sys.argv[2]
client = MlflowClient()
for i in range(50):
    client.log_param(run_id, f"{who}_p{i}", i)
    client.set_tag(run_id, f"{who}_t{i}", i)
    client.log_metric(run_id, "shared", float(i), step=i)
"""


def test_writers_sharing_a_run_lose_nothing(repo: Path):
    """Two processes and the fluent API, with a client beside it, all write one run."""
    import gitruns
    from gitruns import MlflowClient

    gitruns.set_experiment("shared")
    with gitruns.start_run() as run:
        run_id = run.info.run_id
        writers = [
            subprocess.Popen(
                [sys.executable, "-c", SECOND_WRITER, run_id, who],
                cwd=repo,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
            )
            for who in ("first", "second")
        ]
        client = MlflowClient()
        for i in range(50):
            gitruns.log_param(f"main_p{i}", i)
            client.set_tag(run_id, f"client_t{i}", i)
            gitruns.set_tag(f"main_t{i}", i)
        for writer in writers:
            _, errors = writer.communicate(timeout=120)
            assert writer.returncode == 0, errors
        gitruns.delete_tag("main_t0")
    record = read_run_record(next((repo / "runs" / "shared").glob(f"{run_id}")))
    params = set(record.params)
    tags = set(record.tags)
    for who in ("first", "second", "main"):
        assert {f"{who}_p{i}" for i in range(50)} <= params, who
    for who in ("first", "second", "client"):
        assert {f"{who}_t{i}" for i in range(50)} <= tags, who
    assert {f"main_t{i}" for i in range(1, 50)} <= tags and "main_t0" not in tags
    assert record.status == "FINISHED"
    summary = record.metrics["shared"]
    assert (summary.min, summary.max, summary.step) == (0.0, 49.0, 49)
    run_dir = repo / "runs" / "shared" / run_id
    assert len(read_histories(run_dir, 2)["shared"]) == 100  # both writers' lines
    assert not (run_dir / "metrics.log").exists()  # folded into the table as the run ended


def test_files_a_killed_writer_left_are_ignored_and_cleaned(repo: Path):
    from gitruns.store.repo import commit_runs

    process = subprocess.Popen(
        [sys.executable, "-c", LONG_RUN], cwd=repo, stdout=subprocess.PIPE, text=True
    )
    run_id = process.stdout.readline().strip()
    run_dir = next((repo / "runs").glob(f"*/{run_id}"))
    process.kill()
    process.wait()
    # What a writer killed between writing and renaming leaves behind.
    left = [
        run_dir / f".run.yaml.{process.pid}.deadbeef.tmp",
        run_dir / "artifacts" / f".m.pkl.{process.pid}.0a1b.tmp",
    ]
    for path in left:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("half")
    status = git(repo, "status", "--porcelain", "--untracked-files=all", "--ignored")
    assert all(f"!! {path.relative_to(repo).as_posix()}" in status for path in left), status
    commit_runs(repo / "runs", "runs")
    assert not any(path.exists() for path in left)
    committed = git(repo, "ls-files", "runs")
    assert ".tmp" not in committed and ".lock" not in committed and "run.yaml" in committed


def test_a_registry_lock_held_by_a_dead_process_blocks_nothing(repo: Path):
    from gitruns import MlflowClient

    holder = run_python(
        "import os, filelock, subprocess\n"
        "git_dir = subprocess.check_output(['git', 'rev-parse', '--absolute-git-dir'], text=True)\n"
        "lock = filelock.FileLock(git_dir.strip() + '/gitruns-registry.lock')\n"
        "lock.acquire()\n"
        "os._exit(9)  # dies holding it\n",
        repo,
    )
    assert holder.returncode == 9
    import gitruns

    with gitruns.start_run() as run:
        gitruns.log_text("weights", "model/MLmodel")
    git(repo, "add", "runs")
    git(repo, "commit", "-qm", "runs")
    started = time.monotonic()
    MlflowClient().create_model_version("taxi-model", f"runs:/{run.info.run_id}/model")
    assert time.monotonic() - started < 5


FORKED_CHILD = """
import os, gitruns
from gitruns.store import session
with gitruns.start_run() as run:
    gitruns.log_metric("loss", 1.0)
    child = os.fork()
    if child == 0:  # the child ends without ending its parent's run, and logs nothing to it
        os._exit(0 if not session.live_runs and session.flusher.thread is None else 3)
    _, status = os.waitpid(child, 0)
    assert os.waitstatus_to_exitcode(status) == 0, status
    gitruns.log_metric("loss", 0.5, step=1)
print(run.info.run_id)
"""


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs os.fork (POSIX)")
def test_a_forked_child_forgets_its_parents_runs(tmp_path: Path):
    repo = make_repo(tmp_path)
    done = run_python(FORKED_CHILD, repo)
    assert done.returncode == 0, done.stderr
    run_dir = RunStore(repo / "runs").find_run_dir(done.stdout.split()[-1])
    record = read_run_record(run_dir)
    assert record.status == "FINISHED" and record.metrics["loss"].last == 0.5
