"""Logged models no run holds (MLflow 3's ``create_logged_model`` without a run, or with a
run that is not in this store), kept as MLflow's own file store keeps them::

    runs/<experiment>/models/<model id>/model.yaml    the record (ModelRecord)
    runs/<experiment>/models/<model id>/artifacts/    its files (MLmodel...)

A model a run logged stays in that run's ``artifacts/`` (its id says where,
``m-<run id>-<path>``); the models here have MLflow's own ids, ``m-<32 hex>``,
and the folder name is always one, never taken from a record. ``model.yaml``
has its own schema (1); runs' records do not change, so no run migrates.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import uuid
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from gitruns.exceptions import CorruptRecord, InvalidName, InvalidValue
from gitruns.store.names import check_key
from gitruns.store.record import ARTIFACTS_DIR, now_ms, record_lock, within_record_size
from gitruns.utils.files import TEMPORARY_SUFFIX, read_regular_file, write_atomic
from gitruns.utils.yamlcodec import InvalidYaml, dump_yaml, load_record_yaml

MODELS_DIR = "models"
MODEL_FILE = "model.yaml"
MODEL_SCHEMA_VERSION = 1
STANDALONE_MODEL_ID_PATTERN = re.compile(r"^m-[0-9a-f]{32}\Z")
PENDING, READY, FAILED = "PENDING", "READY", "FAILED"
MODEL_STATUSES = (PENDING, READY, FAILED)
FINALIZED = (READY, FAILED)  # what finalize_logged_model may set
METRIC_FIELDS = ("key", "value", "timestamp", "step", "run_id", "dataset_name", "dataset_digest")


def new_model_id() -> str:
    return f"m-{uuid.uuid4().hex}"


def is_standalone_model_id(model_id: object) -> bool:
    return isinstance(model_id, str) and STANDALONE_MODEL_ID_PATTERN.match(model_id) is not None


def check_model_id(model_id: object) -> str:
    if not is_standalone_model_id(model_id):
        raise InvalidName(
            f"{model_id!r} is not a logged model's id (m- and 32 hex characters, as "
            "create_logged_model gives)."
        )
    return str(model_id)


@dataclass
class ModelRecord:
    """What ``model.yaml`` holds: MLflow's LoggedModel, less what its folder says."""

    id: str
    name: str
    created: int
    updated: int
    status: str = PENDING
    source_run_id: str | None = None
    model_type: str | None = None
    tags: dict[str, str] = field(default_factory=dict)
    params: dict[str, str] = field(default_factory=dict)
    # each: key, value, timestamp, step, run_id, dataset_name, dataset_digest
    metrics: list[dict[str, Any]] = field(default_factory=list)
    outputs: list[dict[str, Any]] = field(default_factory=list)  # runs that output it: run_id, step
    used_by: list[dict[str, Any]] = field(
        default_factory=list
    )  # runs that took it as input: run_id
    deleted: bool = False

    def to_yaml(self) -> str:
        data: dict[str, Any] = {"schema": MODEL_SCHEMA_VERSION, "id": self.id, "name": self.name}
        for key in ("source_run_id", "model_type"):
            if getattr(self, key) is not None:
                data[key] = getattr(self, key)
        data.update(status=self.status, created=self.created, updated=self.updated)
        for key in ("tags", "params", "metrics", "outputs", "used_by"):
            if getattr(self, key):
                data[key] = getattr(self, key)
        if self.deleted:
            data["deleted"] = True
        return dump_yaml(data)

    @classmethod
    def parse(cls, data: Any, where: Path) -> ModelRecord:
        def bad(what: str) -> CorruptRecord:
            return CorruptRecord(
                f"{where} is not a logged model's record: {what}. Restore it from git "
                "(git checkout -- <file>) or remove the model's folder."
            )

        if not isinstance(data, dict):
            raise bad("it is not a mapping")
        if data.get("schema") != MODEL_SCHEMA_VERSION:
            raise bad(f"schema {data.get('schema')!r} is not {MODEL_SCHEMA_VERSION}")
        if data.get("id") != where.parent.name:
            raise bad("its id is not its folder's name")

        def text(key: str, optional: bool = False) -> Any:
            value = data.get(key)
            if value is None and optional:
                return None
            if not isinstance(value, str):
                raise bad(f"{key} is not text")
            return value

        def integer(key: str) -> int:
            value = data.get(key)
            if not isinstance(value, int) or isinstance(value, bool):
                raise bad(f"{key} is not a whole number")
            return value

        def strings(key: str) -> dict[str, str]:
            value = data.get(key) or {}
            if not isinstance(value, dict) or not all(
                isinstance(k, str) and isinstance(v, str) for k, v in value.items()
            ):
                raise bad(f"{key} is not a mapping of text to text")
            return dict(value)

        def rows(key: str, fields: tuple[str, ...]) -> list[dict[str, Any]]:
            value = data.get(key) or []
            if not isinstance(value, list) or not all(
                isinstance(row, dict) and set(row) <= set(fields) for row in value
            ):
                raise bad(f"{key} is not a list of entries with {', '.join(fields)}")
            return [dict(row) for row in value]

        status = text("status")
        if status not in MODEL_STATUSES:
            raise bad(f"status {status!r} is not one of {', '.join(MODEL_STATUSES)}")
        return cls(
            id=text("id"),
            name=text("name"),
            created=integer("created"),
            updated=integer("updated"),
            status=status,
            source_run_id=text("source_run_id", optional=True),
            model_type=text("model_type", optional=True),
            tags=strings("tags"),
            params=strings("params"),
            metrics=rows("metrics", METRIC_FIELDS),
            outputs=rows("outputs", ("run_id", "step")),
            used_by=rows("used_by", ("run_id",)),
            deleted=data.get("deleted") is True,
        )


def model_dir(experiment_dir: Path, model_id: str) -> Path:
    return experiment_dir / MODELS_DIR / check_model_id(model_id)


def model_artifacts_dir(folder: Path) -> Path:
    return folder / ARTIFACTS_DIR


def model_dirs(experiment_dir: Path) -> Iterator[Path]:
    """The folder of every logged model kept in this experiment, oldest name first."""
    try:
        entries = sorted(os.scandir(experiment_dir / MODELS_DIR), key=lambda entry: entry.name)
    except (FileNotFoundError, NotADirectoryError):
        return
    for entry in entries:
        if is_standalone_model_id(entry.name) and entry.is_dir(follow_symlinks=False):
            yield Path(entry.path)


def read_model(folder: Path) -> ModelRecord:
    path = folder / MODEL_FILE
    try:
        data = load_record_yaml(read_regular_file(path))
    except InvalidYaml as error:
        raise CorruptRecord(
            f"{path} is not valid YAML ({error}). Restore it from git or remove the model."
        ) from error
    return ModelRecord.parse(data, path)


def write_model(folder: Path, record: ModelRecord) -> None:
    record.updated = max(record.updated, now_ms())
    data = within_record_size(record.to_yaml(), f"logged model {record.id}")
    write_atomic(folder / MODEL_FILE, data)


@contextlib.contextmanager
def changing_model(folder: Path) -> Iterator[ModelRecord]:
    """The model's record to change; written back whole when the block ends, one writer
    at a time."""
    with record_lock(folder):
        record = read_model(folder)
        yield record
        write_model(folder, record)


def create_model(folder: Path, record: ModelRecord) -> None:
    """Make a model's folder whole: prepared under a hidden name, then renamed into place,
    so a reader listing models never meets one without its record."""
    folder.parent.mkdir(parents=True, exist_ok=True)
    hidden = folder.with_name(f".{folder.name}.{os.getpid()}{TEMPORARY_SUFFIX}")
    hidden.mkdir()
    try:
        model_artifacts_dir(hidden).mkdir()
        record.updated = max(record.updated, now_ms())
        data = within_record_size(record.to_yaml(), f"logged model {record.id}")
        (hidden / MODEL_FILE).write_bytes(data)
        os.rename(hidden, folder)
    except BaseException:
        shutil.rmtree(hidden, ignore_errors=True)
        raise


def checked_strings(values: Mapping[str, Any], kind: str) -> dict[str, str]:
    """Tags or params for a model: keys as a run's, values as text."""
    if not isinstance(values, Mapping):
        raise InvalidValue(
            f"a logged model's {kind}s must be a mapping of names to values, got "
            f"{type(values).__name__}. Pass a dict."
        )
    return {check_key(str(key), f"{kind} key"): str(value) for key, value in values.items()}


def metric_row(
    key: str,
    value: float,
    timestamp: int,
    step: int,
    run_id: str | None,
    dataset_name: str | None,
    dataset_digest: str | None,
) -> dict[str, Any]:
    """One metric value linked to a model, as ``model.yaml`` keeps it."""
    row: dict[str, Any] = {
        "key": check_key(key, "metric key"),
        "value": float(value),
        "timestamp": int(timestamp),
        "step": int(step),
    }
    for name, extra in (
        ("run_id", run_id),
        ("dataset_name", dataset_name),
        ("dataset_digest", dataset_digest),
    ):
        if extra is not None:
            row[name] = str(extra)
    return row
