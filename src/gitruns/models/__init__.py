"""Model folders in MLflow's format: ``MLmodel``, the model file, its environment.

A logged model lives inside its run's artifacts (``artifacts/model/``), so
``runs:/ID/model`` is a plain folder anyone can open, and MLflow's own
``pyfunc.load_model`` reads it: the ``MLmodel`` file uses MLflow's keys and
names MLflow's loader modules. gitruns reads the flavors, not the loader name.
"""

from __future__ import annotations

import datetime
import importlib.metadata
import json
import os
import platform
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from gitruns.exceptions import GitrunsError, InvalidPath, InvalidValue, MissingLibrary
from gitruns.registry import locate_model
from gitruns.signature import ModelSignature
from gitruns.store.names import check_relative_path, logged_model_id
from gitruns.store.record import now_ms
from gitruns.utils.files import has_link_on_path, is_regular_file, read_regular_file
from gitruns.utils.yamlcodec import InvalidYaml, dump_yaml, load_yaml
from gitruns.workspace import Workspace

MLMODEL = "MLmodel"
REQUIREMENTS = "requirements.txt"
PYTHON_ENV = "python_env.yaml"
INPUT_EXAMPLE = "input_example.json"


def require(module: str, package: str | None = None) -> Any:
    """Import ``module``, or say which package to install for it."""
    import importlib

    try:
        return importlib.import_module(module)
    except ImportError as error:
        raise MissingLibrary(
            f"this needs {package or module}, which is not installed. Install it with "
            f"pip install {package or module} (or pip install 'gitruns[ml]')."
        ) from error


# Packages that install as another distribution too, under the same module and versions.
ALSO_DISTRIBUTED_AS = {"xgboost": ("xgboost-cpu",)}


def pinned(*packages: str) -> list[str]:
    """``name==version`` for each installed package, as a model's requirements (XGBoost's
    CPU build is pinned as ``xgboost``, the name any machine can install)."""
    lines = []
    for package in packages:
        for distribution in (package, *ALSO_DISTRIBUTED_AS.get(package, ())):
            try:
                lines.append(f"{package}=={importlib.metadata.version(distribution)}")
                break
            except importlib.metadata.PackageNotFoundError:
                continue
    return lines


class Schema:
    """A model's input or output schema, as MLflow's ``Schema`` reads: column specs
    (``{"type": "double", "name": "trip_distance"}``) or tensor specs."""

    def __init__(self, specs: list[dict[str, Any]]) -> None:
        self.inputs = specs

    def input_names(self) -> list[str | int]:
        return [spec.get("name", index) for index, spec in enumerate(self.inputs)]

    def input_types(self) -> list[str]:
        return [str(spec.get("type")) for spec in self.inputs]

    def has_input_names(self) -> bool:
        return all("name" in spec for spec in self.inputs)

    def to_dict(self) -> list[dict[str, Any]]:
        return list(self.inputs)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Schema) and other.inputs == self.inputs

    def __repr__(self) -> str:
        return f"Schema({self.inputs!r})"


class Model:
    """A logged model's metadata (its ``MLmodel``), as ``PyFuncModel.metadata`` gives it
    in MLflow: ``run_id``, ``artifact_path``, ``flavors``, ``signature``... and the
    input and output schemas."""

    def __init__(self, mlmodel: dict[str, Any]) -> None:
        self._mlmodel = mlmodel
        self.run_id: str | None = mlmodel.get("run_id")
        self.artifact_path: str | None = mlmodel.get("artifact_path")
        self.flavors: dict[str, Any] = dict(mlmodel.get("flavors") or {})
        self.model_uuid: str | None = mlmodel.get("model_uuid")
        self.utc_time_created: str | None = mlmodel.get("utc_time_created")
        self.saved_input_example_info: dict[str, Any] | None = mlmodel.get(
            "saved_input_example_info"
        )
        self.signature = _signature_of(mlmodel.get("signature"))

    def get_input_schema(self) -> Schema | None:
        return None if self.signature is None else Schema(self.signature.inputs)

    def get_output_schema(self) -> Schema | None:
        if self.signature is None or self.signature.outputs is None:
            return None
        return Schema(self.signature.outputs)

    def to_dict(self) -> dict[str, Any]:
        return dict(self._mlmodel)

    def __getitem__(self, key: str) -> Any:  # the MLmodel's keys, as gitruns 0.1 gave them
        return self._mlmodel[key]

    def __repr__(self) -> str:
        return f"<Model run_id={self.run_id} artifact_path={self.artifact_path}>"


def _signature_of(data: Any) -> ModelSignature | None:
    """The signature an ``MLmodel`` holds (its specs are JSON text), or None."""
    if not isinstance(data, dict) or not data.get("inputs"):
        return None
    try:
        inputs = json.loads(data["inputs"])
        outputs = json.loads(data["outputs"]) if data.get("outputs") else None
    except (TypeError, ValueError):
        return None
    if not isinstance(inputs, list):
        return None
    return ModelSignature(inputs=inputs, outputs=outputs if isinstance(outputs, list) else None)


def _signature_dict(signature: Any) -> dict[str, Any] | None:
    if signature is None:
        return None
    if isinstance(signature, dict):
        return signature
    if hasattr(signature, "to_dict"):
        return signature.to_dict()
    raise InvalidValue(
        "signature must come from infer_signature(...) or be a dict, got "
        f"{type(signature).__name__}."
    )


def _example_json(example: Any) -> tuple[dict[str, Any], dict[str, Any]]:
    """The input example as MLflow stores it, and its MLmodel entry."""
    import numpy as np

    if hasattr(example, "to_dict") and hasattr(example, "columns"):
        data = json.loads(example.head(5).to_json(orient="split", index=False))
        return data, {"artifact_path": INPUT_EXAMPLE, "type": "dataframe", "pandas_orient": "split"}
    if hasattr(example, "toarray"):
        example = example[:5].toarray()
    array = np.asarray(example)[:5]
    return {"inputs": array.tolist()}, {
        "artifact_path": INPUT_EXAMPLE,
        "type": "ndarray",
        "format": "tf-serving",
    }


@dataclass
class ModelInfo:
    """What ``log_model`` returns: where the model is and what it is, with MLflow 3's
    fields (``model_id``, ``name``, ``params``, ``metrics``, ``tags``,
    ``creation_timestamp``...). ``signature`` is a ``ModelSignature``; its ``MLmodel``
    form is ``signature_dict``."""

    artifact_path: str
    model_uri: str
    run_id: str | None
    flavors: dict[str, Any]
    model_uuid: str
    utc_time_created: str
    signature_dict: dict[str, Any] | None = None
    registered_model_version: int | str | None = None
    model_id: str | None = None  # MLflow 3's: models:/<model_id> loads it too
    saved_input_example_info: dict[str, Any] | None = None
    metadata: dict[str, Any] | None = None
    creation_timestamp: int | None = None
    tags: dict[str, str] = field(default_factory=dict)
    params: dict[str, str] = field(default_factory=dict)
    metrics: list[Any] | None = None
    env_vars: list[str] | None = None
    prompts: list[str] | None = None
    mlflow_version: str | None = None  # written by gitruns, not MLflow
    path: Path | None = field(default=None, repr=False)

    @property
    def name(self) -> str:
        """MLflow 3's name of a logged model: the path it was logged at."""
        return self.artifact_path

    @property
    def signature(self) -> ModelSignature | None:
        return _signature_of(self.signature_dict)


def write_model_folder(
    folder: Path,
    *,
    flavor: str,
    flavor_conf: dict[str, Any],
    loader_module: str,
    model_file: str,
    requirements: list[str],
    signature: Any = None,
    input_example: Any = None,
    run_id: str | None = None,
    artifact_path: str | None = None,
) -> ModelInfo:
    """Write ``MLmodel``, ``requirements.txt`` and ``python_env.yaml`` beside the model file."""
    python = platform.python_version()
    created = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M:%S.%f")
    model_uuid = uuid.uuid4().hex
    data_key = "data" if flavor == "xgboost" else "model_path"
    mlmodel: dict[str, Any] = {}
    if artifact_path is not None:
        mlmodel["artifact_path"] = artifact_path
    mlmodel["flavors"] = {
        "python_function": {
            data_key: model_file,
            "env": {"virtualenv": PYTHON_ENV},
            "loader_module": loader_module,
            "predict_fn": "predict",
            "python_version": python,
        },
        flavor: flavor_conf,
    }
    mlmodel["model_size_bytes"] = (folder / model_file).stat().st_size
    mlmodel["model_uuid"] = model_uuid
    mlmodel["gitruns_version"] = importlib.metadata.version("gitruns")
    if run_id is not None:
        mlmodel["run_id"] = run_id
    signature_dict = _signature_dict(signature)
    if signature_dict is not None:
        mlmodel["signature"] = signature_dict
    if input_example is not None:
        example, entry = _example_json(input_example)
        (folder / INPUT_EXAMPLE).write_text(json.dumps(example))
        mlmodel["saved_input_example_info"] = entry
    mlmodel["utc_time_created"] = created
    (folder / MLMODEL).write_text(dump_yaml(mlmodel))
    (folder / REQUIREMENTS).write_text("".join(f"{line}\n" for line in requirements))
    build = pinned("pip", "setuptools", "wheel")
    python_env = {
        "python": python,
        "build_dependencies": build,
        "dependencies": [f"-r {REQUIREMENTS}"],
    }
    (folder / PYTHON_ENV).write_text(dump_yaml(python_env))
    return ModelInfo(
        artifact_path=artifact_path or folder.name,
        model_uri=f"runs:/{run_id}/{artifact_path}" if run_id and artifact_path else str(folder),
        run_id=run_id,
        flavors=mlmodel["flavors"],
        model_uuid=model_uuid,
        utc_time_created=created,
        signature_dict=signature_dict,
        model_id=logged_model_id(run_id, artifact_path) if run_id and artifact_path else None,
        saved_input_example_info=mlmodel.get("saved_input_example_info"),
        metadata=mlmodel.get("metadata"),
        creation_timestamp=now_ms(),
        path=folder,
    )


def prepare_folder(path: str | Path) -> Path:
    """A new, empty folder to save a model in; MLflow refuses an existing non-empty one too."""
    folder = Path(path)
    if folder.exists() and any(folder.iterdir()):
        raise InvalidPath(
            f"{folder} exists and is not empty; a model is saved into a new folder. "
            "Pick another path or remove that one."
        )
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def model_folder(model_uri: str | Path) -> Path:
    """The local folder a model URI names: ``runs:/``, ``models:/``, a path or ``file:``."""
    uri = str(model_uri)
    return locate_model(Workspace.current().registry, uri)


def read_mlmodel(folder: Path) -> dict[str, Any]:
    """The ``MLmodel`` of a model folder; a clear error when there is none."""
    path = folder / MLMODEL
    if not is_regular_file(path):
        raise InvalidPath(
            f"{folder} holds no {MLMODEL} file, so it is not a saved model. Log models with "
            "gitruns.sklearn.log_model or gitruns.xgboost.log_model, and load them by the "
            "folder that holds MLmodel."
        )
    try:
        data = load_yaml(read_regular_file(path))
    except InvalidYaml as error:
        raise InvalidPath(f"{path} is not valid YAML ({error}). Save the model again.") from error
    if not isinstance(data, dict) or not isinstance(data.get("flavors"), dict):
        raise InvalidPath(f"{path} has no 'flavors' section; it is not an MLmodel file.")
    return data


ALLOW_PICKLE_VARIABLE = "GITRUNS_ALLOW_PICKLE"


class UnsafeModel(GitrunsError):
    """Loading this model could run code it carries; gitruns needs the user's word first."""

    error_code = "PERMISSION_DENIED"


def pickle_allowed(allow_pickle: bool | None) -> bool:
    """Whether pickled models may load: the argument, else ``GITRUNS_ALLOW_PICKLE=1``."""
    if allow_pickle is not None:
        return allow_pickle
    return os.environ.get(ALLOW_PICKLE_VARIABLE, "").strip().lower() in ("1", "true", "yes")


def model_file(folder: Path, relative: object, kind: str = "model file") -> Path:
    """A file the ``MLmodel`` names, inside the model folder and never through a link."""
    clean = check_relative_path(relative, kind)
    path = folder / clean
    if has_link_on_path(folder, clean) or not is_regular_file(path):
        raise InvalidPath(
            f"the MLmodel in {folder} names {kind} {clean!r}, which is not a file inside the "
            "model folder (it is missing or a link). Save the model again."
        )
    return path


def flavor_conf(folder: Path, flavor: str) -> dict[str, Any]:
    flavors = read_mlmodel(folder)["flavors"]
    if flavor not in flavors:
        raise InvalidValue(
            f"the model in {folder} was not saved with the {flavor} flavor (it has "
            f"{', '.join(sorted(flavors))}). Load it with gitruns.pyfunc.load_model."
        )
    return flavors[flavor]


def log_model_folder(
    save: Any,
    artifact_path: str,
    registered_model_name: str | None,
    *,
    params: Mapping[str, Any] | None = None,
    tags: Mapping[str, Any] | None = None,
    metadata: Mapping[str, Any] | None = None,
) -> ModelInfo:
    """Save a model with ``save(folder, run_id, artifact_path)`` into the active run's
    artifacts. ``params`` are logged to the run (a logged model's params are its run's),
    ``tags`` become the logged model's, ``metadata`` goes in its ``MLmodel``."""
    from gitruns.client import MlflowClient
    from gitruns.entities import Metric
    from gitruns.tracking import live_run

    live = live_run()
    relative = check_relative_path(artifact_path, "artifact path")
    folder = live.artifact_target(relative)
    info: ModelInfo = save(prepare_folder(folder), live.run_id, relative)
    client = MlflowClient()
    if params:
        live.log_params({str(key): str(value) for key, value in params.items()})
    if metadata:
        mlmodel = read_mlmodel(folder)
        mlmodel["metadata"] = {str(key): value for key, value in metadata.items()}
        (folder / MLMODEL).write_text(dump_yaml(mlmodel))
        info.metadata = mlmodel["metadata"]
    if tags and info.model_id is not None:
        client.set_logged_model_tags(info.model_id, tags)
        info.tags = {str(key): str(value) for key, value in tags.items()}
    info.params = dict(live.record.params)
    info.metrics = [
        Metric(key, summary.last, summary.timestamp, summary.step)
        for key, summary in live.record.metrics.items()
    ]
    if registered_model_name:
        version = client.create_model_version(
            registered_model_name, f"runs:/{live.run_id}/{relative}"
        )
        info.registered_model_version = version.version
    return info
