"""``import gitruns``: every name MLflow code reaches for is there, and a script pays
only for what it uses (reading runs back never loads the writer, the registry or
PyYAML)."""

from __future__ import annotations

import ast
import importlib
import json
import os
import time
from pathlib import Path

import pytest

import gitruns
from tests.conftest import run_python


def _type_checking_names() -> set[str]:
    """The names the package's ``if TYPE_CHECKING:`` block imports: what type checkers see."""
    tree = ast.parse(Path(gitruns.__file__).read_text())
    block = next(
        node
        for node in tree.body
        if isinstance(node, ast.If) and ast.unparse(node.test) == "TYPE_CHECKING"
    )
    return {
        alias.asname or alias.name
        for node in block.body
        if isinstance(node, ast.ImportFrom)
        for alias in node.names
    }


def test_every_name_the_package_offers_loads_and_type_checkers_see_the_same():
    assert _type_checking_names() | {"__version__"} == set(gitruns.__all__)
    for name in gitruns.__all__:
        value = getattr(gitruns, name)
        home = importlib.import_module(f"gitruns.{name}") if name in gitruns._SUBMODULES else None
        if home is not None:
            assert value is home
        elif name != "__version__":
            assert value is getattr(importlib.import_module(gitruns._HOME[name]), name)
    assert set(gitruns.__all__) <= set(dir(gitruns))
    with pytest.raises(AttributeError, match="no attribute 'log_metirc'"):
        gitruns.log_metirc  # noqa: B018
    from gitruns.tracking import MlflowClient  # MLflow's mlflow.tracking.MlflowClient

    assert MlflowClient is gitruns.MlflowClient


def test_submodules_are_attributes_as_mlflows_are(tmp_path: Path):
    """``import mlflow`` then ``mlflow.tracking.MlflowClient()``: in a fresh process,
    where nothing imported the submodule first."""
    done = run_python(
        "import gitruns as mlflow\n"
        "print(mlflow.tracking.MlflowClient.__name__, mlflow.entities.ViewType.ALL)\n"
        "try:\n    mlflow.no_such_module\nexcept AttributeError as error:\n    print(error)",
        tmp_path,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.split("\n")[:2] == [
        "MlflowClient 3",
        "module 'gitruns' has no attribute 'no_such_module'",
    ]


LOADED = """
import json, sys
import gitruns
{work}
watched = ("yaml", "filelock")
print(json.dumps(sorted(m for m in sys.modules if m.startswith("gitruns") or m in watched)))
"""

WRITING = ("gitruns.store.writer", "gitruns.store.capture", "gitruns.client", "gitruns.registry")


def loaded_after(work: str, cwd: Path) -> set[str]:
    done = run_python(LOADED.format(work=work), cwd)
    assert done.returncode == 0, done.stderr
    return set(json.loads(done.stdout.strip().splitlines()[-1]))


def test_reading_runs_back_loads_neither_the_writer_nor_the_registry_nor_yaml(repo: Path):
    with gitruns.start_run(run_name="logged"):
        gitruns.log_param("alpha", 0.1)
        gitruns.log_metric("rmse", 6.5)

    imported = loaded_after("", repo)
    assert "gitruns.tracking" not in imported and "gitruns.entities" not in imported

    searched = loaded_after(
        'frame = gitruns.search_runs(experiment_names=["Default"])\n'
        'assert list(frame["tags.mlflow.runName"]) == ["logged"], frame',
        repo,
    )
    # A frame needs the search index and pandas: not even the entities or the fluent API.
    unneeded = {*WRITING, "gitruns.tracking", "gitruns.entities", "yaml", "filelock"}
    assert "gitruns.searching" in searched
    assert not searched & unneeded, searched & unneeded

    # Once the index holds every run (its records older than a clock tick), a search reads
    # no record, and does not define the record's classes.
    for record in repo.glob("runs/*/*/run.yaml"):
        os.utime(record, (time.time() - 10, time.time() - 10))
    loaded_after('gitruns.search_runs(experiment_names=["Default"])', repo)  # writes it
    warm = loaded_after('gitruns.search_runs(experiment_names=["Default"])', repo)
    assert "gitruns.store.index" in warm and "gitruns.store.run_record" not in warm

    logged = loaded_after('with gitruns.start_run():\n    gitruns.log_metric("rmse", 1.0)', repo)
    assert {"gitruns.store.writer", "gitruns.store.capture"} <= logged
