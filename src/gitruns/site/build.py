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

from gitruns.query import abbreviate
from gitruns.redact import public_text
from gitruns.site import charts
from gitruns.site.collect import (
    RunModel,
    SiteData,
    artifact_files,
    collect,
    json_for_script,
)
from gitruns.site.output import SiteWriter
from gitruns.site.pages import (
    ExperimentView,
    experiment_page,
    experiment_rows,
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
DATA_FORMAT = "4"  # 4: the compare page's charts in each experiment's data


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
    report = BuildReport(output=output, runs=len(data.runs), experiments=len(data.experiments))
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
    a run whose inputs are all as the last build found them keeps its files untouched."""
    nav = [{"id": e.id, "name": e.record.name} for e in data.experiments]
    # Every page shows the navigation; a run's page depends on nothing else outside the run.
    nav_key = _key("nav", *(f"{item['id']}\x00{item['name']}" for item in nav))

    def page(template: str, depth: int, context: Callable[[], dict[str, Any]]) -> Callable[[], str]:
        return lambda: renderer.page(template, context(), depth=depth, nav=nav)

    compare_spec = {"spec": histories_spec()}
    run_index = {run.id: run.entry.experiment for run in data.runs}
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
        view = ExperimentView(experiment, registered, width)
        experiment_key = _key(experiment.key, str(width), repr(view.registered))
        tasks.append(
            (
                f"data/experiments/{experiment.id}.js",
                experiment_key,
                partial(_experiment_data_js, view),
            )
        )
        tasks.append(
            (
                f"experiments/{experiment.id}.html",
                _key(experiment_key, nav_key),
                page("experiment.html", 1, partial(experiment_page, view)),
            )
        )
        for run in experiment.runs:
            children = view.children.get(run.id, [])
            run_key = _key(
                run.key,
                experiment.record.name,
                repr(registered.get(run.id, [])),
                repr(reproductions.get(run.id, [])),
                *(child.id for child in children),
            )
            files = artifact_files(run)  # walked once: 100,000 artifacts are a long walk
            # The page's key holds every input of the run's other files too.
            page_key = _key(run_key, nav_key, *(f"{path}:{size}" for path, size in files))
            if writer.keep_run_files(run.id, f"runs/{run.id}.html", page_key):
                continue
            tasks.append((f"data/runs/{run.id}.js", run.key, partial(_history_data_js, run)))
            tasks.append(
                (
                    f"runs/{run.id}.html",
                    page_key,
                    page(
                        "run.html",
                        1,
                        partial(
                            run_page, run, view, children, reproductions.get(run.id, []), files
                        ),
                    ),
                )
            )
            tasks.extend(_artifact_page_tasks(run, files, page, _key(run_key, nav_key)))
            tasks.extend(_artifact_tasks(run, files))
    return tasks


def _model_tasks(
    data: SiteData, page: Callable[..., Callable[[], str]], nav_key: str, width: int
) -> list[Task]:
    """A page per registered model, and one per version (``models/NAME/vN.html``)."""
    runs = {run.id: run for run in data.runs}
    rankings = {experiment.id: experiment.ranking for experiment in data.experiments}
    tasks: list[Task] = []
    for model in data.models:
        name = model_page(model["name"])
        if name is None:
            continue
        sources = {
            v["run_id"]: model_source(runs.get(v["run_id"] or ""), width, rankings)
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


def _experiment_data_js(view: ExperimentView) -> str:
    # Its rows hold only finite numbers already: no need to walk 100,000 of them again.
    return _data_js(f"experiment:{view.experiment.id}", experiment_rows(view), clean=False)


def _history_data_js(run: RunModel) -> str:
    return _data_js(f"history:{run.id}", history_rows(run))


def _key(*parts: str) -> str:
    return hashlib.sha1("\x00".join(parts).encode("utf-8", "surrogatepass")).hexdigest()


def _data_js(name: str, payload: Any, clean: bool = True) -> str:
    """A data file the pages load with <script>: it adds ``payload`` to ``window.GITRUNS``."""
    return (
        "window.GITRUNS = window.GITRUNS || {};\n"
        f"window.GITRUNS[{json_for_script(name)}] = "
        f"{public_text(json_for_script(json_safe(payload) if clean else payload))};\n"
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
