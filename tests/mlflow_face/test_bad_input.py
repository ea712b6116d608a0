"""Bad input gets a clear error, of one family, and writes nothing outside runs/."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

import gitruns as mlflow
from gitruns import GitrunsError, MlflowException
from gitruns.exceptions import (
    ExperimentNotFound,
    InvalidName,
    InvalidPath,
    InvalidValue,
    ParamConflict,
    RunNotFound,
)
from gitruns.store.run_record import read_run_record


def files_outside_runs(repo: Path) -> set[str]:
    found = set()
    for root, dirs, files in os.walk(repo):
        dirs[:] = [d for d in dirs if d not in (".git", "runs")]
        found.update(str(Path(root, name).relative_to(repo)) for name in files)
    return found


def test_every_error_is_a_gitruns_error_also_known_as_mlflow_exception():
    assert MlflowException is GitrunsError
    assert issubclass(InvalidName, MlflowException)
    assert mlflow.exceptions.MlflowException is GitrunsError
    error = InvalidName("x")
    assert error.error_code == "INVALID_PARAMETER_VALUE" and error.message == "x"


@pytest.mark.parametrize(
    ("key", "expected"),
    [
        ("", "empty"),
        ("a" * 251, "251 characters"),
        ("rmse!", "characters outside"),
        ("loss\n", "characters outside"),
        ("nul\x00", "characters outside"),
        ("/abs", "clean relative"),
        ("../up", "clean relative"),
        ("a/../b", "clean relative"),
        ("a//b", "clean relative"),
        ("a/", "clean relative"),
        (".", "clean relative"),
    ],
)
def test_bad_metric_param_and_tag_keys_are_refused(repo: Path, key: str, expected: str):
    before = files_outside_runs(repo)
    with mlflow.start_run() as run:
        for call in (
            lambda: mlflow.log_metric(key, 1.0),
            lambda: mlflow.log_param(key, 1),
            lambda: mlflow.set_tag(key, "x"),
        ):
            with pytest.raises(InvalidName, match=expected):
                call()
    assert files_outside_runs(repo) == before
    record = read_run_record(Path(run.info.artifact_uri.removeprefix("file://")).parent)
    assert record.params == {} and record.metrics == {} and record.tags == {}


def test_non_string_keys_are_refused(repo: Path):
    with mlflow.start_run(), pytest.raises(InvalidName, match="must be a string"):
        mlflow.log_metric(3, 1.0)  # type: ignore[arg-type]


@pytest.mark.parametrize("value", ["0.5", None, b"1", [1.0, 2.0], {"a": 1}, 1 + 2j])
def test_metric_values_must_be_numbers(repo: Path, value: object):
    with (
        mlflow.start_run(),
        pytest.raises(InvalidValue, match=r"valid double.*metric 'rmse' got a"),
    ):
        mlflow.log_metric("rmse", value)  # type: ignore[arg-type]


def test_steps_must_be_integers(repo: Path):
    with mlflow.start_run(), pytest.raises(InvalidValue, match="step must be an integer"):
        mlflow.log_metric("rmse", 1.0, step=1.5)  # type: ignore[arg-type]


def test_a_param_cannot_change_once_logged(repo: Path):
    with mlflow.start_run() as run:
        mlflow.log_param("alpha", 0.1)
        changing = r"Changing param values is not allowed.*value='0\.1'.*new value '0\.2'"
        with pytest.raises(ParamConflict, match=changing):
            mlflow.log_param("alpha", 0.2)
        with pytest.raises(ParamConflict):
            mlflow.log_params({"beta": 1, "alpha": 0.3})
    assert run.data.params == {"alpha": "0.1"}  # all or nothing: beta was not written either


def test_overlong_values_point_to_artifacts(repo: Path):
    with mlflow.start_run(), pytest.raises(InvalidValue, match="log_text"):
        mlflow.log_param("notes", "x" * 6001)


@pytest.mark.parametrize(
    "call",
    [
        lambda: mlflow.log_metric("rmse", 1.0),
        lambda: mlflow.log_param("alpha", 1),
        lambda: mlflow.set_tag("a", "b"),
        lambda: mlflow.log_text("x", "x.txt"),
        lambda: mlflow.get_artifact_uri(),
    ],
)
def test_logging_without_an_active_run_starts_one_as_mlflow_does(repo: Path, call):
    call()
    run = mlflow.active_run()
    assert run is not None
    call()  # the same run takes the next call too
    assert mlflow.active_run().info.run_id == run.info.run_id
    mlflow.end_run()
    ended = mlflow.get_run(run.info.run_id)
    assert ended.info.status == "FINISHED" and mlflow.active_run() is None


@pytest.mark.parametrize(
    "path",
    ["../escape.txt", "/etc/passwd", "a/../../b.txt", "..", "C:\\temp\\x.txt", "nul\x00.txt", ""],
)
def test_artifact_paths_cannot_leave_the_run(repo: Path, path: str):
    before = files_outside_runs(repo)
    with mlflow.start_run():
        with pytest.raises(InvalidPath, match="artifact"):
            mlflow.log_text("payload", path)
        (repo / "model.bin").write_bytes(b"m")
        with pytest.raises(InvalidPath):
            mlflow.log_artifact("model.bin", artifact_path=path or "..")
    assert files_outside_runs(repo) == before | {"model.bin"}
    assert not (repo.parent / "escape.txt").exists()


def test_a_link_inside_the_artifacts_cannot_lead_outside(repo: Path, tmp_path: Path):
    outside = tmp_path / "outside"
    outside.mkdir()
    with mlflow.start_run() as run:
        artifacts = Path(run.info.artifact_uri.removeprefix("file://"))
        artifacts.mkdir(parents=True)
        (artifacts / "link").symlink_to(outside)
        with pytest.raises(InvalidPath, match="outside the run's artifacts"):
            mlflow.log_text("payload", "link/evil.txt")
    assert list(outside.iterdir()) == []


def test_an_artifacts_folder_that_is_a_link_writes_nowhere(repo: Path):
    mlflow.set_experiment("links")
    with mlflow.start_run() as run:
        mlflow.log_param("alpha", 1)
    run_dir = Path(run.info.artifact_uri.removeprefix("file://")).parent
    environments = repo / "runs" / "_environments"
    before = sorted(path.name for path in environments.iterdir())
    (run_dir / "artifacts").symlink_to(environments)  # as a branch could commit it
    with mlflow.start_run(run_id=run.info.run_id):
        with pytest.raises(InvalidPath, match="is a link"):
            mlflow.log_text("payload", "evil.txt")
        (repo / "notes").mkdir()
        (repo / "notes" / "a.txt").write_text("a")
        with pytest.raises(InvalidPath, match="is a link"):
            mlflow.log_artifacts("notes")
    assert sorted(path.name for path in environments.iterdir()) == before


def test_log_artifacts_follows_links_that_stay_inside_the_folder(repo: Path, tmp_path: Path):
    secrets = tmp_path / "home-ssh"
    secrets.mkdir()
    (secrets / "id_rsa").write_text("KEY")
    folder = repo / "outputs"
    (folder / "real").mkdir(parents=True)
    (folder / "real" / "a.txt").write_text("a")
    (folder / "linked").symlink_to(folder / "real", target_is_directory=True)  # as MLflow: copied
    (folder / "loop").symlink_to(folder, target_is_directory=True)  # walked once
    (folder / "ssh").symlink_to(secrets, target_is_directory=True)  # outside: left out
    (folder / "key").symlink_to(secrets / "id_rsa")  # outside: left out
    (folder / "b.txt").symlink_to(folder / "real" / "a.txt")  # inside: copied
    with mlflow.start_run() as run:
        mlflow.log_artifacts("outputs", "out")
    artifacts = Path(run.info.artifact_uri.removeprefix("file://"))
    copied = sorted(
        p.relative_to(artifacts).as_posix() for p in artifacts.rglob("*") if p.is_file()
    )
    assert copied == ["out/b.txt", "out/linked/a.txt", "out/real/a.txt"]
    assert not any(p.is_symlink() for p in artifacts.rglob("*"))


def test_missing_local_file_is_named(repo: Path):
    with mlflow.start_run(), pytest.raises(InvalidPath, match=r"no-such-file\.bin"):
        mlflow.log_artifact("no-such-file.bin")


@pytest.mark.parametrize("name", ["", "   ", "bad\x00name", 42])
def test_bad_experiment_and_run_names(repo: Path, name: object):
    with pytest.raises(InvalidName):
        mlflow.set_experiment(name)  # type: ignore[arg-type]
    with pytest.raises(InvalidName):
        mlflow.start_run(run_name=name)  # type: ignore[arg-type]
    assert mlflow.active_run() is None


@pytest.mark.parametrize("experiment_id", ["../etc", "a/b", "UPPER", ""])
def test_experiment_ids_cannot_name_paths(repo: Path, experiment_id: str):
    with pytest.raises(ExperimentNotFound, match="not an experiment id"):
        mlflow.start_run(experiment_id=experiment_id)


def test_unknown_experiment_and_run_ids(repo: Path):
    with pytest.raises(GitrunsError, match="No Experiment with id=missing exists"):
        mlflow.set_experiment(experiment_id="missing")
    with pytest.raises(GitrunsError, match="no run id starts with 'abc'"):
        mlflow.get_run("abc")
    with pytest.raises(RunNotFound, match="not a run id"):
        mlflow.get_run("not-hex")


def test_ambiguous_prefix_lists_candidates(repo: Path):
    ids = []
    for _ in range(3):
        with mlflow.start_run() as run:
            pass
        ids.append(run.info.run_id)
    with pytest.raises(GitrunsError, match="3 runs start with '0'"):
        mlflow.get_run("0")


def test_tags_must_be_a_mapping(repo: Path):
    with pytest.raises(InvalidValue, match="mapping"):
        mlflow.start_run(tags=["a", "b"])  # type: ignore[arg-type]
    with mlflow.start_run(), pytest.raises(InvalidValue, match="mapping"):
        mlflow.log_params([("a", 1)])  # type: ignore[arg-type]
