"""A run records the files it read that git does not hold: its data, with size and digest."""

from __future__ import annotations

import hashlib
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner

from gitruns.cli import cli
from gitruns.exceptions import CorruptRecord
from gitruns.store.folder import RunStore
from gitruns.store.run_record import RunRecord, read_run_record
from tests.conftest import make_repo

SCRIPT = """\
import os
import pandas as pd
import gitruns as mlflow

trips = pd.read_csv("data/trips.csv")  # before the run: a script reads, then logs
with open("data/labels.txt") as file:
    labels = file.read()
descriptor = os.open("data/raw.bin", os.O_RDONLY)
os.close(descriptor)
open("config.txt").read()  # git holds it: the commit says what it was
open("../outside.txt").read()  # not the repository's
with open("data/features.txt", "w") as file:
    file.write("made here")
open("data/features.txt").read()  # the script's own output, not its input
for trial in range(2):
    with mlflow.start_run(run_name=f"trial-{trial}"):
        mlflow.log_metric("rows", len(trips))
mlflow.set_tracking_uri("runs")
print(len(mlflow.search_runs()))  # gitruns' own reading of runs/ is no data
"""

LOGS_A_SOURCE_IT_NEVER_OPENS = """\
import pandas as pd
import gitruns as mlflow

with mlflow.start_run(run_name="fit"):
    frame = pd.DataFrame({"a": [1, 2]})
    mlflow.log_input(mlflow.data.from_pandas(frame, source="data/table.parquet"))
"""


def run_script(project: Path, script: str) -> list[RunRecord]:
    (project / "train.py").write_text(script)
    subprocess.run([sys.executable, "train.py"], cwd=project, check=True, capture_output=True)
    records = [read_run_record(path) for path in RunStore(project / "runs").run_dirs()]
    return sorted(records, key=lambda record: record.name)


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_a_run_records_each_file_it_read_that_git_does_not_hold(tmp_path: Path):
    project = make_repo(tmp_path / "project", {"config.txt": "depth=3\n", ".gitignore": "data/\n"})
    (tmp_path / "outside.txt").write_text("not ours")
    data = project / "data"
    data.mkdir()
    (data / "trips.csv").write_text("a,b\n1,2\n")
    (data / "labels.txt").write_text("cat\ndog\n")
    (data / "raw.bin").write_bytes(bytes(range(256)))
    (data / "unread.csv").write_text("never opened\n")
    # Untracked, not ignored: the run's diff holds it (gitruns read it), the script never did.
    (project / "NOTES.md").write_text("to do: try depth 5\n")

    records = run_script(project, SCRIPT)

    assert [record.name for record in records] == ["trial-0", "trial-1"]
    for record in records:  # each run of the process: what the process had read
        assert record.written_schema == 4
        assert record.data_files == [
            {
                "path": f"data/{name}",
                "size": (data / name).stat().st_size,
                "sha256": digest(data / name),
            }
            for name in ("labels.txt", "raw.bin", "trips.csv")
        ]
    run_dir = RunStore(project / "runs").find_run_dir(records[0].id)
    assert "try depth 5" in (run_dir / "code.diff").read_text()
    text = (run_dir / "run.yaml").read_text()
    assert text.startswith("schema: 4\n")
    checked = CliRunner().invoke(cli, ["check", str(project / "runs")])
    assert checked.exit_code == 0, checked.output


def test_a_dataset_source_is_recorded_even_when_python_never_opened_it(tmp_path: Path):
    project = make_repo(tmp_path / "project", {".gitignore": "data/\n"})
    (project / "data").mkdir()
    (project / "data" / "table.parquet").write_bytes(b"PAR1 not really")
    (record,) = run_script(project, LOGS_A_SOURCE_IT_NEVER_OPENS)
    assert record.data_files == [
        {"path": "data/table.parquet", "size": 15, "sha256": digest(project / "data/table.parquet")}
    ]


def test_a_run_that_read_no_data_keeps_the_lowest_schema(tmp_path: Path):
    project = make_repo(tmp_path / "project", {"config.txt": "depth=3\n"})
    (record,) = run_script(
        project,
        "import gitruns as mlflow\nopen('config.txt').read()\n"
        "with mlflow.start_run(run_name='fit'):\n    mlflow.log_metric('m', 1)\n",
    )
    assert record.data_files == [] and record.written_schema == 2
    text = (RunStore(project / "runs").find_run_dir(record.id) / "run.yaml").read_text()
    assert text.startswith("schema: 2\n") and "data_files" not in text


def test_records_of_every_schema_read_and_a_newer_one_is_refused_plainly(tmp_path: Path):
    base = {
        "id": "0" * 32,
        "name": "fit",
        "experiment": "default",
        "status": "FINISHED",
        "start_time": "2026-12-05T00:00:00.000Z",
        "params": {},
        "tags": {},
        "metrics": {},
    }
    for schema in (2, 3, 4):
        record = RunRecord.from_dict({**base, "schema": schema})
        assert record.data_files == [] and record.written_schema == schema
    entry = {"path": "data/a.csv", "size": 1, "sha256": "a" * 64}
    assert RunRecord.from_dict({**base, "schema": 4, "data_files": [entry]}).data_files == [entry]
    with pytest.raises(CorruptRecord) as refused:
        RunRecord.from_dict({**base, "schema": 5}, origin="runs/x/run.yaml")
    assert "newer gitruns (schema 5; this one reads up to 4)" in str(refused.value)
    assert "pip install --upgrade gitruns" in str(refused.value)
    assert yaml.safe_load(RunRecord.from_dict({**base, "schema": 3}).to_yaml())["schema"] == 3
