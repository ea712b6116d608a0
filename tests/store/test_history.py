"""One metric's history reads the same as the whole run's, whatever the run's shape."""

from __future__ import annotations

from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from gitruns.store import history
from gitruns.store.history import (
    LOG_FILE,
    LOG_HEADER,
    TABLE_FILE,
    read_histories,
    read_history,
    write_histories,
)

KEYS = ["rmse", "loss", "eval:auc", "train/loss"]
points_strategy = st.lists(
    st.tuples(
        st.sampled_from(KEYS),
        st.integers(0, 5),
        st.integers(1_700_000_000_000, 1_700_000_000_005),
        st.floats(allow_nan=True, allow_infinity=True).map(repr),
    ),
    max_size=40,
)


@settings(max_examples=60, deadline=None)
@given(table=points_strategy, log=points_strategy)
def test_one_key_reads_as_the_whole(tmp_path_factory, table, log):
    run_dir = tmp_path_factory.mktemp("run")
    write_histories(run_dir, table)
    if log:  # a live run: values appended since the table was written
        lines = "".join(f"{k}\t{step}\t{ts}\t{text}\n" for k, step, ts, text in log)
        (run_dir / LOG_FILE).write_text(LOG_HEADER + lines)
    whole = read_histories(run_dir, 2)
    narrow = history.WIDE_TABLE_COLUMNS
    try:
        for wide in (narrow, 0):  # both ways of reading a column: split, and numpy's
            history.WIDE_TABLE_COLUMNS = wide
            for key in [*KEYS, "never-logged"]:
                assert repr(read_history(run_dir, 2, key)) == repr(whole.get(key, []))
    finally:
        history.WIDE_TABLE_COLUMNS = narrow


def test_a_wide_run_reads_one_column(tmp_path: Path):
    points = [(f"m{i}", i, 1_700_000_000_000 + i, repr(i / 7)) for i in range(2000)]
    write_histories(tmp_path, points)
    assert read_history(tmp_path, 2, "m1234") == [(1_700_000_001_234, 1234, 1234 / 7)]
    table = (tmp_path / TABLE_FILE).read_text().split("\n")
    table[5] = table[5] + "\textra"  # a damaged row is left out, as the whole read leaves it
    (tmp_path / TABLE_FILE).write_text("\n".join(table))
    assert read_history(tmp_path, 2, "m4") == read_histories(tmp_path, 2).get("m4", []) == []
