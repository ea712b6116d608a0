"""The scikit-learn flavor's saving and loading, below autologging; ``gitruns.sklearn`` is
its public face (with ``autolog``)."""

from __future__ import annotations

import importlib.util
import pickle
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from gitruns.exceptions import InvalidValue
from gitruns.models import (
    ALLOW_PICKLE_VARIABLE,
    ModelInfo,
    UnsafeModel,
    flavor_conf,
    log_model_folder,
    model_file,
    model_folder,
    pickle_allowed,
    pinned,
    prepare_folder,
    require,
    write_model_folder,
)

FLAVOR = "sklearn"
SKOPS, PICKLE, CLOUDPICKLE = "skops", "pickle", "cloudpickle"
PICKLED = (PICKLE, CLOUDPICKLE)  # formats that run code when loaded


def _default_format() -> str:
    return SKOPS if importlib.util.find_spec("skops") is not None else PICKLE


def _save(
    sk_model: Any,
    folder: Path,
    run_id: str | None,
    artifact_path: str | None,
    serialization_format: str | None,
    signature: Any,
    input_example: Any,
) -> ModelInfo:
    sklearn = require("sklearn", "scikit-learn")
    chosen = serialization_format or _default_format()
    conf: dict[str, Any] = {"code": None, "sklearn_version": sklearn.__version__}
    if chosen == SKOPS:
        skops_io = require("skops.io", "skops")
        model_file = "model.skops"
        skops_io.dump(sk_model, folder / model_file)
        conf["skops_trusted_types"] = sorted(skops_io.get_untrusted_types(file=folder / model_file))
    elif chosen in PICKLED:
        pickler = require("cloudpickle") if chosen == CLOUDPICKLE else pickle
        model_file = "model.pkl"
        with open(folder / model_file, "wb") as file:
            pickler.dump(sk_model, file, protocol=pickle.DEFAULT_PROTOCOL)
    else:
        raise InvalidValue(
            f"serialization_format {chosen!r} is not 'skops', 'cloudpickle' or 'pickle'. Pass "
            "one of them, or leave it out to use skops where it is installed."
        )
    conf = {"pickled_model": model_file, "serialization_format": chosen, **conf}
    extra = [chosen] if chosen in (SKOPS, CLOUDPICKLE) else []
    requirements = pinned("scikit-learn", "numpy", "scipy", *extra)
    if signature is False:  # asked for none, as MLflow's log_model(signature=False)
        signature = None
    elif signature is None and input_example is not None:
        from gitruns.signature import infer_signature

        signature = infer_signature(input_example, sk_model.predict(input_example))
    return write_model_folder(
        folder,
        flavor=FLAVOR,
        flavor_conf=conf,
        loader_module="mlflow.sklearn",
        model_file=model_file,
        requirements=requirements,
        signature=signature,
        input_example=input_example,
        run_id=run_id,
        artifact_path=artifact_path,
    )


def save_model(
    sk_model: Any,
    path: str | Path,
    serialization_format: str | None = None,
    signature: Any = None,
    input_example: Any = None,
    **_: Any,
) -> ModelInfo:
    """Save an estimator to a new folder ``path`` in MLflow's format."""
    return _save(
        sk_model, prepare_folder(path), None, None, serialization_format, signature, input_example
    )


def log_model(
    sk_model: Any,
    artifact_path: str | None = None,
    *,
    name: str | None = None,
    serialization_format: str | None = None,
    registered_model_name: str | None = None,
    signature: Any = None,
    input_example: Any = None,
    params: Mapping[str, Any] | None = None,
    tags: Mapping[str, Any] | None = None,
    metadata: Mapping[str, Any] | None = None,
    **_: Any,
) -> ModelInfo:
    """Save an estimator into the active run's artifacts (``artifact_path`` or ``name``,
    default ``model``), and register it as a new version when a name is given."""
    return log_model_folder(
        lambda folder, run_id, path: _save(
            sk_model, folder, run_id, path, serialization_format, signature, input_example
        ),
        artifact_path or name or "model",
        registered_model_name,
        params=params,
        tags=tags,
        metadata=metadata,
    )


def load_model(
    model_uri: str | Path,
    dst_path: str | None = None,
    *,
    allow_pickle: bool | None = None,
    trusted_types: list[str] | None = None,
) -> Any:
    """The estimator saved at ``model_uri`` (``runs:/``, ``models:/``, or a folder).

    A skops file loads when every type in it is one gitruns trusts (scikit-learn,
    NumPy, SciPy, XGBoost) or one you pass in ``trusted_types``; the list in
    the model's own ``MLmodel`` is never used, since whoever wrote the model
    wrote that too. A pickled model runs code when loaded: it loads only with
    ``allow_pickle=True`` or ``GITRUNS_ALLOW_PICKLE=1``.
    """
    folder = model_folder(model_uri)
    return load_from_folder(folder, allow_pickle=allow_pickle, trusted_types=trusted_types)


# Modules whose types a skops file may hold without the user naming them.
TRUSTED_MODULES = ("sklearn.", "numpy.", "scipy.sparse.", "xgboost.", "collections.OrderedDict")


def _untrusted(types: list[str], extra: list[str]) -> list[str]:
    return sorted(
        name for name in types if name not in extra and not name.startswith(TRUSTED_MODULES)
    )


def load_from_folder(
    folder: Path, *, allow_pickle: bool | None = None, trusted_types: list[str] | None = None
) -> Any:
    conf = flavor_conf(folder, FLAVOR)
    path = model_file(folder, conf.get("pickled_model"))
    if conf.get("serialization_format", PICKLE) == SKOPS:
        skops_io = require("skops.io", "skops")
        found = list(skops_io.get_untrusted_types(file=path))
        refused = _untrusted(found, list(trusted_types or []))
        if refused:
            raise UnsafeModel(
                f"the model in {folder} holds types gitruns does not trust: "
                f"{', '.join(refused[:10])}. Loading them could run their code. If you trust "
                "whoever saved this model, pass trusted_types=[...] with those names."
            )
        return skops_io.load(path, trusted=found)
    if conf.get("serialization_format") not in (None, *PICKLED):
        raise InvalidValue(
            f"the model in {folder} was saved as {conf.get('serialization_format')!r}, which "
            "gitruns cannot load (it loads skops, cloudpickle and pickle models)."
        )
    if not pickle_allowed(allow_pickle):
        raise UnsafeModel(
            f"the model in {folder} is a pickle, and loading a pickle runs whatever code it "
            "carries. Load it only if you trust whoever saved it: pass allow_pickle=True, or "
            f"set {ALLOW_PICKLE_VARIABLE}=1. Save new models with skops (the default) instead."
        )
    if conf.get("serialization_format") == CLOUDPICKLE:
        require("cloudpickle")  # what its functions and classes are rebuilt with
    with open(path, "rb") as file:
        return pickle.load(file)  # the user said they trust it
