"""The on-disk contract: records, atomic writes, metric histories, run ids."""

from __future__ import annotations

import math
import threading
from pathlib import Path

import pytest
import yaml
from hypothesis import given
from hypothesis import strategies as st

from gitruns.exceptions import CorruptRecord
from gitruns.store.history import MetricLog, read_histories
from gitruns.store.record import new_run_id
from gitruns.store.run_record import MetricSummary, RunRecord, read_run_record
from gitruns.utils.files import write_atomic
from gitruns.utils.yamlcodec import (
    InvalidYaml,
    emit_record_yaml,
    load_record_yaml,
    read_emitted_yaml,
)

scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**63), max_value=2**63),
    st.floats(allow_nan=False),
    st.text(),
)
documents = st.recursive(
    st.dictionaries(st.text(), scalars, max_size=5),
    lambda children: st.dictionaries(
        st.text(),
        st.one_of(
            scalars,
            children,
            # what records hold in lists: a run's inputs and data files (mappings), or text
            st.lists(children.filter(bool), max_size=3),
            st.lists(scalars, max_size=3),
        ),
        max_size=5,
    ),
    max_leaves=30,
)


@given(documents)
def test_emitted_yaml_reads_back_equal(document: dict):
    assert yaml.safe_load(emit_record_yaml(document)) == document


def test_emitted_yaml_keeps_nan_and_infinities():
    loaded = yaml.safe_load(
        emit_record_yaml({"a": math.nan, "b": math.inf, "c": -math.inf, "d": 1e-05})
    )
    assert math.isnan(loaded["a"]) and loaded["b"] == math.inf and loaded["c"] == -math.inf
    assert loaded["d"] == 1e-05


@pytest.mark.parametrize(
    "text", ["yes", "No", "null", "1.5", "2024-01-01", "0x1F", "a: b", "# c", "-x", "x "]
)
def test_strings_that_look_like_other_things_are_quoted(text: str):
    assert yaml.safe_load(emit_record_yaml({"k": text})) == {"k": text}


def sample_record() -> RunRecord:
    return RunRecord(
        id=new_run_id(),
        experiment="exp",
        name="swift-heron-1",
        start_time=1_700_000_000_123,
        params={"alpha": "0.1", "yes": "no"},
        tags={"multi": "line\nvalue"},
        metrics={"rmse": MetricSummary.first(5.5, 0, 1_700_000_000_200)},
        git={"commit": "a" * 40, "branch": "main", "dirty": False, "remote": None},
    )


def test_a_record_round_trips_through_its_file(tmp_path: Path):
    record = sample_record()
    run_dir = tmp_path / record.experiment / record.id
    run_dir.mkdir(parents=True)
    write_atomic(run_dir / "run.yaml", record.to_yaml())
    assert read_run_record(run_dir) == record


def test_a_corrupt_record_names_its_file(tmp_path: Path):
    (tmp_path / "run.yaml").write_text("id: [unclosed")
    with pytest.raises(CorruptRecord, match=str(tmp_path / "run.yaml")):
        read_run_record(tmp_path)
    (tmp_path / "run.yaml").write_text("- just\n- a list\n")
    with pytest.raises(CorruptRecord, match="does not hold a run record"):
        read_run_record(tmp_path)
    (tmp_path / "run.yaml").write_text("id: x\nname: y\n")
    with pytest.raises(CorruptRecord, match="gitruns check"):
        read_run_record(tmp_path)


def test_atomic_write_never_shows_a_partial_file(tmp_path: Path):
    path = tmp_path / "run.yaml"
    write_atomic(path, "x: 0\n")
    big = "".join(f"key{i}: {i}\n" for i in range(20_000))
    seen: set[int] = set()
    stop = threading.Event()

    def read_constantly() -> None:
        while not stop.is_set():
            seen.add(len(path.read_text()))

    reader = threading.Thread(target=read_constantly)
    reader.start()
    for _ in range(30):
        write_atomic(path, big)
        write_atomic(path, "x: 0\n")
    stop.set()
    reader.join()
    assert seen <= {len("x: 0\n"), len(big)}
    assert [p.name for p in tmp_path.iterdir()] == ["run.yaml"]


def test_metric_history_skips_a_line_cut_by_a_kill(tmp_path: Path):
    log = MetricLog(tmp_path)
    for step in range(3):
        log.append("loss", 1000 + step, step, 0.5 * step)
    log.flush()
    with open(tmp_path / "metrics.log", "a") as file:
        file.write("loss\t3\t1003\t0.7")  # no newline: the process died mid-line
    assert read_histories(tmp_path, 2) == {"loss": [(1000, 0, 0.0), (1001, 1, 0.5), (1002, 2, 1.0)]}


def test_metric_summary_ignores_nan_for_min_and_max():
    summary = MetricSummary.first(math.nan, 0, 1)
    summary.update(2.0, 1, 2)
    summary.update(math.nan, 2, 3)
    assert math.isnan(summary.last) and (summary.min, summary.max) == (2.0, 2.0)


def test_run_ids_increase_within_a_process_and_carry_the_time():
    ids = [new_run_id() for _ in range(10_000)]
    assert ids == sorted(ids) and len(set(ids)) == len(ids)
    assert all(len(i) == 32 for i in ids)
    import time

    assert abs(int(ids[0][:12], 16) - time.time() * 1000) < 60_000


@given(documents)
def test_the_fast_reader_reads_what_the_emitter_writes(document: dict):
    assert read_emitted_yaml(emit_record_yaml(document)) == document


def test_a_record_with_inputs_and_data_files_is_read_without_pyyaml():
    document = {
        "schema": 4,
        "inputs": [{"name": "trips", "digest": "ab12", "tags": {"split": "train"}}, {"name": "x"}],
        "data_files": [{"path": ".gitignore", "size": 6, "sha256": "e4"}],
        "empty": [],
        "after": {"key": [1, "two", None]},
    }
    text = emit_record_yaml(document)
    assert read_emitted_yaml(text) == document == yaml.safe_load(text)


@pytest.mark.parametrize(
    "text",
    [
        "a: 1  # comment\n",
        "a:\n  - 1\n",
        "a:\n-  1\n",
        "a:\n- b: 1\n   c: 2\n",
        "- 1\n",
        "a: [1, 2]\n",
        "a: {b: 1}\n",
        "a: 012\n",
        "a: yes\n",
        "a: 'single'\n",
        "a:\n    b: 1\n",
        "a: 1\na: 2\n",
        "a: 1",
        "a:\n",
        "a:1\n",
        "a: 1e5\n",
        "a: !!python/object x\n",
    ],
)
def test_the_fast_reader_refuses_anything_else_and_the_loader_falls_back(text: str):
    with pytest.raises(ValueError):
        read_emitted_yaml(text)
    try:
        expected = yaml.safe_load(text)
    except yaml.YAMLError:
        with pytest.raises(InvalidYaml):
            load_record_yaml(text)
    else:
        assert load_record_yaml(text) == expected
