"""A JSON picture of an MLflow store taken with MLflow's client: every experiment, run
(params, tags, full metric histories, artifact bytes' digests) and the registry. Two
stores holding the same runs give the same picture, whatever ids they chose."""

import hashlib
import json
import os
import sys
import tempfile
from pathlib import Path

from mlflow.entities import ViewType
from mlflow.tracking import MlflowClient

# Tags a store sets for itself, which differ between two stores holding the same run.
OWN_TAGS = {"gitruns.run_id", "mlflow.log-model.history"}


def digests(folder):
    found = {}
    for parent, _, names in os.walk(folder):
        for name in names:
            path = Path(parent) / name
            found[path.relative_to(folder).as_posix()] = hashlib.sha256(
                path.read_bytes()
            ).hexdigest()
    return found


def artifact_digests(client, run_id, experiment_id):
    """A run's artifacts, with the models it logged (MLflow 3 keeps those apart) under
    their names, as MLflow 2 and gitruns keep them."""
    import mlflow.artifacts

    found = {}
    with tempfile.TemporaryDirectory() as folder:
        if client.list_artifacts(run_id):
            mlflow.artifacts.download_artifacts(
                run_id=run_id, dst_path=folder, tracking_uri=client.tracking_uri
            )
            found.update(digests(folder))
    for model in client.search_logged_models(experiment_ids=[experiment_id]):
        if model.source_run_id != run_id:
            continue
        with tempfile.TemporaryDirectory() as folder:
            local = mlflow.artifacts.download_artifacts(
                artifact_uri=model.artifact_location, dst_path=folder
            )
            found.update({f"{model.name}/{k}": v for k, v in digests(local).items()})
    return found


def snapshot(client, with_artifacts=True):
    names = {}
    runs = {}
    for experiment in client.search_experiments(view_type=ViewType.ALL):
        for run in client.search_runs([experiment.experiment_id], run_view_type=ViewType.ALL):
            names[run.info.run_id] = run.info.run_name
    for experiment in client.search_experiments(view_type=ViewType.ALL):
        for run in client.search_runs([experiment.experiment_id], run_view_type=ViewType.ALL):
            tags = {k: v for k, v in run.data.tags.items() if k not in OWN_TAGS}
            if "mlflow.parentRunId" in tags:  # ids differ between stores; names do not
                tags["mlflow.parentRunId"] = names[tags["mlflow.parentRunId"]]
            histories = {
                key: sorted(
                    (m.step, m.timestamp, repr(m.value))
                    for m in client.get_metric_history(run.info.run_id, key)
                )
                for key in run.data.metrics
            }
            runs[f"{experiment.name}/{run.info.run_name}"] = {
                "status": run.info.status,
                "start_time": run.info.start_time,
                "end_time": run.info.end_time,
                "user": run.info.user_id,
                "lifecycle_stage": run.info.lifecycle_stage,
                "params": run.data.params,
                "tags": tags,
                "metrics": histories,
                "inputs": sorted(
                    [
                        item.dataset.name,
                        item.dataset.digest,
                        item.dataset.source_type,
                        item.dataset.source,
                        item.dataset.schema,
                        item.dataset.profile,
                        sorted((tag.key, tag.value) for tag in item.tags),
                    ]
                    for item in client.get_run(run.info.run_id).inputs.dataset_inputs
                ),
                "artifacts": (
                    artifact_digests(client, run.info.run_id, experiment.experiment_id)
                    if with_artifacts
                    else {}
                ),
            }
    models = {}
    for model in client.search_registered_models():
        versions = {}
        for version in client.search_model_versions(f"name='{model.name}'"):
            versions[version.version] = {
                "run": names.get(version.run_id),
                "stage": version.current_stage,
                "description": version.description,
                "tags": version.tags,
            }
        models[model.name] = {
            "description": model.description,
            "tags": model.tags,
            "aliases": dict(model.aliases)
            if isinstance(model.aliases, dict)
            else {a.alias: a.version for a in model.aliases},
            "versions": versions,
        }
    experiments = {e.name: {k: v for k, v in e.tags.items()} for e in client.search_experiments()}
    return {"experiments": experiments, "runs": runs, "models": models}


if __name__ == "__main__":
    uri = sys.argv[1]
    print(json.dumps(snapshot(MlflowClient(tracking_uri=uri, registry_uri=uri))))
