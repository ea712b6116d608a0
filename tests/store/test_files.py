"""Reading a file of a run folder as untrusted input: whole when it is a small regular
file, refused with a clear error otherwise, and never costing more than its size."""

from __future__ import annotations

import os
import sys
import tracemalloc
from pathlib import Path

import pytest

from gitruns.exceptions import CorruptRecord
from gitruns.utils.files import read_regular_file


@pytest.mark.parametrize("size", [0, 1, 4095, 4096, 65_537])
def test_a_regular_file_reads_whole(tmp_path: Path, size: int):
    path = tmp_path / "run.yaml"
    data = os.urandom(size)
    path.write_bytes(data)
    assert read_regular_file(path) == data
    assert read_regular_file(path, max_bytes=size) == data  # exactly at the limit


def test_a_file_over_the_limit_is_refused_naming_the_limit(tmp_path: Path):
    path = tmp_path / "run.yaml"
    path.write_bytes(b"x" * 101)
    with pytest.raises(CorruptRecord, match="101 bytes, over the limit of 100"):
        read_regular_file(path, max_bytes=100)


def test_a_link_a_folder_and_a_pipe_are_refused(tmp_path: Path):
    secret = tmp_path / "secret"
    secret.write_text("token")
    (tmp_path / "link").symlink_to(secret)
    (tmp_path / "folder").mkdir()
    os.mkfifo(tmp_path / "pipe")  # with no writer: a blocking open would hang the reader
    with pytest.raises(CorruptRecord, match="symbolic link"):
        read_regular_file(tmp_path / "link")
    with pytest.raises(CorruptRecord, match="folder"):
        read_regular_file(tmp_path / "folder")
    with pytest.raises(CorruptRecord, match="not a regular file"):
        read_regular_file(tmp_path / "pipe")
    with pytest.raises(FileNotFoundError):
        read_regular_file(tmp_path / "missing")


def test_reading_a_small_file_allocates_its_size_not_the_limit(tmp_path: Path):
    path = tmp_path / "column.json"
    path.write_bytes(b"[1.5, 2.5]")
    tracemalloc.start()
    try:
        read_regular_file(path, max_bytes=1 << 30)  # the search index's limit
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 1 << 20, f"reading 10 bytes allocated {peak:,} bytes"


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="needs Linux's /proc")
def test_a_file_longer_than_its_stated_size_is_read_to_its_end_within_the_limit():
    # /proc's files are regular files that say they are empty and are not: what a file
    # that grew between its stat and its read looks like to the reader.
    status = Path("/proc/self/status")
    assert status.stat().st_size == 0
    text = read_regular_file(status).decode()
    assert text.startswith("Name:") and "VmRSS" in text
    with pytest.raises(CorruptRecord, match="over the limit of 10 bytes"):
        read_regular_file(status, max_bytes=10)
