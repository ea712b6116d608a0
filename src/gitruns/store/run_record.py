"""A run's record, ``run.yaml``: what it holds, how it is read and checked, and how two
writers' changes to it merge. The names it is written with are
:mod:`gitruns.store.record`'s.

A module of its own: a search answered from the index reads no record, and a process
that only reads runs back into a frame does not pay for defining these classes (1 ms).
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from gitruns import system_tags
from gitruns.exceptions import CorruptRecord
from gitruns.store.record import (
    ACTIVE,
    DATA_FILES_SCHEMA,
    INPUTS_SCHEMA,
    LAYOUT_SCHEMA,
    RUN_FILE,
    RUNNING,
    SCHEMA_VERSION,
    STATUSES,
    iso_from_ms,
    mapping_field,
    ms_from_iso,
    text_field,
    texts_field,
)
from gitruns.utils.files import read_regular_file
from gitruns.utils.yamlcodec import InvalidYaml, emit_record_yaml, load_record_yaml


@dataclass
class MetricSummary:
    """What a run's record keeps of one metric: its latest value and range.

    "Latest" is MLflow's: the value at the highest step, then the latest timestamp.
    NaN never becomes the minimum or maximum; ``min``/``max`` stay ``None``
    while every value logged is NaN.
    """

    last: float
    step: int
    timestamp: int
    min: float | None = None
    max: float | None = None

    @classmethod
    def first(cls, value: float, step: int, timestamp: int) -> MetricSummary:
        summary = cls(last=value, step=step, timestamp=timestamp)
        if not math.isnan(value):
            summary.min = summary.max = value
        return summary

    def update(self, value: float, step: int, timestamp: int) -> None:
        if (step, timestamp) >= (self.step, self.timestamp):
            self.last, self.step, self.timestamp = value, step, timestamp
        if value == value:  # not NaN
            if self.min is None or value < self.min:
                self.min = value
            if self.max is None or value > self.max:
                self.max = value

    def to_dict(self) -> dict[str, Any]:
        return {
            "last": self.last,
            "min": self.min,
            "max": self.max,
            "step": self.step,
            "timestamp": self.timestamp,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> MetricSummary:
        return cls(
            last=float(data["last"]),
            step=int(data.get("step", 0)),
            timestamp=int(data.get("timestamp", 0)),
            min=None if data.get("min") is None else float(data["min"]),
            max=None if data.get("max") is None else float(data["max"]),
        )


@dataclass
class RunRecord:
    """Everything ``run.yaml`` holds about one run.

    Times are milliseconds since the epoch in memory (MLflow's unit) and
    ISO 8601 UTC strings on disk (readable in a diff).
    """

    id: str
    experiment: str
    name: str
    start_time: int
    status: str = RUNNING
    end_time: int | None = None
    user: str | None = None
    parent: str | None = None
    description: str | None = None
    error: dict[str, str] | None = None
    source: dict[str, Any] = field(default_factory=dict)
    git: dict[str, Any] | None = None
    process: dict[str, Any] | None = None
    params: dict[str, str] = field(default_factory=dict)
    tags: dict[str, str] = field(default_factory=dict)
    metrics: dict[str, MetricSummary] = field(default_factory=dict)
    environment: dict[str, Any] = field(default_factory=dict)
    lifecycle_stage: str = ACTIVE
    inputs: list[dict[str, Any]] = field(default_factory=list)  # datasets read (schema 3)
    # files read that git does not hold: path, size, sha256 (schema 4)
    data_files: list[dict[str, Any]] = field(default_factory=list)
    schema: int = LAYOUT_SCHEMA

    @property
    def written_schema(self) -> int:
        """The lowest schema that holds this record (never below the one it was read at)."""
        needed = (
            DATA_FILES_SCHEMA if self.data_files else INPUTS_SCHEMA if self.inputs else self.schema
        )
        return max(self.schema, needed)

    def to_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "schema": self.written_schema,
            "id": self.id,
            "name": self.name,
            "experiment": self.experiment,
            "status": self.status,
            "start_time": iso_from_ms(self.start_time),
            "end_time": None if self.end_time is None else iso_from_ms(self.end_time),
        }
        if self.lifecycle_stage != ACTIVE:
            data["lifecycle_stage"] = self.lifecycle_stage
        optional = {
            "user": self.user,
            "parent": self.parent,
            "description": self.description,
            "error": self.error,
            "source": self.source,
            "git": self.git,
            "process": self.process,
        }
        data.update((key, value) for key, value in optional.items() if value)
        data["params"] = self.params
        data["tags"] = self.tags
        data["metrics"] = {key: summary.to_dict() for key, summary in self.metrics.items()}
        if self.inputs:
            data["inputs"] = self.inputs
        if self.data_files:
            data["data_files"] = self.data_files
        data["environment"] = self.environment
        return data

    def to_yaml(self) -> str:
        return emit_record_yaml(self.to_dict())

    @classmethod
    def from_dict(cls, data: Any, origin: str = "run.yaml") -> RunRecord:
        """Build a record from parsed YAML; :class:`CorruptRecord` names ``origin`` if it can't."""
        if not isinstance(data, dict):
            raise CorruptRecord(
                f"{origin} does not hold a run record (a YAML mapping). "
                "Restore it from git ('git checkout -- <file>') or remove the run's folder."
            )
        schema = data.get("schema", LAYOUT_SCHEMA)
        if isinstance(schema, int) and schema > SCHEMA_VERSION:
            raise CorruptRecord(
                f"{origin} was written by a newer gitruns (schema {schema}; this one reads up "
                f"to {SCHEMA_VERSION}). Upgrade gitruns: pip install --upgrade gitruns"
            )
        try:
            end_time = data.get("end_time")
            status = text_field(data, "status", RUNNING)
            if status not in STATUSES:
                raise ValueError(f"status {status[:40]!r} is none of {', '.join(STATUSES)}")
            return cls(
                id=text_field(data, "id"),
                experiment=text_field(data, "experiment"),
                name=text_field(data, "name"),
                start_time=ms_from_iso(text_field(data, "start_time")),
                status=status,
                end_time=None if end_time is None else ms_from_iso(text_field(data, "end_time")),
                user=text_field(data, "user", None),
                parent=text_field(data, "parent", None),
                description=text_field(data, "description", None),
                error=mapping_field(data, "error", None),
                source=mapping_field(data, "source", {}),
                git=mapping_field(data, "git", None),
                process=mapping_field(data, "process", None),
                params=texts_field(data, "params"),
                tags=texts_field(data, "tags"),
                metrics={
                    str(k): MetricSummary.from_dict(v)
                    for k, v in mapping_field(data, "metrics", {}).items()
                },
                environment=mapping_field(data, "environment", {}),
                lifecycle_stage=text_field(data, "lifecycle_stage", ACTIVE),
                inputs=[dict(item) for item in data.get("inputs") or []],
                data_files=[dict(item) for item in data.get("data_files") or []],
                schema=int(schema),
            )
        except (KeyError, TypeError, ValueError, AttributeError) as error:
            raise CorruptRecord(
                f"{origin} is not a valid run record ({type(error).__name__}: {error}). "
                "Run 'gitruns check' to see every problem, then restore the file from git."
            ) from error


def merge_record_dicts(
    base: dict[str, Any], mine: dict[str, Any], theirs: dict[str, Any]
) -> dict[str, Any]:
    """Three-way merge of a record's dicts: what this writer changed since ``base``,
    applied onto ``theirs`` (the file as another writer left it).

    Params and tags merge key by key (a tag this writer deleted stays deleted);
    a metric both logged keeps the later last value and the wider range; any
    other field this writer changed takes its value. Nothing either logged is lost.
    """
    merged = dict(theirs)
    for key in mine.keys() | base.keys():
        mine_value, base_value = mine.get(key), base.get(key)
        if key in ("params", "tags"):
            section = dict(theirs.get(key) or {})
            mine_items, base_items = mine_value or {}, base_value or {}
            for item in mine_items.keys() | base_items.keys():
                if item not in mine_items:
                    section.pop(item, None)
                elif base_items.get(item) != mine_items[item]:
                    section[item] = mine_items[item]
            merged[key] = section
        elif key == "inputs":  # datasets are only ever added: keep both writers' new ones
            inputs = list(theirs.get(key) or [])
            inputs += [item for item in mine_value or [] if item not in inputs]
            merged[key] = inputs
        elif key == "data_files" and mine_value != base_value:  # by path, this writer's last
            files = {item.get("path"): item for item in theirs.get(key) or []}
            files.update((item.get("path"), item) for item in mine_value or [])
            merged[key] = [files[path] for path in sorted(files, key=str)]
        elif key == "metrics":
            section = dict(theirs.get(key) or {})
            for item, summary in (mine_value or {}).items():
                if (base_value or {}).get(item) != summary:
                    section[item] = _merge_summaries(section.get(item), summary)
            merged[key] = section
        elif mine_value != base_value:
            if key in mine:
                merged[key] = mine_value
            else:
                merged.pop(key, None)
    return merged


def _merge_summaries(theirs: dict[str, Any] | None, mine: dict[str, Any]) -> dict[str, Any]:
    if not isinstance(theirs, dict):
        return mine
    try:
        later = (
            mine
            if (mine["step"], mine["timestamp"]) >= (theirs["step"], theirs["timestamp"])
            else theirs
        )
        lows = [value for value in (mine.get("min"), theirs.get("min")) if value is not None]
        highs = [value for value in (mine.get("max"), theirs.get("max")) if value is not None]
    except (KeyError, TypeError):
        return mine
    return {**later, "min": min(lows, default=None), "max": max(highs, default=None)}


_SCHEMA_LINE = re.compile(rb"\Aschema: ([0-9]+)\n")


def run_schema(run_dir: Path) -> int:
    """A run's schema version, from the first line of ``run.yaml`` where gitruns writes it
    (a wide run's record is large; this does not parse it), else from the whole record."""
    try:
        head = read_regular_file(run_dir / RUN_FILE)[:64]
    except (OSError, CorruptRecord):
        head = b""  # the whole read says what is wrong
    found = _SCHEMA_LINE.match(head)
    return int(found.group(1)) if found else read_run_record(run_dir).schema


def read_run_record(run_dir: Path) -> RunRecord:
    """Read ``run_dir/run.yaml``; :class:`CorruptRecord` when it is missing or unreadable."""
    path = run_dir / RUN_FILE
    try:
        text = read_regular_file(path)
    except FileNotFoundError as error:
        raise CorruptRecord(
            f"{path} is missing: {run_dir} is not a run folder. Remove the folder if it is stray."
        ) from error
    return parse_run_record(text, path)


def parse_run_record(text: bytes, path: Path | str) -> RunRecord:
    """The record in ``text``, read from ``path`` (``<experiment>/<run-id>/run.yaml``).

    A record must live in the folder its id and experiment name: paths are only
    ever built from folder names, and a record that claims another place (say
    ``id: ../../victim``) is refused rather than trusted.
    """
    try:
        data = load_record_yaml(text)
    except InvalidYaml as error:
        raise CorruptRecord(
            f"{path} is not valid YAML ({error}). Restore it from git or remove the run's folder."
        ) from error
    record = RunRecord.from_dict(data, origin=str(path))
    run_folder, experiment_folder = _folder_names(path)
    if record.id != run_folder or record.experiment != experiment_folder:
        raise CorruptRecord(
            f"{path} says it is run {record.id[:40]!r} of experiment {record.experiment[:40]!r}, "
            f"but it lives in {experiment_folder}/{run_folder}/. A record must live in the "
            "folder named by its id: restore it from git, or remove the run's folder."
        )
    return record


def _folder_names(record_path: Path | str) -> tuple[str, str]:
    parts = Path(record_path).parts
    return (parts[-2] if len(parts) > 1 else "", parts[-3] if len(parts) > 2 else "")


def record_tags(record: RunRecord) -> dict[str, str]:
    """The ``mlflow.*`` tags MLflow sets itself, derived from the record.

    A run MLflow itself made (through the ``gitruns:`` store) carries the source tags
    MLflow's own context gave it; then no others are derived, so MLflow reads back the
    tags it wrote (the record's own capture stays in ``run.yaml``)."""
    git = {} if system_tags.SOURCE_TYPE in record.tags else (record.git or {})
    source = {} if system_tags.SOURCE_TYPE in record.tags else record.source
    candidates = {
        system_tags.RUN_NAME: record.name,
        system_tags.USER: record.user,
        system_tags.SOURCE_TYPE: source.get("type"),
        system_tags.SOURCE_NAME: source.get("entry_point"),
        system_tags.GIT_COMMIT: git.get("commit"),
        system_tags.GIT_BRANCH: git.get("branch"),
        system_tags.GIT_REPO_URL: git.get("remote"),
        system_tags.PARENT_RUN_ID: record.parent,
        system_tags.NOTE: record.description,
    }
    return {key: str(value) for key, value in candidates.items() if value is not None}
