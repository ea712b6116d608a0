"""An imported run's artifacts: where they may be read from, reading them (from the
store's own folder or through a tracking server's artifact API), and what is kept.

A store is untrusted: it says where a run's artifacts are (``artifact_uri``), and a
hostile one can say ``file:///home/ana/.ssh``. A URI is followed only into the store
itself or a root the user named; links are never followed; files the capture's secret
rules flag are removed and reported.
"""

from __future__ import annotations

import logging
import os
import shutil
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlsplit

from gitruns.exceptions import GitrunsError
from gitruns.mlflow_bridge import TransferReport
from gitruns.redact import is_secret_file, secret_in_text
from gitruns.store.names import check_key, check_relative_path
from gitruns.utils.files import temporary_path

logger = logging.getLogger(__name__)

MAX_SCANNED_ARTIFACT_BYTES = 4 * 1024 * 1024  # text artifacts scanned for secrets


@dataclass(frozen=True)
class ArtifactSources:
    """Where an import may read a run's artifacts from. The store says where they are
    (``artifact_uri``), and a hostile store can say ``file:///home/ana/.ssh``: a URI is
    followed only into the store itself or a root the user named."""

    server: str | None  # a tracking server: its artifact API serves local paths
    folders: tuple[str, ...]  # local folders (real paths) artifacts may be read from
    prefixes: tuple[str, ...]  # remote URI prefixes the user named

    @classmethod
    def of(cls, source: str, roots: Sequence[str] = ()) -> ArtifactSources:
        folders, prefixes = [], []
        for root in roots:
            scheme = urlsplit(root).scheme
            if scheme in ("", "file"):
                folders.append(os.path.realpath(_local_path(root)))
            else:
                prefixes.append(root.rstrip("/") + "/")
        scheme = urlsplit(source).scheme
        server = source.rstrip("/") if scheme in ("http", "https") else None
        if source.startswith("sqlite:///"):
            folders.append(os.path.realpath(Path(source[len("sqlite:///") :]).parent))
        elif scheme in ("", "file"):
            folders.append(os.path.realpath(_local_path(source)))
        return cls(server, tuple(folders), tuple(prefixes))

    def why_not(self, uri: str) -> str | None:
        """Why artifacts at ``uri`` are not read (None when they may be)."""
        scheme = urlsplit(uri).scheme
        if scheme in ("", "file"):
            if self.server is not None:
                return None  # read through the server's artifact API, never from here
            where = os.path.realpath(_local_path(uri))
            if any(where == root or where.startswith(root + os.sep) for root in self.folders):
                return None
            return (
                f"its artifacts are at {where}, outside the store; if that is yours, import "
                "again with --artifact-root naming it"
            )
        if scheme == "mlflow-artifacts" and self.server is not None:
            return None
        if any(
            uri.rstrip("/").startswith(prefix) or uri + "/" == prefix for prefix in self.prefixes
        ):
            return None
        return (
            f"its artifacts are at {uri}, which is not the store's own place; import again "
            "with --artifact-root naming it if it is yours"
        )

    def through_server(self, uri: str) -> bool:
        return self.server is not None and urlsplit(uri).scheme in ("", "file")


def _local_path(uri: str) -> str:
    from urllib.parse import unquote

    return unquote(urlsplit(uri).path) if uri.startswith("file:") else uri


def download_artifacts(client: Any, run: Any, target: Path, report: TransferReport) -> None:
    """A run's artifacts into ``target``; when MLflow refuses some (a link out of the
    store, say), the others come one by one and each refused one is reported."""
    from mlflow.artifacts import download_artifacts
    from mlflow.exceptions import MlflowException
    from mlflow.store.artifact.artifact_repository_registry import get_artifact_repository

    run_id = run.info.run_id
    # The run's own repository: asking the client would read the run again for its URI.
    if not get_artifact_repository(run.info.artifact_uri).list_artifacts():
        return
    target.mkdir(parents=True, exist_ok=True)
    try:
        download_artifacts(run_id=run_id, dst_path=str(target), tracking_uri=client.tracking_uri)
    except MlflowException as refused:
        lines = refused.message.strip().splitlines()
        report.skip(
            f"run {run_id} artifacts", " ".join(" ".join(lines[-2:]).replace("#", "").split())
        )
        for path in _artifact_files(client, run_id):
            try:
                download_artifacts(
                    run_id=run_id,
                    artifact_path=path,
                    dst_path=str(target / path).rsplit("/", 1)[0],
                    tracking_uri=client.tracking_uri,
                )
            except MlflowException as error:
                why = error.message.strip().splitlines()[-1]
                report.skip(f"run {run_id} artifact {path}", why)


@dataclass(frozen=True)
class ServerArtifacts:
    """One folder of artifacts as a tracking server's API serves it: a run's, or a
    logged model's (MLflow 3)."""

    list_path: str
    file_path: str
    params: dict[str, str]
    file_param: str
    folder_param: str

    @classmethod
    def of_run(cls, run_id: str) -> ServerArtifacts:
        return cls(
            "/api/2.0/mlflow/artifacts/list", "/get-artifact", {"run_id": run_id}, "path", "path"
        )

    @classmethod
    def of_model(cls, model_id: str) -> ServerArtifacts:
        base = f"/mlflow/logged-models/{quote(model_id, safe='')}/artifacts"
        return cls(
            f"/api/2.0{base}/directories",
            f"/ajax-api/2.0{base}/files",
            {},
            "artifact_file_path",
            "artifact_directory_path",
        )


def download_through_server(
    client: Any, where: ServerArtifacts, target: Path, what: str, report: TransferReport
) -> None:
    """Artifacts through the tracking server's artifact API (list, then get each file),
    never from the local path the server reports for them."""
    from mlflow.utils.rest_utils import http_request

    credentials = client._tracking_client.store.get_host_creds()

    def listing(folder: str | None) -> Iterator[str]:
        params = {**where.params, **({where.folder_param: folder} if folder else {})}
        answer = http_request(credentials, where.list_path, "GET", params=params)
        answer.raise_for_status()
        for item in answer.json().get("files", []):
            if item.get("is_dir"):
                yield from listing(item["path"])
            else:
                yield item["path"]

    for path in listing(None):
        try:
            relative = check_relative_path(path, "artifact path")
        except GitrunsError as error:
            report.skip(f"{what} artifact {path!r}", error.message)
            continue
        params = {**where.params, where.file_param: relative}
        answer = http_request(credentials, where.file_path, "GET", params=params, stream=True)
        if answer.status_code != 200:
            report.skip(f"{what} artifact {relative}", f"the server answered {answer.status_code}")
            continue
        destination = target / relative
        destination.parent.mkdir(parents=True, exist_ok=True)
        with open(destination, "xb") as file:
            for chunk in answer.iter_content(chunk_size=1 << 20):
                file.write(chunk)


def _artifact_files(client: Any, run_id: str, path: str | None = None) -> Iterator[str]:
    for info in client.list_artifacts(run_id, path):
        if info.is_dir:
            yield from _artifact_files(client, run_id, info.path)
        else:
            yield info.path


def download_model(
    client: Any, model: Any, artifacts: Path, sources: ArtifactSources, report: TransferReport
) -> None:
    """An MLflow 3 logged model's files, into ``artifacts/<model name>`` of its run
    (where gitruns and MLflow 2 keep a run's models)."""
    what = f"logged model {model.model_id} of run {model.source_run_id}"
    try:
        relative = check_key(model.name, "model name")
    except GitrunsError as error:
        report.skip(what, error.message)
        return
    target = artifacts / relative
    if target.exists():
        return  # the run's own artifacts hold it already (MLflow 2 style)
    from mlflow.artifacts import download_artifacts

    staging = temporary_path(target)
    staging.mkdir(parents=True)
    try:
        if sources.through_server(model.artifact_location):
            downloaded = str(staging / "model")
            where = ServerArtifacts.of_model(model.model_id)
            download_through_server(client, where, Path(downloaded), what, report)
        else:
            downloaded = download_artifacts(
                artifact_uri=model.artifact_location,
                dst_path=str(staging),
                tracking_uri=client.tracking_uri,
            )
        target.parent.mkdir(parents=True, exist_ok=True)
        os.rename(downloaded, target)
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def kept_files(folder: Path, what: str, report: TransferReport) -> int:
    """The regular files under ``folder`` that stay; a link (a hostile store could
    plant one pointing outside the run) and a file that looks like a secret (by name,
    as ``id_rsa`` or ``.env``, or by content, as detect-secrets finds) are removed and
    reported, as a run's capture leaves them out."""
    count = 0
    for path in _walk(folder) if folder.is_dir() else []:
        relative = path.relative_to(folder).as_posix()
        if path.is_symlink():
            path.unlink()
            report.skip(f"{what} artifact {relative}", "a link, not a file")
        elif path.is_file():
            why = _secret_in(relative, path)
            if why is None:
                count += 1
                continue
            path.unlink()
            report.skip(f"{what} artifact {relative}", f"{why}; left out")
    return count


def _secret_in(relative: str, path: Path) -> str | None:
    if is_secret_file(relative):
        return "its name says it holds secrets"
    if path.stat().st_size > MAX_SCANNED_ARTIFACT_BYTES:
        return None
    data = path.read_bytes()
    if b"\0" in data:
        return None  # binary: a model, an image
    found = secret_in_text(data.decode("utf-8", errors="replace"), relative)
    return None if found is None else f"it holds a secret ({found})"


def _walk(folder: Path) -> Iterable[Path]:
    for parent, folders, names in os.walk(folder):
        for name in [*folders, *names]:
            yield Path(parent) / name
