"""``gitruns site build``: runs and registry tags into a static site, as one pipeline.

collect (runs, histories, tags) → page models → charts → render (Jinja2) → write.

The site works from ``file://`` and from GitHub Pages alike: links are
relative, the Vega bundle ships with the site, and chart data lives in
``.js`` files loaded by ``<script>`` (browsers refuse ``fetch`` on ``file://``).
Builds are incremental: every page and data file records a key of its inputs
in ``.gitruns-site.json``, and only those whose key changed are written again.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial
from importlib import resources
from pathlib import Path
from typing import Any

from gitruns.query.tables import abbreviate
from gitruns.redact import public_text
from gitruns.site import charts
from gitruns.site.collect import (
    RunModel,
    SiteData,
    artifact_files,
    collect,
    json_for_script,
    parsed_in_script,
)
from gitruns.site.output import SiteWriter
from gitruns.site.pages import (
    ExperimentView,
    chunk_layout,
    chunk_rows,
    experiment_head,
    experiment_page,
    filled_chunks,
    home_page,
    json_safe,
    model_source,
    registrations,
)
from gitruns.site.render import Renderer, model_page
from gitruns.site.run_pages import (
    ARTIFACTS_PER_PAGE,
    MAX_COPIED_ARTIFACT_BYTES,
    artifact_items,
    artifact_page_path,
    artifact_pager,
    histories_spec,
    history_rows,
    reproductions_by_run,
    run_page,
    site_artifact_path,
)
from gitruns.utils.files import read_regular_file

logger = logging.getLogger(__name__)


# The layout of the data files the pages load: a change rewrites them all.
# 5: an experiment's rows in chunks, named by a head; 6: with their sizes; 7: through JSON.parse
DATA_FORMAT = "7"


# Headless Chromium as tests and benchmarks start it: no sandbox (root in CI), and no
# background traffic, which a closed network refuses.
CHROMIUM_ARGS = (
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-sync",
)


@dataclass
class BuildReport:
    output: Path
    pages: int = 0
    written: int = 0
    skipped: int = 0
    runs: int = 0
    experiments: int = 0
    files: list[str] = field(default_factory=list)


def build_site(
    runs_dir: Path,
    output: Path,
    *,
    base_url: str = "",
    templates: Path | None = None,
    on_progress: Callable[[int, int], None] | None = None,
) -> BuildReport:
    """Build the static site for ``runs_dir`` into ``output``; only changed pages are written.

    Example::

        report = build_site(Path("runs"), Path("site"))
        print(f"{report.written} of {report.pages} files written")
    """
    data = collect(runs_dir)
    renderer = Renderer(templates, base_url=base_url)
    writer = SiteWriter(output, salt=f"{renderer.key}:{DATA_FORMAT}:{charts.CHARTS_FORMAT}")
    report = BuildReport(output=output, runs=data.run_count, experiments=len(data.experiments))
    tasks = _plan(data, renderer, writer)
    for number, (path, key, produce) in enumerate(tasks, start=1):
        if writer.needs(path, key):
            writer.write(path, produce(), key)
        if on_progress is not None:
            on_progress(number, len(tasks))
    _write_assets(writer)
    report.pages, report.written, report.skipped = writer.finish()
    report.files = writer.written_paths
    return report


Task = tuple[str, str, Callable[[], str | bytes]]


def _plan(data: SiteData, renderer: Renderer, writer: SiteWriter) -> list[Task]:
    """Every output file with the key of its inputs and how to make it (made only if needed);
    a run whose inputs are all as the last build found them keeps its files untouched, and
    is never read beyond its columns."""
    nav = [{"id": e.id, "name": e.record.name} for e in data.experiments]
    # Every page shows the navigation; a run's page depends on nothing else outside the run.
    nav_key = _key("nav", *(f"{item['id']}\x00{item['name']}" for item in nav))

    def page(template: str, depth: int, context: Callable[[], dict[str, Any]]) -> Callable[[], str]:
        return lambda: renderer.page(template, context(), depth=depth, nav=nav)

    compare_spec = {"spec": histories_spec()}
    run_index = {run_id: e.id for e in data.experiments for run_id in e.ids}
    registered = registrations(data.models)
    reproductions = reproductions_by_run(data)
    width = abbreviate(run_index)
    tasks: list[Task] = [
        (
            "index.html",
            _key("index", *(e.key for e in data.experiments), repr(data.models)),
            page("home.html", 0, partial(home_page, data, width)),
        ),
        (
            "models.html",
            _key("models", repr(data.models), nav_key),
            page("models.html", 0, lambda: {"models": data.models}),
        ),
        ("compare.html", _key("compare", nav_key), page("compare.html", 0, lambda: compare_spec)),
        *_model_tasks(data, page, nav_key, width),
        ("data/index.js", _key("data-index", *run_index), partial(_data_js, "runs", run_index)),
    ]
    for experiment in data.experiments:
        layout = chunk_layout(
            writer.previous_layout(experiment.id), experiment.ids, experiment.start_times
        )
        writer.layouts[experiment.id] = layout
        view = ExperimentView(experiment, registered, width, layout)
        experiment_key = _key(experiment.key, str(width), repr(view.registered), repr(layout))
        tasks.append(
            (
                f"data/experiments/{experiment.id}.js",
                experiment_key,
                partial(_experiment_head_js, view),
            )
        )
        tasks.extend(_chunk_tasks(view))
        tasks.append(
            (
                f"experiments/{experiment.id}.html",
                _key(experiment_key, nav_key),
                page("experiment.html", 1, partial(experiment_page, view)),
            )
        )
        tasks.extend(_run_tasks(view, page, writer, nav_key, reproductions))
    return tasks


def _run_tasks(
    view: ExperimentView,
    page: Callable[..., Callable[[], str]],
    writer: SiteWriter,
    nav_key: str,
    reproductions: dict[str, list[tuple[str, str]]],
) -> list[Task]:
    """The files of each run whose inputs changed: its page, history data, artifact pages
    and artifacts. Only these runs are read whole (in one pass over the index)."""
    experiment = view.experiment
    key_of = experiment.key_of
    page_keys: dict[str, str] = {}
    artifacts: dict[str, list[tuple[str, int]]] = {}
    # What every run's page shows of the experiment and the site (and the build's salt),
    # short: most runs' page keys are this, their run.yaml's stamp and their colour.
    shared = _key(writer.run_salt, experiment.record.name, nav_key)[:12]
    for run_id, run_key in key_of.items():
        extras = (
            run_id in view.children
            or run_id in view.registered
            or run_id in reproductions
            or run_id in experiment.with_artifacts
        )
        if not extras:  # most runs: nothing of theirs outside their folder
            page_keys[run_id] = f"{shared}:{run_key}:{view.colors[run_id][1:]}"
            continue
        files = artifacts[run_id] = (
            artifact_files(experiment.folder_of(run_id))
            if run_id in experiment.with_artifacts
            else []
        )
        # The page's key holds every input of the run's other files too.
        page_keys[run_id] = _key(
            shared,
            run_key,
            view.colors[run_id],
            repr(view.registered.get(run_id, [])),
            repr(reproductions.get(run_id, [])),
            *(f"{child}:{key_of[child]}" for child in view.children.get(run_id, ())),
            *(f"{path}:{size}" for path, size in files),
        )
    kept = writer.keep_runs(page_keys)
    pending = [
        (run_id, page_key, artifacts.get(run_id, []))
        for run_id, page_key in page_keys.items()
        if run_id not in kept
    ]
    wanted = [run_id for run_id, _, _ in pending]
    # Read in one pass over the index: the runs, then the children their pages list.
    runs = {run.id: run for run in experiment.runs(wanted)}
    experiment.runs([child for run_id in wanted for child in view.children.get(run_id, [])])
    tasks: list[Task] = []
    for run_id, page_key, files in pending:
        run = runs.get(run_id)
        if run is None:
            continue  # its record became unreadable since the index read it
        context = partial(
            run_page,
            run,
            view,
            experiment.runs(view.children.get(run_id, [])),
            reproductions.get(run_id, []),
            files,
        )
        tasks.append((f"data/runs/{run_id}.js", page_key, partial(_history_data_js, run)))
        tasks.append((f"runs/{run_id}.html", page_key, page("run.html", 1, context)))
        tasks.extend(_artifact_page_tasks(run, files, page, page_key))
        tasks.extend(_artifact_tasks(run, files))
    return tasks


def _chunk_tasks(view: ExperimentView) -> list[Task]:
    """A data file per chunk of the experiment's rows, made again only when a run in it
    changed, arrived or left."""
    experiment = view.experiment
    key_of = experiment.key_of
    tasks: list[Task] = []
    for number, chunk in filled_chunks(view.layout):
        key = _key("chunk", *(f"{run_id}:{key_of[run_id]}" if run_id else "" for run_id in chunk))
        tasks.append(
            (
                f"data/experiments/{experiment.id}/{number}.js",
                key,
                partial(_chunk_js, view, number),
            )
        )
    return tasks


def _model_tasks(
    data: SiteData, page: Callable[..., Callable[[], str]], nav_key: str, width: int
) -> list[Task]:
    """A page per registered model, and one per version (``models/NAME/vN.html``)."""
    rankings = {experiment.id: experiment.ranking for experiment in data.experiments}
    tasks: list[Task] = []
    for model in data.models:
        name = model_page(model["name"])
        if name is None:
            continue
        sources = {
            v["run_id"]: model_source(data.run(v["run_id"] or ""), width, rankings)
            for v in model["versions"]
        }
        key = _key("model", repr(model), repr(sources), nav_key)
        context = {"model": model, "sources": sources}
        tasks.append((f"models/{name}.html", key, page("model.html", 1, lambda c=context: c)))
        for version in model["versions"]:
            version_context = {
                "model": model,
                "model_version": version,
                "source": sources.get(version["run_id"]),
                "history": [e for e in model["history"] if e["version"] == version["version"]],
            }
            tasks.append(
                (
                    f"models/{name}/v{version['version']}.html",
                    key,
                    page("version.html", 2, lambda c=version_context: c),
                )
            )
    return tasks


def _experiment_head_js(view: ExperimentView) -> str:
    # Text, whole numbers and chart specs: nothing JSON lacks, no need to walk 100,000 rows.
    return _data_js(f"experiment:{view.experiment.id}", experiment_head(view), clean=False)


def _chunk_js(view: ExperimentView, number: int) -> str:
    ids = [run_id for run_id in view.layout[number] if run_id is not None]
    rows = chunk_rows(view.experiment.runs(ids), view.colors)
    # Its rows hold only finite numbers already: no need to walk 2,000 of them again.
    return _data_js(f"experiment:{view.experiment.id}:{number}", rows, clean=False)


def _history_data_js(run: RunModel) -> str:
    return _data_js(f"history:{run.id}", history_rows(run))


def _key(*parts: str) -> str:
    return hashlib.sha1("\x00".join(parts).encode("utf-8", "surrogatepass")).hexdigest()


def _data_js(name: str, payload: Any, clean: bool = True) -> str:
    """A data file the pages load with <script>: it adds ``payload`` to ``window.GITRUNS``."""
    # Home folders leave the JSON text itself, before it is quoted into the script.
    text = public_text(json_for_script(json_safe(payload) if clean else payload))
    return (
        "window.GITRUNS = window.GITRUNS || {};\n"
        f"window.GITRUNS[{json_for_script(name)}] = {parsed_in_script(text)};\n"
    )


def _artifact_tasks(run: RunModel, files: list[tuple[str, int]]) -> list[Task]:
    tasks: list[Task] = []
    if not files:  # most runs; a path made for nothing costs a second at 100,000 runs
        return tasks
    root = run.folder / "artifacts"
    for path, size in files:
        if size > MAX_COPIED_ARTIFACT_BYTES:
            continue
        tasks.append(
            (
                site_artifact_path(run.id, path),
                _key(run.key, path, str(size)),
                partial(read_regular_file, root / path, MAX_COPIED_ARTIFACT_BYTES),
            )
        )
    return tasks


def _artifact_page_tasks(
    run: RunModel, files: list[tuple[str, int]], page: Callable[..., Callable[[], str]], key: str
) -> list[Task]:
    """A page for each further :data:`ARTIFACTS_PER_PAGE` artifacts of a run."""
    tasks: list[Task] = []
    if len(files) <= ARTIFACTS_PER_PAGE:  # most runs: one page, the run's own
        return tasks
    for number in range(2, -(-len(files) // ARTIFACTS_PER_PAGE) + 1):
        start = (number - 1) * ARTIFACTS_PER_PAGE

        def context(start: int = start, number: int = number) -> dict[str, Any]:
            chunk = files[start : start + ARTIFACTS_PER_PAGE]
            return {
                "run": run.entry,
                "experiment": {"id": run.entry.experiment},
                "artifacts": artifact_items(run, chunk, previews=False),
                "artifact_pages": artifact_pager(run.id, len(files), number),
            }

        tasks.append(
            (
                artifact_page_path(run.id, number),
                _key(key, "artifacts", str(number)),
                page("artifacts.html", 2, context),
            )
        )
    return tasks


def _write_assets(writer: SiteWriter) -> None:
    static = resources.files("gitruns.site").joinpath("static")
    for name in ("site.css", "filter.js", "site.js"):
        content = static.joinpath(name).read_bytes()
        writer.write_if_changed(f"assets/{name}", content)
    import importlib.metadata

    import vl_convert

    bundle_key = _key("vega", importlib.metadata.version("vl-convert-python"))
    if writer.needs("assets/vega.js", bundle_key):
        # None asks for the default snippet, which sets window.vegaEmbed (the stub wants a str).
        bundle = vl_convert.javascript_bundle(None)  # type: ignore[arg-type]
        writer.write("assets/vega.js", bundle, bundle_key)
