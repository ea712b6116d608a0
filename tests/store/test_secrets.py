"""Nothing secret leaves the machine: diffs, command lines, remotes and the public site."""

from __future__ import annotations

import os
import socket
from pathlib import Path
from typing import Any

import pytest
import yaml

import gitruns
from gitruns.init import init_project
from gitruns.redact import REDACTED, is_secret_file, redact_command, redact_lines
from gitruns.site import build_site
from gitruns.store.capture import GitWatcher
from tests.conftest import git, make_repo, run_python

AWS_KEY = "AKIAIOSFODNN7EXAMPLE"
GITHUB_TOKEN = "ghp_" + "x1Y2z3" * 6
PRIVATE_KEY = (
    "-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAA\n"
    "-----END OPENSSH PRIVATE KEY-----\n"
)


@pytest.fixture()
def project(tmp_path: Path) -> Path:
    return make_repo(tmp_path / "project", {"train.py": "alpha = 1\n"})


def diff_of(project: Path) -> str:
    return GitWatcher(project, project / "runs").snapshot().diff


@pytest.mark.parametrize(
    "name",
    [
        ".env",
        ".env.local",
        "secrets.yaml",
        "credentials.json",
        "id_rsa",
        "id_ed25519.pub",
        "deploy.pem",
        "config/.netrc",
        "home/.aws/config",
        "service-account-prod.json",
    ],
)
def test_secret_file_names_are_never_captured(project: Path, name: str):
    (project / name).parent.mkdir(parents=True, exist_ok=True)
    (project / name).write_text("harmless = 'but private'\n")
    assert is_secret_file(name)
    diff = diff_of(project)
    assert "but private" not in diff
    assert "left out because their name or content looks secret" in diff
    assert name in diff  # the note names what was left out


def test_untracked_files_with_secret_content_are_left_out_whole(project: Path):
    (project / "settings.py").write_text(f'BUCKET = "taxi"\nAWS_KEY = "{AWS_KEY}"\n')
    (project / "deploy_key").write_text(PRIVATE_KEY)
    (project / "notes.txt").write_text("max_depth 5 looked best\n")
    diff = diff_of(project)
    assert AWS_KEY not in diff and "BUCKET" not in diff
    assert "b3BlbnNzaC1rZXkt" not in diff
    assert "max_depth 5 looked best" in diff  # ordinary files are still captured
    assert "settings.py" in diff and "deploy_key" in diff


def test_secrets_in_tracked_changes_are_redacted_with_a_note(project: Path):
    (project / "train.py").write_text(
        f'alpha = 2\ntoken = "{GITHUB_TOKEN}"\napi_key = "{AWS_KEY}"\nmodel = tokenizer(x)\n'
    )
    diff = diff_of(project)
    assert GITHUB_TOKEN not in diff and AWS_KEY not in diff
    assert f'+token = "{REDACTED}"' in diff
    assert "+alpha = 2" in diff and "+model = tokenizer(x)" in diff  # code stays readable
    assert "# gitruns: redacted 2 secret(s)" in diff


def test_untracked_links_are_never_followed(project: Path, tmp_path: Path):
    outside = tmp_path / "home" / ".aws"
    outside.mkdir(parents=True)
    (outside / "credentials").write_text("aws_secret_access_key = do-not-copy-me\n")
    os.symlink(outside / "credentials", project / "creds-link")
    os.symlink(outside / "credentials", project / "innocent.txt")
    os.symlink(outside, project / "aws-folder")
    diff = diff_of(project)
    assert "do-not-copy-me" not in diff
    assert "innocent.txt" in diff  # named as left out


def test_a_built_site_never_fills_the_diff(project: Path):
    gitruns.set_tracking_uri(str(project / "runs"))
    with gitruns.start_run():
        gitruns.log_metric("rmse", 1.0)
    build_site(project / "runs", project / "site")
    diff = diff_of(project)
    assert "site/index.html" not in diff
    assert "built site output left out: site/" in diff


def test_init_ignores_build_output(project: Path):
    init_project(project)
    (project / "site").mkdir()
    (project / "site" / "index.html").write_text("<html>")
    assert "site/" not in git(project, "status", "--porcelain", "--untracked-files=all")
    init_project(project)  # idempotent: the line is added once
    assert (project / ".gitignore").read_text().count("/site/") == 1


def run_committed_script(
    project: Path, argv: list[str], also_printed: str = ""
) -> tuple[list[str], dict[str, Any]]:
    """Commit a script that logs one run and prints its id (and ``also_printed``), run it
    with ``argv`` in a fresh process: what it printed, and its run's record."""
    (project / "train.py").write_text(
        "import sys\n"
        "import gitruns\n"
        "gitruns.set_tracking_uri('runs')\n"
        "with gitruns.start_run() as run:\n"
        f"    print(run.info.run_id, {also_printed or 'None'})\n"
    )
    git(project, "add", ".")
    git(project, "commit", "-qm", "script")
    result = run_python(
        f"import runpy, sys; sys.argv = {argv!r}; runpy.run_path('train.py', run_name='__main__')",
        project,
    )
    assert result.returncode == 0, result.stderr
    printed = result.stdout.split()
    record = yaml.safe_load(next((project / "runs").glob(f"*/{printed[0]}/run.yaml")).read_text())
    return printed, record


def test_secret_options_are_redacted_from_the_recorded_command(project: Path):
    argv = ["train.py", "--api-key=SECRET-123", "--password", "hunter2hunter2", "--lr", "0.1"]
    argv += ["--data", f"https://me:{GITHUB_TOKEN}@host.example/d"]
    _, record = run_committed_script(project, argv)
    command = record["source"]["command"]
    assert "SECRET-123" not in command and "hunter2" not in command and GITHUB_TOKEN not in command
    assert f"--api-key={REDACTED}" in command and "--lr 0.1" in command
    assert record["source"]["redacted"] == 3


def test_a_script_without_arguments_in_a_clean_tree_loads_no_secret_scanner(project: Path):
    """Nothing a clean tree's script records can hold a secret the record does not
    already name (its entry point): the scanner, 75 ms of imports, is not loaded."""
    printed, record = run_committed_script(project, ["train.py"], "'detect_secrets' in sys.modules")
    assert record["source"]["command"] == "python train.py"
    assert printed[1] == "False"


def test_redaction_helpers_leave_ordinary_text_alone():
    assert redact_command(["train.py", "--max-depth", "5"]) == (["train.py", "--max-depth", "5"], 0)
    assert not redact_lines("+learning_rate = 0.1\n+booster = xgb.train(params)\n").removed


def test_the_site_shows_no_home_paths_hosts_or_pids(tmp_path: Path, monkeypatch):
    project = make_repo(tmp_path / "project")
    monkeypatch.chdir(project)
    gitruns.set_tracking_uri(str(project / "runs"))
    with gitruns.start_run(run_name="with paths") as run:
        gitruns.log_param("train_path", "/home/ana/data/green_tripdata_2021-01.parquet")
        gitruns.log_param("cache", "/Users/ana/Library/Caches/x")
        gitruns.set_tag("note", "read from /root/data")
        gitruns.log_metric("rmse", 5.0)
    record_path = next((project / "runs").glob(f"*/{run.info.run_id}/run.yaml"))
    record = yaml.safe_load(record_path.read_text())
    assert record["process"]["pid"] == os.getpid()  # recorded, to tell a live run from a dead one
    output = project / "site"
    build_site(project / "runs", output)
    host = socket.gethostname()
    for path in output.rglob("*"):
        if not path.is_file() or path.name == "vega.js":
            continue
        text = path.read_text(errors="replace")
        assert "/home/ana" not in text and "/Users/ana" not in text and "/root/" not in text, path
        assert str(tmp_path) not in text, path
        if len(host) >= 6:
            assert host not in text, path
        assert '"pid"' not in text and f"pid: {os.getpid()}" not in text, path
    page = (output / "runs" / f"{run.info.run_id}.html").read_text()
    assert "~/data/green_tripdata_2021-01.parquet" in page


def test_committed_records_hold_no_home_path_and_no_host_name(project: Path):
    home = Path(os.environ["HOME"])  # the test's own home folder, outside /home
    data = home / "data" / "train.csv"
    (project / "train.py").write_text(
        "import sys, gitruns\n"
        "gitruns.set_tracking_uri('runs')\n"
        "with gitruns.start_run() as run:\n"
        "    print(run.info.run_id, flush=True)\n"
        "    open(sys.argv[2])\n"
    )
    git(project, "add", ".")
    git(project, "commit", "-qm", "script")
    result = run_python(
        "import runpy, sys; "
        f"sys.argv = ['train.py', '--data', {str(data)!r}, '--cache', '/home/ana/.cache/x']; "
        "runpy.run_path('train.py', run_name='__main__')",
        project,
    )
    assert result.returncode != 0 and "FileNotFoundError" in result.stderr
    run_id = result.stdout.split()[0]
    text = next((project / "runs").glob(f"*/{run_id}/run.yaml")).read_text()
    record = yaml.safe_load(text)
    assert record["status"] == "FAILED"
    assert record["source"]["command"] == (
        "python train.py --data ~/data/train.csv --cache ~/.cache/x"
    )
    assert record["error"]["message"].endswith("'~/data/train.csv'")
    host = socket.gethostname()
    assert record["process"]["host"].startswith("host-") and host not in text
    assert str(home) not in text and "/home/ana" not in text
