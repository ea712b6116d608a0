"""The name grammars: MLflow's key rules, run ids, experiment slugs, artifact paths."""

from __future__ import annotations

import posixpath
from pathlib import PurePosixPath

import pytest
from hypothesis import given
from hypothesis import strategies as st

from gitruns.exceptions import InvalidName, InvalidPath, RunNotFound
from gitruns.store.names import (
    SLUG_PATTERN,
    check_key,
    check_relative_path,
    check_run_id_prefix,
    slugify,
)


@pytest.mark.parametrize(
    "key",
    [
        "rmse",
        "validation-rmse",
        "train/loss",
        "learning rate",
        "v1.2_x",
        "Ünïcode",
        "a" * 250,
        "eval:rmse",
        "fold:1/auc",
    ],
)
def test_keys_mlflow_accepts_are_accepted(key: str):
    assert check_key(key) == key


@given(st.text(max_size=300))
def test_an_accepted_key_always_names_a_file_inside_the_metrics_folder(key: str):
    try:
        check_key(key)
    except InvalidName:
        return
    path = posixpath.normpath(f"metrics/{key}.tsv")
    assert path.startswith("metrics/") and ".." not in PurePosixPath(path).parts
    assert "\n" not in key and "\t" not in key and "\x00" not in key and len(key) <= 250


@given(st.text(max_size=200))
def test_an_accepted_artifact_path_never_leaves_its_folder(path: str):
    try:
        clean = check_relative_path(path)
    except InvalidPath:
        return
    joined = posixpath.normpath(posixpath.join("/run/artifacts", clean))
    assert joined.startswith("/run/artifacts/")


@given(st.text(min_size=1, max_size=100))
def test_slugs_are_stable_folder_names(name: str):
    slug = slugify(name)
    assert SLUG_PATTERN.match(slug) and len(slug) <= 64
    assert slugify(name) == slug


def test_slug_examples():
    assert slugify("NYC Taxi: duration (v2)") == "nyc-taxi-duration-v2"
    assert slugify("Crème brûlée") == "creme-brulee"
    assert slugify("!!!").startswith("experiment-")


def test_run_id_prefixes():
    assert check_run_id_prefix("01A2") == "01a2"
    for bad in ("", "xyz", "0" * 33, "01a2\n"):
        with pytest.raises(RunNotFound, match="not a run id"):
            check_run_id_prefix(bad)
