"""A run's pages: its metric histories (bounded for charts), its artifacts (listed by the
page, copied inert, previewed up to a budget), its model, datasets and reproductions."""

from __future__ import annotations

import functools
import json
import re
from typing import Any
from urllib.parse import quote

from gitruns import system_tags
from gitruns.query.tables import format_duration
from gitruns.reproduce import data_sources, reproduce_command
from gitruns.site import charts
from gitruns.site.collect import (
    RunModel,
    SiteData,
    diff_text,
    json_for_script,
)
from gitruns.site.pages import ExperimentView, compact_number, format_time, full_number, run_row
from gitruns.store.history import TABLE_FILE
from gitruns.store.names import RUN_ID_PATTERN
from gitruns.store.record import ARTIFACTS_DIR
from gitruns.store.run_record import read_run_record
from gitruns.utils.files import read_small_text

MAX_COPIED_ARTIFACT_BYTES = 5 * 1024 * 1024


MAX_PREVIEW_BYTES = 20_000


# A run page stays small whatever the run holds: its charts get at most this many points
# (min and max of each stretch of steps kept; every point stays in the run's own table),
# and its artifacts are listed this many to a page, previews up to a budget.
MAX_CHART_POINTS = 20_000


ARTIFACTS_PER_PAGE = 500


MAX_PREVIEW_BYTES_PER_PAGE = 1_000_000


# The site is public and shares one origin: an artifact is served as itself only when a
# browser can do nothing with it but show it. SVG, HTML, XML and the like can run script.
INERT_IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".gif", ".webp", ".avif", ".bmp")


INERT_TEXT_SUFFIXES = (".txt", ".csv", ".tsv", ".json", ".yaml", ".yml", ".log", ".md")


# Everything else is copied under its name plus this, served as plain text, and offered
# as a download under its own name.
INERT_COPY_SUFFIX = ".txt"


COMMIT_PATTERN = re.compile(r"^[0-9a-f]{40}(?:[0-9a-f]{24})?\Z")


KNOWN_HOSTS = re.compile(
    r"^(?:https://|ssh://git@|git@)(?P<host>github\.com|gitlab\.com|bitbucket\.org)[:/](?P<path>.+?)(?:\.git)?/?$"
)


def _charted(run: RunModel) -> tuple[dict[str, list[list[float]]], int]:
    """Histories worth a line (metrics logged at more than one step), and each one's
    share of :data:`MAX_CHART_POINTS`."""
    found = {key: points for key, points in run.histories.items() if len(points) > 1}
    return found, max(500, MAX_CHART_POINTS // max(1, len(found)))


def history_rows(run: RunModel) -> dict[str, Any]:
    """The run's histories for its charts, each cut down to its share (:func:`downsample`)."""
    found, share = _charted(run)
    return {
        "run": f"{run.entry.name} ({run.id[:12]})",
        "metrics": {key: downsample(points, share) for key, points in found.items()},
    }


def _history_note(run: RunModel) -> str:
    """What a run page says when its charts show fewer values than the run logged (from
    the counts alone: the page does not cut the histories a second time)."""
    found, share = _charted(run)
    if all(len(points) <= share for points in found.values()):
        return ""
    logged = sum(len(points) for points in found.values())
    where = f"runs/{run.entry.experiment}/{run.id}/"
    return (
        f"The charts show at most about {share:,} values of each metric, of the {logged:,} "
        f"values logged (each stretch of steps by its lowest and highest value); every "
        f"value is in {where}{TABLE_FILE} in the repository."
    )


def downsample(points: list[list[float]], most: int) -> list[list[float]]:
    """At most about ``most`` of ``points`` (in logged order) for a chart: the first and
    last, and in each of ``most / 2`` equal stretches its lowest and highest value, so
    spikes and dips still show.

    >>> len(downsample([[step, step % 7, 0] for step in range(100_000)], 1_000))
    1002
    """
    if len(points) <= most:
        return points
    buckets = max(1, most // 2)
    size = len(points) / buckets
    kept = [points[0]]
    for bucket in range(buckets):
        stretch = points[int(bucket * size) : int((bucket + 1) * size)]
        numbers = [point for point in stretch if point[1] == point[1]]  # NaN never wins
        if not numbers:
            continue
        low = min(numbers, key=lambda point: point[1])
        high = max(numbers, key=lambda point: point[1])
        kept.extend(sorted({id(low): low, id(high): high}.values(), key=stretch.index))
    kept.append(points[-1])
    return kept


def commit_link(remote: str | None, commit: str | None) -> str | None:
    """The web page of a commit on GitHub, GitLab or Bitbucket, when the remote is one."""
    if not remote or not commit or not COMMIT_PATTERN.match(commit):
        return None
    match = KNOWN_HOSTS.match(remote)
    if match is None:
        return None
    path = "commits" if match["host"] == "bitbucket.org" else "commit"
    separator = "/-/" if match["host"] == "gitlab.com" else "/"
    return f"https://{match['host']}/{match['path']}{separator}{path}/{commit}"


def mlmodel_summary(text: str) -> str:
    """One line about a logged model: its flavors, and whether it has a signature."""
    from gitruns.utils.yamlcodec import load_yaml

    try:
        data = load_yaml(text)
    except Exception:
        return ""
    if not isinstance(data, dict) or not isinstance(data.get("flavors"), dict):
        return ""
    flavors = ", ".join(sorted(key for key in data["flavors"] if key != "python_function"))
    parts = [f"a {flavors or 'python_function'} model"]
    parts.append("with a signature" if data.get("signature") else "without a signature")
    if data.get("utc_time_created"):
        parts.append(f"saved {data['utc_time_created']} UTC")
    return ", ".join(parts)


def _artifact_kind(path: str) -> str:
    """How a run page shows an artifact: ``image`` (inert raster), ``mlmodel``, or
    ``file`` (previewed as text when it is text)."""
    lowered = path.lower()
    if lowered.rsplit("/", 1)[-1] == "mlmodel":
        return "mlmodel"
    if lowered.endswith(INERT_IMAGE_SUFFIXES):
        return "image"
    return "file"


def site_artifact_path(run_id: str, path: str) -> str:
    """Where an artifact is copied in the site: as itself when inert, else as plain text."""
    lowered = path.lower()
    inert = lowered.endswith(INERT_IMAGE_SUFFIXES + INERT_TEXT_SUFFIXES)
    return f"artifacts/{run_id}/{path}{'' if inert else INERT_COPY_SUFFIX}"


def artifact_items(
    run: RunModel, files: list[tuple[str, int]], previews: bool
) -> list[dict[str, Any]]:
    """Artifacts as a page lists them; ``href`` is relative to the site's root."""
    items = []
    budget = MAX_PREVIEW_BYTES_PER_PAGE if previews else 0
    for path, size in files:
        kind = _artifact_kind(path)
        item: dict[str, Any] = {
            "path": path,
            "name": path.rsplit("/", 1)[-1],
            "size": size,
            "kind": kind,
            "href": None
            if size > MAX_COPIED_ARTIFACT_BYTES
            else quote(site_artifact_path(run.id, path)),
        }
        if kind != "image" and size <= min(MAX_PREVIEW_BYTES, budget):
            preview = read_small_text(run.folder / ARTIFACTS_DIR / path, MAX_PREVIEW_BYTES)
            if preview is not None:
                item["preview"] = preview
                budget -= len(preview)
        if kind == "mlmodel":
            item["summary"] = mlmodel_summary(item.get("preview", ""))
        items.append(item)
    return items


def artifact_page_path(run_id: str, number: int) -> str:
    """The page listing a run's artifacts after the first :data:`ARTIFACTS_PER_PAGE`."""
    return f"runs/{run_id}.html" if number == 1 else f"runs/{run_id}/artifacts-{number}.html"


def artifact_pager(run_id: str, count: int, current: int) -> dict[str, Any] | None:
    """The links between a run's artifact pages, or None when one page holds them all."""
    pages = -(-count // ARTIFACTS_PER_PAGE)
    if pages <= 1:
        return None
    first = (current - 1) * ARTIFACTS_PER_PAGE
    return {
        "current": current,
        "first": first + 1,
        "last": min(count, first + ARTIFACTS_PER_PAGE),
        "count": count,
        "pages": [(number, artifact_page_path(run_id, number)) for number in range(1, pages + 1)],
    }


def reproductions_by_run(data: SiteData) -> dict[str, list[tuple[str, str]]]:
    """Each run's reproductions, (new run id, verdict), from the new runs' tags; only an
    id of a run the site holds is kept (a tag is text anyone could write)."""
    ids = {run_id for experiment in data.experiments for run_id in experiment.ids}
    found: dict[str, list[tuple[str, str]]] = {}
    for experiment in data.experiments:
        originals = experiment.column("tag", system_tags.REPRODUCES)
        if not any(originals):
            continue
        verdicts = experiment.column("tag", system_tags.REPRODUCTION_VERDICT)
        for run_id, original, verdict in zip(experiment.ids, originals, verdicts, strict=True):
            if original in ids:
                found.setdefault(str(original), []).append((run_id, verdict or ""))
    return found


def run_page(
    run: RunModel,
    view: ExperimentView,
    children: list[RunModel],
    reproductions: list[tuple[str, str]],
    files: list[tuple[str, int]],
) -> dict[str, Any]:
    experiment = view.experiment
    record = read_run_record(run.folder)
    git = record.git or {}
    artifacts = artifact_items(run, files[:ARTIFACTS_PER_PAGE], previews=True)
    diff = diff_text(run)
    diff_lines = []
    for line in (diff or "").splitlines():
        kind = (
            "add"
            if line.startswith("+") and not line.startswith("+++")
            else (
                "del"
                if line.startswith("-") and not line.startswith("---")
                else (
                    "hunk"
                    if line.startswith("@@")
                    else ("file" if line.startswith(("diff ", "+++", "---")) else "")
                )
            )
        )
        diff_lines.append((kind, line))
    return {
        "run": record,
        "parent": record.parent if record.parent and RUN_ID_PATTERN.match(record.parent) else None,
        "entry": run.entry,
        "experiment": {"id": experiment.id, "name": experiment.record.name},
        "started": format_time(record.start_time),
        "ended": format_time(record.end_time),
        "duration": format_duration(record.start_time, record.end_time),
        "git": git,
        "commit_url": commit_link(git.get("remote"), git.get("commit")),
        "metrics": [
            {
                "key": key,
                "last": compact_number(s.last),
                "min": compact_number(s.min),
                "max": compact_number(s.max),
                "full": [full_number(s.last), full_number(s.min), full_number(s.max)],
                "step": s.step,
            }
            for key, s in record.metrics.items()
        ],
        "artifacts": artifacts,
        "artifact_pages": artifact_pager(run.id, len(files), 1),
        "datasets": [_dataset_row(item) for item in record.inputs],
        "data_files": [_data_file_row(item) for item in record.data_files],
        "reproduce": reproduce_command(record.id, data_sources(record)),
        "reproductions": reproductions,
        "reproduces": record.tags.get(system_tags.REPRODUCES)
        if RUN_ID_PATTERN.match(record.tags.get(system_tags.REPRODUCES, ""))
        else None,
        "reproduction_verdict": record.tags.get(system_tags.REPRODUCTION_VERDICT, ""),
        "diff": diff_lines,
        "children": [run_row(child, view.width) for child in children],
        "registered": view.registered.get(run.id, []),
        "color": view.colors[run.id],
        "compact": compact_number,
        "histories_spec": histories_spec(),
        "has_histories": any(len(points) > 1 for points in run.histories.values()),
        "history_note": _history_note(run),
    }


def _dataset_row(item: dict[str, Any]) -> dict[str, Any]:
    """What the run page shows of a dataset input: where it came from, as text only (a
    source's URL is shown, never linked: the record may come from anyone's branch)."""

    def parsed(key: str) -> dict[str, Any]:
        try:
            value = json.loads(str(item.get(key) or "{}"))
        except ValueError:
            return {}
        return value if isinstance(value, dict) else {}

    source = parsed("source")
    profile = parsed("profile")
    rows = profile.get("num_rows")
    shape = profile.get("features_shape")
    if rows is None and isinstance(shape, list) and shape:
        rows = shape[0]
    return {
        "name": item.get("name", ""),
        "context": item.get("context", ""),
        "digest": item.get("digest", ""),
        "source": str(source.get("uri") or source.get("url") or item.get("source_type", "")),
        "rows": rows if isinstance(rows, int) else "",
        "tags": item.get("tags") or {},
    }


def _data_file_row(item: dict[str, Any]) -> dict[str, str]:
    """A file the run read, as text (the record may come from anyone's branch)."""
    size = item.get("size")
    return {
        "path": str(item.get("path", ""))[:1000],
        "size": f"{size:,} B" if isinstance(size, int) else "",
        "sha256": str(item.get("sha256", ""))[:64],
    }


@functools.cache
def histories_spec() -> str:
    """The histories chart, the same on every run's page: Altair builds it once."""
    return json_for_script(charts.histories())
