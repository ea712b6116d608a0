"""The registry's tag grammar, GTO's."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from gitruns.exceptions import InvalidName
from gitruns.registry.tags import (
    NAME_PATTERN,
    TagName,
    assign_tag,
    check_model_name,
    deprecate_tag,
    deregister_tag,
    gto_stage,
    mlflow_stage,
    parse_tag_name,
    register_tag,
    semver,
    tag_model,
    unassign_tag,
    version_label,
)

names = st.from_regex(r"[a-z][a-z0-9\-/]{0,20}[a-z0-9]", fullmatch=True)


@given(names, st.integers(min_value=1, max_value=10_000), names, st.integers(1, 10_000))
def test_every_tag_gitruns_writes_parses_back(model: str, version: int, stage: str, counter: int):
    v = semver(version)
    assert parse_tag_name(register_tag(model, v)) == TagName(model, "register", version=v)
    assert parse_tag_name(deregister_tag(model, v)) == TagName(model, "deregister", version=v)
    assert parse_tag_name(assign_tag(model, stage, counter)) == TagName(
        model, "assign", stage=stage, counter=counter
    )
    assert parse_tag_name(unassign_tag(model, stage, counter)) == TagName(
        model, "unassign", stage=stage, counter=counter
    )
    assert parse_tag_name(deprecate_tag(model, None)) == TagName(model, "deprecate")
    assert parse_tag_name(deprecate_tag(model, counter)).counter == counter


@pytest.mark.parametrize(
    "tag",
    ["v1.0.0", "release-2024", "model@latest", "Model@v1.0.0", "m@v1.0", "a#b#c", "x@v1.0.0#"],
)
def test_other_tags_are_not_registry_tags(tag: str):
    assert parse_tag_name(tag) is None


@pytest.mark.parametrize("name", ["nyc-taxi-regressor", "team/churn-model", "m2", "ab"])
def test_model_names_in_gtos_grammar(name: str):
    assert check_model_name(name) == name


@pytest.mark.parametrize(
    "name",
    ["NYCTaxi", "taxi_model", "x", "-taxi", "taxi-", "2fast", "a b", "Ünïcode", "mlflow-b32-x"],
)
def test_other_model_names_go_into_tags_encoded_and_come_back(name: str):
    assert check_model_name(name) == name
    carried = tag_model(name)
    assert carried.startswith("mlflow-b32-") and NAME_PATTERN.match(carried)
    for tag in (register_tag(name, "v2.0.0"), assign_tag(name, "production", 3)):
        assert parse_tag_name(tag).model == name


@pytest.mark.parametrize("name", ["", "   ", "a\nb", "tab\there", "x" * 257, None, 7])
def test_model_names_that_cannot_be_are_refused_with_the_rule(name: object):
    with pytest.raises(InvalidName, match="1 to 256 characters without control characters"):
        check_model_name(name)


def test_mlflow_stages_map_to_gtos_and_back():
    assert [gto_stage(s) for s in ("Production", "STAGING", "archived", "None")] == [
        "production", "staging", "archived", None
    ]  # fmt: skip
    assert [mlflow_stage(s) for s in ("production", "staging", "archived", None, "dev")] == [
        "Production", "Staging", "Archived", "None", "dev"
    ]  # fmt: skip
    with pytest.raises(InvalidName, match="not a stage name"):
        gto_stage("Prod uction")


def test_mlflow_versions_are_major_versions():
    assert semver(3) == semver("3") == "v3.0.0"
    assert version_label("v3.0.0") == "3" and version_label("v1.2.0") == "1.2.0"
    for bad in (0, "-1", "three", "3.0"):
        with pytest.raises(InvalidName):
            semver(bad)
