"""The static site, opened in real headless Chromium from file://."""

from __future__ import annotations

import itertools
import json
import math
import os
import re
import time
import urllib.request
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import gitruns as mlflow
from gitruns import MlflowClient
from gitruns.exceptions import GitrunsError
from gitruns.site import CHROMIUM_ARGS, build_site
from gitruns.site.render import TemplateMissing
from tests.conftest import git

CHROMIUM = "/usr/bin/chromium"
PAYLOAD = '<img src=x onerror="window.__pwned=1"></script><script>window.__pwned=1</script>'


@pytest.fixture(scope="module")
def browser():
    """Headless Chromium, Debian's: a test that needs it skips, naming it, where it is missing
    (.ci/run installs it, so CI runs them all)."""
    if not os.path.exists(CHROMIUM):
        pytest.skip(f"Debian's chromium is not installed ({CHROMIUM}): apt-get install chromium")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(
            executable_path=CHROMIUM,
            args=list(CHROMIUM_ARGS),
        )
        yield launched
        launched.close()


class Visitor:
    """A page that records console errors, requests leaving the site, and dialogs."""

    def __init__(self, browser) -> None:
        self.page = browser.new_page(viewport={"width": 1300, "height": 900})
        self.errors: list[str] = []
        self.outside: list[str] = []
        self.dialogs: list[str] = []
        self.page.on("console", lambda m: self.errors.append(m.text) if m.type == "error" else None)
        self.page.on("pageerror", lambda e: self.errors.append(str(e)))
        self.page.on("request", self._request)
        self.page.on("dialog", lambda d: (self.dialogs.append(d.message), d.dismiss()))

    def _request(self, request) -> None:
        if not request.url.startswith(("file://", "data:", "blob:")):
            self.outside.append(request.url)

    def open(self, path: Path, query: str = "") -> None:
        self.page.goto(path.as_uri() + query)
        self.page.wait_for_load_state("load")

    def charts(self, count: int) -> None:
        self.page.wait_for_function(
            f"document.querySelectorAll('.chart .marks').length >= {count}", timeout=10_000
        )

    def close(self) -> None:
        self.page.close()


def log_runs(repo: Path) -> list[str]:
    """Two experiments: a small search with histories and artifacts, and one with payloads."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    mlflow.set_experiment("taxi", primary_metric="rmse")
    ids = []
    for depth, rate in [(3, 0.1), (5, 0.3), (7, 0.2), (9, 0.05)]:
        with mlflow.start_run(run_name=f"depth-{depth}") as run:
            mlflow.log_params({"max_depth": depth, "learning_rate": rate, "model": "xgboost"})
            for step in range(10):
                mlflow.log_metric("validation-rmse", 5 - depth * 0.1 - step * 0.05, step=step)
            mlflow.log_metric("rmse", 5 - depth * 0.1)
            mlflow.set_tag("stage", "tuning")
            figure, axes = plt.subplots()
            axes.plot([1, 2, 3])
            mlflow.log_figure(figure, "plots/curve.png")
            plt.close(figure)
            mlflow.log_dict({"features": ["PU_DO"]}, "config.json")
            mlflow.log_text("weights", "model/MLmodel")
            if depth == 3:
                frame = pd.DataFrame({"distance": [1.0, 2.0, 3.5], "duration": [4.0, 7.0, 9.0]})
                mlflow.log_input(
                    mlflow.data.from_pandas(
                        frame, source="data/trips-01.csv", targets="duration", name="january"
                    ),
                    context="training",
                )
        ids.append(run.info.run_id)
    mlflow.set_experiment(f"evil {PAYLOAD}")
    (repo / "train.py").write_text(f"# {PAYLOAD}\n")  # the diff carries the payload too
    with mlflow.start_run(run_name=f"run {PAYLOAD}", description=PAYLOAD) as run:
        mlflow.log_param("note", PAYLOAD)
        mlflow.set_tag("owner", PAYLOAD)
        mlflow.log_metric("rmse", 1.0)
        mlflow.log_text(PAYLOAD, "notes.txt")
        mlflow.log_text(f"<html><script>window.__pwned=1</script>{PAYLOAD}</html>", "report.html")
        mlflow.log_text(
            '<svg xmlns="http://www.w3.org/2000/svg"><script>window.__pwned=1</script></svg>',
            "x.svg",
        )
        mlflow.log_text("x", "weird <b>name</b>.txt")
        mlflow.log_input(
            mlflow.data.from_numpy(
                np.ones((2, 2)), source=f"https://x.org/{PAYLOAD}", name=PAYLOAD
            ),
            context=PAYLOAD,
            tags={"owner": PAYLOAD},
        )
    ids.append(run.info.run_id)
    MlflowClient().create_model_version("taxi-model", f"runs:/{ids[1]}/model", description=PAYLOAD)
    MlflowClient().transition_model_version_stage("taxi-model", 1, "Production")
    return ids


@pytest.fixture()
def site(repo: Path) -> tuple[Path, list[str]]:
    ids = log_runs(repo)
    output = repo / "site"
    build_site(repo / "runs", output)
    return output, ids


def test_every_page_loads_offline_with_no_error(site, browser):
    output, ids = site
    visitor = Visitor(browser)
    pages = [
        "index.html",
        "models.html",
        "compare.html",
        "experiments/taxi.html",
        *(f"runs/{run_id}.html" for run_id in ids),
    ]
    pages += [str(path.relative_to(output)) for path in (output / "experiments").glob("*.html")]
    for page in pages:
        visitor.open(output / page)
    visitor.open(output / "compare.html", f"?runs={ids[0]},{ids[1]}")
    visitor.charts(1)
    assert visitor.errors == [] and visitor.outside == [] and visitor.dialogs == []
    visitor.close()


def test_charts_draw_and_tables_sort_and_filter(site, browser):
    output, ids = site
    visitor = Visitor(browser)
    visitor.open(output / "experiments" / "taxi.html")
    visitor.charts(3)  # parallel coordinates, scatters, heatmap
    page = visitor.page
    names = lambda: page.locator("#runs tbody tr:not([hidden]) td:nth-child(2) a").all_inner_texts()  # noqa: E731
    assert sorted(names()) == ["depth-3", "depth-5", "depth-7", "depth-9"]
    page.locator("#runs th", has_text="rmse").first.click()
    assert names() == ["depth-9", "depth-7", "depth-5", "depth-3"]
    page.locator("#runs th", has_text="rmse").first.click()
    assert names() == ["depth-3", "depth-5", "depth-7", "depth-9"]
    page.fill("input[data-filter-for=runs]", "depth-5")
    assert names() == ["depth-5"]
    page.fill("input[data-filter-for=runs]", "")
    page.click("details.columns summary")
    page.locator("input[data-column=param-0]").uncheck()
    assert page.locator("#runs th[data-col=param-0]").is_hidden()

    page.locator(f"input.pick[value='{ids[0]}']").check()
    page.locator(f"input.pick[value='{ids[2]}']").check()
    page.wait_for_function("document.querySelectorAll('#selected-histories .marks').length > 0")
    page.click("#compare")
    page.wait_for_selector("#comparison tr[data-differs='1']")
    assert (
        page.locator("#comparison tr[data-differs='1'] th", has_text="params.max_depth").count()
        == 1
    )
    visitor.charts(1)
    visitor.open(output / "runs" / f"{ids[0]}.html")
    visitor.charts(1)
    assert page.locator("img[alt='plots/curve.png']").evaluate("img => img.naturalWidth") > 0
    assert "PU_DO" in page.locator("pre.preview").first.inner_text()
    assert visitor.errors == []
    visitor.close()


def test_script_in_any_logged_field_stays_inert(site, browser):
    output, ids = site
    visitor = Visitor(browser)
    evil_experiment = next(
        path for path in (output / "experiments").glob("*.html") if path.name != "taxi.html"
    )
    for path in [
        output / "index.html",
        evil_experiment,
        output / "runs" / f"{ids[-1]}.html",
        output / "models.html",
    ]:
        visitor.open(path)
        visitor.page.wait_for_timeout(300)
        assert visitor.page.evaluate("window.__pwned") is None
        assert visitor.page.locator("img[src=x]").count() == 0
    visitor.open(output / "runs" / f"{ids[-1]}.html")
    run_page = visitor.page
    assert PAYLOAD in run_page.locator("body").inner_text()  # shown as text, not run
    hrefs = run_page.locator("details.artifact a").evaluate_all(
        "links => links.map(a => a.getAttribute('href'))"
    )
    assert any(href.endswith("report.html.txt") for href in hrefs)
    visitor.open(output / "artifacts" / ids[-1] / "report.html.txt")
    assert visitor.page.evaluate("window.__pwned") is None
    assert visitor.dialogs == [] and visitor.errors == []
    visitor.close()


def settled(runs: Path) -> None:
    """Date every file of ``runs`` a few seconds back: a run.yaml written within the same
    clock tick as a build is made again by the next one (it may have changed unseen)."""
    back = time.time() - 5
    for path in runs.rglob("*"):
        if path.lstat().st_mtime > back:  # those dated already keep their date
            os.utime(path, (back, back), follow_symlinks=False)


def test_rebuilds_write_only_what_changed(repo: Path):
    ids = log_runs(repo)
    settled(repo / "runs")
    output = repo / "site"
    first = build_site(repo / "runs", output)
    assert first.written == first.pages
    assert build_site(repo / "runs", output).written == 0
    (output / "runs" / f"{ids[0]}.html").unlink()  # removed by hand: made again
    assert build_site(repo / "runs", output).files == [f"runs/{ids[0]}.html"]
    mlflow.set_experiment("taxi")
    with mlflow.start_run(run_name="one-more") as run:
        mlflow.log_metric("rmse", 3.0)
    kept = sorted(p.relative_to(output) for p in (output / "artifacts" / ids[0]).rglob("*"))
    assert kept  # the first run's artifacts, copied by the first build
    again = build_site(repo / "runs", output)
    # Its files were kept as they were, not removed as left over from an earlier build.
    assert sorted(p.relative_to(output) for p in (output / "artifacts" / ids[0]).rglob("*")) == kept
    assert (output / "data" / "runs" / f"{ids[0]}.js").exists()
    assert f"runs/{run.info.run_id}.html" in again.files
    assert "experiments/taxi.html" in again.files and "index.html" in again.files
    assert not any(path.startswith(f"runs/{ids[0]}") for path in again.files)
    assert again.written < 20
    MlflowClient().delete_run(run.info.run_id)
    build_site(repo / "runs", output)
    assert not (output / "runs" / f"{run.info.run_id}.html").exists()


def test_a_pull_rewrites_only_the_chunks_its_runs_went_into(repo: Path, browser, monkeypatch):
    """An experiment's rows are kept in chunks; a pull (runs that started earlier than
    some already shown) rewrites the chunk they went into and the small head, never the
    chunks of runs already there, and never recolours them; the page still reads every
    run, params and metrics alike, as one table."""
    from gitruns.site import pages

    monkeypatch.setattr(pages, "CHUNK_RUNS", 20)
    mlflow.set_experiment("sweep", primary_metric="rmse")
    names = {}
    for index in range(45):
        with mlflow.start_run(run_name=f"trial-{index:02d}") as run:
            params = {"seed": index} if index < 20 else {"seed": index, "depth": index % 7}
            mlflow.log_params(params)
            mlflow.log_metric("rmse", 100.0 - index)
            if index >= 40:
                mlflow.log_metric("auc", index / 100)  # only the last chunk has it
        names[index] = run.info.run_id
    settled(repo / "runs")
    output = repo / "site"
    build_site(repo / "runs", output)
    chunks = output / "data" / "experiments" / "sweep"
    assert sorted(path.name for path in chunks.iterdir()) == ["0.js", "1.js", "2.js"]
    before = {path.name: path.read_bytes() for path in chunks.iterdir()}
    colours = {run_id: _run_colour(output, run_id) for run_id in names.values()}
    assert len({colours[names[i]] for i in range(20)}) == 20  # twenty in a row, all differ

    # A teammate's run, started before every run here, arrives with a pull.
    client = MlflowClient()
    earlier = client.create_run(
        mlflow.get_experiment_by_name("sweep").experiment_id,
        start_time=1_000,
        run_name="from-a-teammate",
    )
    client.log_param(earlier.info.run_id, "seed", 999)
    client.log_metric(earlier.info.run_id, "rmse", 0.5)
    client.set_terminated(earlier.info.run_id)
    settled(repo / "runs")
    report = build_site(repo / "runs", output)
    chunk_files = sorted(path for path in report.files if path.startswith("data/experiments/"))
    assert chunk_files == ["data/experiments/sweep.js", "data/experiments/sweep/2.js"]
    assert all((chunks / name).read_bytes() == before[name] for name in ("0.js", "1.js"))
    assert {run_id: _run_colour(output, run_id) for run_id in names.values()} == colours
    assert [path for path in report.files if path.startswith("runs/")] == [
        f"runs/{earlier.info.run_id}.html"
    ]

    # A run of the first chunk changes: only that chunk is made again.
    client.set_tag(names[3], "note", "looked at")
    settled(repo / "runs")
    report = build_site(repo / "runs", output)
    assert sorted(p for p in report.files if p.startswith("data/experiments/")) == [
        "data/experiments/sweep.js",
        "data/experiments/sweep/0.js",
    ]

    visitor = Visitor(browser)
    visitor.open(output / "experiments" / "sweep.html")
    page = visitor.page
    page.wait_for_selector("#runs tbody tr[data-id]")
    assert "46 runs" in page.locator("p.facts").inner_text()
    table = page.evaluate(
        """() => {
          const d = Object.values(window.GITRUNS).find((d) => d.runs && d.goal);
          const column = (name) => d.metrics.indexOf(name);
          return d.runs.map((r) => [r.name, r["m" + column("rmse")], r["m" + column("auc")],
                                    r["p" + d.params.indexOf("seed")], r.tags.note || null]);
        }"""
    )
    rows = {name: (rmse, auc, seed, note) for name, rmse, auc, seed, note in table}
    assert len(rows) == 46
    assert rows["trial-00"] == (100.0, None, 0, None)
    assert rows["trial-03"] == (97.0, None, 3, "looked at")
    assert rows["trial-44"] == (56.0, 0.44, 44, None)
    assert rows["from-a-teammate"] == (0.5, None, 999, None)
    assert [name for name, *_ in table][:2] == ["trial-44", "trial-43"]  # newest first
    page.fill("#run-filter", "metrics.auc > 0.42")
    page.wait_for_function("document.querySelectorAll('#runs tbody tr[data-id]').length === 2")
    page.fill("#run-filter", "params.depth = '3'")  # trials 24, 31 and 38: chunks 1 and 2
    page.wait_for_function("document.querySelectorAll('#runs tbody tr[data-id]').length === 3")
    # Runs of different chunks compare side by side (the compare page loads the chunks).
    visitor.open(output / "compare.html", f"?runs={names[0]},{names[44]}")
    page.wait_for_selector("#comparison tbody tr")
    rmse = page.locator("#comparison tbody tr", has=page.locator("th", has_text="metrics.rmse"))
    assert rmse.locator("td").all_inner_texts() == ["100", "56"]
    assert visitor.errors == []
    # A chunk that does not load leaves its runs out; no run shows another's values.
    (chunks / "1.js").unlink()
    visitor.open(output / "experiments" / "sweep.html")
    page.wait_for_selector("#runs tbody tr[data-id]")
    shown = page.evaluate(
        """() => {
          const d = Object.values(window.GITRUNS).find((d) => d.runs && d.goal);
          const rmse = "m" + d.metrics.indexOf("rmse");
          return d.runs.map((r) => [r.name, r[rmse]]);
        }"""
    )
    assert len(shown) == 26 and ["trial-44", 56.0] in shown and ["trial-03", 97.0] in shown
    assert all(name != "trial-25" for name, _ in shown)
    assert any("chunk 1 did not load" in error for error in visitor.errors)
    visitor.close()


def _run_colour(output: Path, run_id: str) -> str:
    """The colour a run's page gives its heading's dot."""
    found = re.search(
        r"--run-color: (#[0-9a-f]{6})", (output / "runs" / f"{run_id}.html").read_text()
    )
    assert found, run_id
    return found[1]


def test_a_site_an_earlier_gitruns_built_is_taken_over(repo: Path, caplog):
    """A site whose manifest is version 2 (each file under its path) is built again whole,
    and the pages of runs deleted since are removed, as they were still as written."""
    import hashlib

    ids = log_runs(repo)
    output = repo / "site"
    build_site(repo / "runs", output)
    manifest = output / ".gitruns-site.json"
    files = {
        str(path.relative_to(output)): ["0" * 40, hashlib.sha1(path.read_bytes()).hexdigest()]
        for path in output.rglob("*")
        if path.is_file() and path != manifest
    }
    manifest.write_text(json.dumps({"version": 2, "files": files}))
    MlflowClient().delete_run(ids[2])
    report = build_site(repo / "runs", output)
    assert report.written == report.pages
    assert not (output / "runs" / f"{ids[2]}.html").exists()
    assert not (output / "data" / "runs" / f"{ids[2]}.js").exists()
    assert (output / "runs" / f"{ids[1]}.html").exists()
    assert not [r.message for r in caplog.records if r.message.startswith("Kept")]


def test_templates_can_be_overridden_and_missing_ones_are_named(repo: Path, tmp_path: Path):
    log_runs(repo)
    custom = tmp_path / "theme"
    custom.mkdir()
    (custom / "home.html").write_text(
        '{% extends "base.html" %}{% block content %}<h1>Our lab</h1>{% endblock %}'
    )
    build_site(repo / "runs", repo / "site", templates=custom)
    assert "<h1>Our lab</h1>" in (repo / "site" / "index.html").read_text()
    with pytest.raises(TemplateMissing, match="does not exist"):
        build_site(repo / "runs", repo / "site", templates=tmp_path / "nowhere")


def test_ui_serves_and_rebuilds_when_runs_change(repo: Path):
    from gitruns.site.serve import serve

    mlflow.set_experiment("live")
    with mlflow.start_run():
        mlflow.log_metric("rmse", 2.0)
    reports: list = []
    server = serve(
        repo / "runs",
        repo / "site",
        port=0,
        interval=0.2,
        on_rebuild=reports.append,
        report_every=2.0,
    )
    try:
        url = f"http://127.0.0.1:{server.server_address[1]}/"
        assert urllib.request.urlopen(url + "index.html").status == 200
        for value in (1.0, 0.9, 0.8, 0.7):  # a few runs, each seen by its own rebuild
            with mlflow.start_run() as run:
                mlflow.log_metric("rmse", value)
            time.sleep(0.4)
        deadline = time.monotonic() + 15
        while (
            time.monotonic() < deadline
            and not (repo / "site" / "runs" / f"{run.info.run_id}.html").exists()
        ):
            time.sleep(0.2)
        assert urllib.request.urlopen(url + f"runs/{run.info.run_id}.html").status == 200
        while time.monotonic() < deadline and not reports:
            time.sleep(0.2)
        # the rebuilds of those seconds come back as one or two lines, not one each
        assert 1 <= len(reports) <= 2 and sum(r.times for r in reports) >= 2
        assert all(r.written > 0 for r in reports)
    finally:
        server.shutdown()
        server.server_close()


@pytest.mark.parametrize(
    ("remote", "link"),
    [
        ("https://github.com/org/repo.git", "https://github.com/org/repo/commit/abc"),
        ("git@github.com:org/repo.git", "https://github.com/org/repo/commit/abc"),
        ("https://gitlab.com/group/sub/repo", "https://gitlab.com/group/sub/repo/-/commit/abc"),
        ("https://bitbucket.org/team/repo.git", "https://bitbucket.org/team/repo/commits/abc"),
        ("https://git.example.com/repo.git", None),
        (None, None),
    ],
)
def test_commits_link_to_known_hosts(remote, link):
    from gitruns.site import commit_link

    commit = "abc" + "0" * 37
    assert commit_link(remote, commit) == (link and link.replace("abc", commit))
    assert commit_link(remote, "../../../evil.example/x") is None


def test_the_run_page_lists_the_datasets_a_run_read(site, browser):
    output, ids = site
    visitor = Visitor(browser)
    visitor.open(output / "runs" / f"{ids[0]}.html")
    (row,) = visitor.page.locator("table.datasets tbody tr").all()
    assert row.locator("th, td").all_inner_texts()[:4] == [
        "january",
        "training",
        "data/trips-01.csv",
        "3",
    ]
    visitor.open(output / "runs" / f"{ids[1]}.html")
    assert visitor.page.locator("table.datasets").count() == 0  # a run that read none
    visitor.open(output / "runs" / f"{ids[-1]}.html")
    assert visitor.page.locator("table.datasets a").count() == 0  # a source is never a link
    assert visitor.page.evaluate("window.__pwned") is None and visitor.errors == []
    visitor.close()


def test_a_logged_model_is_summarised(site):
    output, ids = site
    from gitruns.site.run_pages import mlmodel_summary

    assert mlmodel_summary("flavors:\n  sklearn: {}\n  python_function: {}\nsignature: {}\n") == (
        "a sklearn model, without a signature"
    )
    assert "weights" in (output / "runs" / f"{ids[0]}.html").read_text()


@pytest.fixture()
def search_site(repo: Path) -> tuple[Path, dict[str, str]]:
    """A hyperopt-like search (a parent, six trials) beside a baseline with params of its own."""
    mlflow.set_experiment("search", primary_metric="rmse")
    ids = {}
    with mlflow.start_run(run_name="baseline") as run:
        mlflow.log_params({f"ridge_option_{i}": i for i in range(6)})
        mlflow.log_metric("rmse", 4.123456789)
        mlflow.log_metric("mae", 3.0)
    ids["baseline"] = run.info.run_id
    with mlflow.start_run(run_name="hyperopt-search") as parent:
        for depth, rate, rmse in [(2, 0.001, 5.0), (4, 0.01, 4.8), (6, 0.1, 4.5),
                                  (8, 0.3, 4.4), (10, 1.0, 4.7), (12, 0.05, 4.55)]:  # fmt: skip
            with mlflow.start_run(run_name=f"trial-depth-{depth}", nested=True) as trial:
                booster = "dart" if depth == 12 else "gbtree"
                mlflow.log_params(
                    {
                        "max_depth": depth,
                        "learning_rate": rate,
                        "booster": booster,
                        "objective": "reg:squarederror",
                    }
                )
                mlflow.log_metric("rmse", rmse)
                mlflow.log_metric("mae", rmse - 1)
                for step in range(5):
                    mlflow.log_metric("validation-rmse", rmse + 1 / (step + 1), step=step)
                if depth == 8:
                    mlflow.log_text("weights", "model/MLmodel")
            ids[f"depth-{depth}"] = trial.info.run_id
    ids["parent"] = parent.info.run_id
    git(repo, "add", "-A")
    git(repo, "commit", "-qm", "runs")
    MlflowClient().create_model_version("taxi-model", f"runs:/{ids['depth-8']}/model")
    MlflowClient().transition_model_version_stage("taxi-model", 1, "Production")
    output = repo / "site"
    build_site(repo / "runs", output)
    return output, ids


def test_the_experiment_page_is_the_runs_table(search_site, browser):
    output, ids = search_site
    visitor = Visitor(browser)
    visitor.open(output / "experiments" / "search.html")
    page = visitor.page
    visible = lambda: page.locator("#runs tbody tr:not([hidden]) td.name a").all_inner_texts()  # noqa: E731
    # The table first; then status, start, duration; the primary metric leads the metrics.
    assert page.evaluate(
        "document.querySelector('#runs').compareDocumentPosition("
        "document.querySelector('section.charts')) & Node.DOCUMENT_POSITION_FOLLOWING"
    )
    headers = page.locator("#runs thead th:not([hidden])").all_inner_texts()
    assert [h.strip(" ↕") for h in headers[1:7]] == [
        "Run", "Status", "Started", "Duration", "rmse", "mae",
    ]  # fmt: skip
    assert page.locator("#runs th[title='params.ridge_option_0']").is_hidden()  # rare: hidden
    assert page.locator("#runs th[title='params.max_depth']").is_visible()
    baseline_rmse = page.locator(f"tr[data-id='{ids['baseline']}'] td[data-col='metric-0']")
    assert baseline_rmse.inner_text() == "4.123"
    assert baseline_rmse.get_attribute("title") == "4.123456789"
    # The name stays in view when the table scrolls sideways.
    name_cell = page.locator(f"tr[data-id='{ids['baseline']}'] td.name")
    left = name_cell.bounding_box()["x"]
    page.evaluate("document.querySelector('.table-wrap').scrollLeft = 2000")
    assert abs(name_cell.bounding_box()["x"] - left) < 1
    # The search opens as one row; its trials open under it.
    assert visible() == ["hyperopt-search", "baseline"]
    page.locator(f"tr[data-id='{ids['parent']}'] button.toggle").click()
    assert visible() == ["hyperopt-search", *(f"trial-depth-{d}" for d in (2, 4, 6, 8, 10, 12)),
                         "baseline"]  # fmt: skip
    page.locator("#runs th[title='metrics.rmse']").click()  # trials sort under their parent
    assert visible()[0] == "baseline" and visible()[1] == "hyperopt-search"
    assert visible()[2:4] == ["trial-depth-8", "trial-depth-6"]
    # MLflow's filter grammar, in the page.
    page.fill("#run-filter", "metrics.rmse < 4.6 AND params.max_depth > 5")
    assert sorted(visible()) == [
        "hyperopt-search",
        "trial-depth-12",
        "trial-depth-6",
        "trial-depth-8",
    ]
    page.fill("#run-filter", "params.max_depth IN ('2', '4') OR metrics.mae < 3.2")
    assert sorted(visible()) == ["baseline", "hyperopt-search", "trial-depth-2", "trial-depth-4"]
    page.fill("#run-filter", f"attributes.parent_run_id = '{ids['parent']}' AND metrics.rmse > 4.6")
    assert sorted(visible()) == [
        "hyperopt-search",
        "trial-depth-10",
        "trial-depth-2",
        "trial-depth-4",
    ]
    page.fill("#run-filter", "attributes.status = 'FINISHED' AND attributes.run_name LIKE 'base%'")
    assert visible() == ["baseline"]
    page.fill("#run-filter", "metrics.rmse <")
    error = page.locator("#filter-error")
    assert error.is_visible() and "position 14" in error.inner_text()
    assert "^" in error.inner_text()
    page.fill("#run-filter", "metrics.rmsee < 3.4")  # a key no run has: said, as the CLI says it
    assert error.is_visible()
    assert "no run has metrics.rmsee; did you mean metrics.rmse?" in error.inner_text()
    with pytest.raises(GitrunsError, match=r"did you mean metrics\.rmse"):
        MlflowClient().check_search(["search"], "metrics.rmsee < 3.4")
    page.fill("#run-filter", "params.max_dept > 5")
    assert "did you mean params.max_depth?" in error.inner_text()
    page.fill("#run-filter", "metrics.rmse < 0")  # valid, and no run matches: no empty frames
    note = page.locator("#charted-note")
    note.wait_for(state="visible")
    assert "No run matches this filter" in note.inner_text() and error.is_hidden()
    assert page.locator("section.charts").is_hidden()
    page.fill("#run-filter", "")
    page.locator("section.charts").wait_for(state="visible")
    assert note.is_hidden()
    page.fill("#run-filter", "baseline")  # plain words search text
    assert visible() == ["baseline"] and error.is_hidden()
    page.fill("#run-filter", "")
    # The column chooser finds a column among many.
    page.click("details.columns summary")
    page.fill("input.column-search", "learn")
    labels = page.locator(".chooser label:not([hidden])").all_inner_texts()
    assert [label.split()[-1] for label in labels] == ["learning_rate"]
    # The best value links to its run.
    assert page.locator("a.best").get_attribute("href").endswith(f"{ids['baseline']}.html")
    assert visitor.errors == []
    visitor.close()


def test_one_colour_per_run_and_an_eye_to_hide_it(search_site, browser):
    output, ids = search_site
    visitor = Visitor(browser)
    visitor.open(output / "experiments" / "search.html")
    visitor.charts(3)
    page = visitor.page
    page.click("#expand-all")
    colours = page.evaluate(
        "Object.fromEntries(Object.values(window.GITRUNS).find(d => d.runs).runs"
        ".map(r => [r.id, r.color]))"
    )
    row_colour = page.locator(f"tr[data-id='{ids['depth-6']}']").evaluate(
        "row => row.style.getPropertyValue('--run-color')"
    )
    assert row_colour == colours[ids["depth-6"]]
    assert len(set(colours.values())) == len(colours)  # eight runs, eight colours
    count = "document.querySelector('[data-spec=spec-scatter]').gitrunsView.data('runs').length"
    before = page.evaluate(count)
    page.locator(f"tr[data-id='{ids['depth-6']}'] button.eye").click()
    page.wait_for_function(f"{count} === {before - 1}")
    assert page.locator(f"tr[data-id='{ids['depth-6']}']").is_visible()  # still in the table
    page.locator(f"input.pick[value='{ids['depth-4']}']").check()
    page.locator(f"input.pick[value='{ids['depth-8']}']").check()
    page.wait_for_function(
        "document.querySelector('#selected-histories').gitrunsView && new Set(document"
        ".querySelector('#selected-histories').gitrunsView.data('histories').map(r => r.run))"
        ".size === 2"
    )
    drawn = page.evaluate(
        "[...new Set(document.querySelector('#selected-histories').gitrunsView"
        ".data('histories').map(r => r.color))].sort()"
    )
    assert drawn == sorted([colours[ids["depth-4"]], colours[ids["depth-8"]]])
    assert visitor.errors == []
    visitor.close()


def test_registered_models_have_pages_and_runs_say_so(search_site, browser):
    output, ids = search_site
    visitor = Visitor(browser)
    visitor.open(output / "runs" / f"{ids['depth-8']}.html")
    page = visitor.page
    said = page.locator(".registered-as")
    assert "taxi-model v1 (Production)" in said.inner_text()
    said.locator("a").click()
    page.wait_for_load_state()
    assert page.url.endswith("models/taxi-model/v1.html")
    assert "trial-depth-8" in page.locator("dl.facts-grid").inner_text()
    assert "4.4" in page.locator("table.kv").first.inner_text()
    version_page = page.locator("main").inner_text()
    assert "\tregistered\ttaxi-model@v1.0.0" in version_page  # its history has its registration
    visitor.open(output / "models" / "taxi-model.html")
    assert "trial-depth-8" in page.locator("table.grid").first.inner_text()
    history = page.locator("table.grid").last.inner_text()
    assert "registered v1\t" in history and "registered v1.0.0" not in history
    visitor.open(output / "experiments" / "search.html")
    page.click("#expand-all")
    registered = page.locator(f"tr[data-id='{ids['depth-8']}'] .registered").inner_text()
    assert registered == "taxi-model v1 (Production)"
    # Ids are shown long enough to tell these runs apart.
    shorts = page.locator("#runs td.name code").all_inner_texts()
    assert len(set(shorts)) == len(shorts) and all(len(short) >= 8 for short in shorts)
    assert visitor.errors == []
    visitor.close()


def test_compare_marks_what_differs_and_can_show_only_that(search_site, browser):
    output, ids = search_site
    visitor = Visitor(browser)
    chosen = [ids["depth-6"], ids["depth-8"], ids["depth-12"]]
    visitor.open(output / "compare.html")
    page = visitor.page
    page.goto(page.url + "?runs=" + ",".join(chosen))
    page.wait_for_selector("#comparison tbody tr")
    row = lambda name: page.locator("#comparison tbody tr", has=page.locator("th", has_text=name))  # noqa: E731
    rmse = row("metrics.rmse")
    assert rmse.locator("td.best-value").all_inner_texts() == ["4.4"]  # the best, not the row
    # mae's direction was never declared (only rmse's was): it is shown, not judged
    assert row("metrics.mae").locator("td.best-value").count() == 0
    assert row("params.booster").locator("td.odd-value").all_inner_texts() == ["dart"]
    assert row("params.learning_rate").locator("td.odd-value").count() == 0  # all different
    assert row("params.objective").is_visible()
    page.check("#differences-only")
    assert row("params.objective").is_hidden() and rmse.is_visible()
    colours = page.locator("#comparison thead th").evaluate_all(
        "cells => cells.slice(1).map(c => c.style.getPropertyValue('--run-color'))"
    )
    expected = page.evaluate(
        f"(() => {{ const d = Object.values(window.GITRUNS).find(d => d.runs && d.goal);"
        f" return {chosen!r}.map(id => d.runs.find(r => r.id === id).color); }})()"
    )
    assert colours == expected
    # MLflow's compare views: parallel coordinates and scatters of the chosen runs alone
    for name in ("parallel", "scatter"):
        chart = page.locator(f"[data-compare-chart={name}]")
        page.wait_for_function(
            f"() => document.querySelector('[data-compare-chart={name}]').gitrunsView"
        )
        drawn = chart.evaluate("el => el.gitrunsView.data('runs').map((r) => r.id).sort()")
        assert drawn == sorted(chosen), name
    assert visitor.errors == []
    visitor.close()


# The text marks of a drawn chart, from Vega's scenegraph (the canvas keeps no text).
TEXT_MARKS = """element => {
  const marks = [];
  const walk = (node) => {
    if (!node) return;
    if (node.marktype === 'text') marks.push(node);
    (node.items || []).forEach(walk);
  };
  walk(element.gitrunsView.scenegraph().root);
  return marks;
}"""
TEXTS_IN_CHART = f"element => ({TEXT_MARKS})(element).flatMap(m => m.items.map(i => i.text))"


def test_the_charts_read_well(search_site, browser):
    output, ids = search_site
    visitor = Visitor(browser)
    visitor.open(output / "experiments" / "search.html")
    visitor.charts(4)  # overview, parallel coordinates, scatters, heatmap
    page = visitor.page
    overview = page.locator("[data-spec=spec-overview]")
    runs_in = "el => el.gitrunsView.data('runs').length"
    assert overview.evaluate(runs_in) == 8  # every run, every metric
    page.fill("#run-filter", "params.max_depth >= 8")
    page.wait_for_function(
        "document.querySelector('[data-spec=spec-overview]').gitrunsView.data('runs').length === 4"
    )  # the runs the table shows: three trials and their parent
    page.fill("#run-filter", "")
    # Parallel coordinates: every axis labelled; a log axis in powers of ten; integers whole.
    parallel = page.locator("[data-spec=spec-parallel]")
    page.wait_for_function(
        "document.querySelector('[data-spec=spec-parallel]').gitrunsView.data('runs').length === 8"
    )
    labels = parallel.evaluate(TEXTS_IN_CHART)
    assert {"0.001", "1", "0.0316"} <= set(labels), labels  # learning_rate, on a log axis
    assert {"2", "7", "12"} <= set(labels), labels  # max_depth, as integers
    assert {"4.12", "5"} <= set(labels), labels  # the metric
    assert parallel.evaluate("el => el.gitrunsView.signal('axes')") == ["p1", "p2", "m0"]
    page.click("details.axes summary")
    page.locator("input[data-axis=p1]").uncheck()
    assert parallel.evaluate("el => el.gitrunsView.signal('axes')") == ["p2", "m0"]
    scatter = json.loads(page.locator("#spec-scatter").inner_text())
    x_scales = {
        panel["encoding"]["x"]["title"]: panel["encoding"]["x"] for panel in scatter["concat"]
    }
    assert x_scales["learning_rate"]["scale"]["type"] == "log"
    assert x_scales["max_depth"]["axis"]["format"] == "d"
    heatmap = page.locator("[data-spec=spec-heatmap]")
    heat_labels = heatmap.evaluate(TEXTS_IN_CHART)
    assert "0.001" in heat_labels and "1" in heat_labels, heat_labels  # decades, not 0.0-1.0
    # Histories: pan and zoom, a log scale, smoothing.
    page.click("#expand-all")
    page.locator(f"input.pick[value='{ids['depth-4']}']").check()
    histories = page.locator("#selected-histories")
    page.wait_for_function("document.querySelector('#selected-histories').gitrunsView")
    page.check("[data-history-log]")
    page.select_option("[data-history-smoothing]", "3")
    page.wait_for_function(
        "(() => { const s = document.querySelector('#selected-histories').gitrunsSpec.spec;"
        " return s.encoding.y.scale.type === 'log' && s.encoding.y.field === 'smoothed'; })()"
    )
    bound = histories.evaluate("el => el.gitrunsSpec.params.map(p => p.bind)")
    assert "scales" in bound
    assert visitor.errors == []
    visitor.close()


def test_numbers_read_the_same_on_every_page(search_site, browser):
    output, ids = search_site
    run_page = (output / "runs" / f"{ids['baseline']}.html").read_text()
    assert '<td class="num" title="4.123456789">4.123</td>' in run_page
    visitor = Visitor(browser)
    visitor.open(output / "experiments" / "search.html")
    cell = visitor.page.locator(f"tr[data-id='{ids['baseline']}'] td[data-col='metric-0']")
    assert (cell.inner_text(), cell.get_attribute("title")) == ("4.123", "4.123456789")
    visitor.close()
    experiment_page = (output / "experiments" / "search.html").read_text()
    assert 'title="4.123456789 in baseline">4.123</a>' in experiment_page  # the best, linked
    home = (output / "index.html").read_text()
    assert f'runs/{ids["baseline"]}.html" title="4.123456789">4.123</a>' in home


FILTERS = [
    "metrics.rmse < 4.6",
    "metrics.rmse < 4.6 AND params.max_depth > 5",
    "params.max_depth IN ('2', '4') OR metrics.mae < 3.2",
    "(params.booster = 'dart' OR params.learning_rate >= 0.3) AND metrics.rmse > 0",
    "params.objective LIKE 'reg:%' AND NOT_A_KEYWORD_IS_A_FIELD.x = 1",
    "attributes.run_name ILIKE 'TRIAL%' AND params.max_depth != '8'",
    "params.booster IS NULL",
    "params.learning_rate = '1.0' OR params.learning_rate = '0.001'",
    "params.booster IS NOT NULL AND metrics.`mae` <= 3.5",
    "metrics.rmse <",
    "metrics.rmse < 'text'",
    "params.x LIKE 5",
    "attributes.nope = 'x'",
    "(metrics.rmse < 5",
]


def test_the_search_box_and_the_cli_read_filters_alike(search_site, browser):
    """Each filter finds the same runs in the page as in Python, or fails at the same place."""
    output, _ids = search_site
    visitor = Visitor(browser)
    visitor.open(output / "experiments" / "search.html")
    page = visitor.page
    client = MlflowClient()
    for text in FILTERS:
        try:
            expected = sorted(run.info.run_id for run in client.search_runs(["search"], text))
        except GitrunsError as error:
            expected = re.search(r"at position (\d+)", error.message).group(1)
        found = page.evaluate(
            """text => {
              const dataset = Object.values(window.GITRUNS).find((d) => d.runs && d.goal);
              let predicate;
              try { predicate = window.gitrunsFilter.parse(text); }
              catch (error) { return String(error.position); }
              return dataset.runs.filter((run) => {
                const params = {}, metrics = {}, raw = run.raw || {};
                dataset.params.forEach((k, i) => {
                  const v = run['p' + i];
                  if (v != null) params[k] = ('p' + i) in raw ? raw['p' + i] : String(v);
                });
                dataset.metrics.forEach((k, i) => {
                  if (run['m' + i] != null) metrics[k] = run['m' + i];
                });
                return predicate({ id: run.id, name: run.name, status: run.status, user: run.user,
                  start: run.start, end: run.end, params, metrics, tags: run.tags });
              }).map((run) => run.id).sort();
            }""",
            text,
        )
        assert found == expected, text
    visitor.close()


def test_a_table_of_thousands_draws_only_the_rows_in_view(repo: Path, browser):
    mlflow.set_experiment("many", primary_metric="rmse")
    names = {}
    for index in range(2000):
        with mlflow.start_run(run_name=f"run-{index:04d}") as run:
            mlflow.log_params({"seed": index})
            mlflow.log_metric("rmse", 1000.0 + (index * 7919) % 2000)  # a shuffled 1000..2999
            names[index] = run.info.run_id
    build_site(repo / "runs", repo / "site")
    visitor = Visitor(browser)
    visitor.open(repo / "site" / "experiments" / "many.html")
    page = visitor.page
    drawn = lambda: page.locator("#runs tbody tr[data-id] td.name a").all_inner_texts()  # noqa: E731
    assert "2,000 runs" in page.locator("p.facts").inner_text()
    first = drawn()
    assert 20 <= len(first) <= 150 and first[0] == "run-1999"  # newest first
    # Scrolled to the end, the oldest run is drawn, and the page holds no more rows than before.
    page.locator(".table-wrap").evaluate("wrap => { wrap.scrollTop = wrap.scrollHeight; }")
    page.wait_for_function(
        "Array.from(document.querySelectorAll('#runs td.name a'))"
        ".some(a => a.textContent === 'run-0000')"
    )
    assert len(drawn()) <= 150
    # Sorting and filtering work on every run, not only on those drawn.
    page.locator(".table-wrap").evaluate("wrap => { wrap.scrollTop = 0; }")
    page.locator("#runs th[title='metrics.rmse']").click()
    page.wait_for_function(
        "document.querySelector('#runs td[data-col=metric-0]').textContent === '1000'"
    )
    page.fill("#run-filter", "params.seed = '1234'")
    page.wait_for_function("document.querySelectorAll('#runs tbody tr[data-id]').length === 1")
    assert drawn() == ["run-1234"]
    page.fill("#run-filter", "")
    page.locator(f"input.pick[value='{names[0]}']").check()
    page.locator(".table-wrap").evaluate("wrap => { wrap.scrollTop = wrap.scrollHeight; }")
    page.locator(".table-wrap").evaluate("wrap => { wrap.scrollTop = 0; }")
    page.wait_for_selector(f"input.pick[value='{names[0]}']")
    assert page.locator(f"input.pick[value='{names[0]}']").is_checked()  # kept while away
    assert not visitor.errors
    visitor.close()


def test_a_model_named_as_in_mlflows_docs_gets_its_pages(repo: Path, browser):
    mlflow.set_experiment("docs")
    with mlflow.start_run() as run:
        mlflow.log_text("weights", "model/MLmodel")
    mlflow.register_model(f"runs:/{run.info.run_id}/model", "SklearnLinearRegression")
    build_site(repo / "runs", repo / "site")
    pages = sorted(path.name for path in (repo / "site" / "models").glob("*.html"))
    assert pages == ["mlflow-b32-knvwyzlbojxey2lomvqxeutfm5zgk43tnfxw4.html"]
    visitor = Visitor(browser)
    visitor.open(repo / "site" / "models.html")
    visitor.page.get_by_role("link", name="SklearnLinearRegression").first.click()
    visitor.page.wait_for_load_state("load")
    assert "SklearnLinearRegression" in visitor.page.locator("h1").inner_text()
    assert not visitor.errors
    visitor.close()


def test_the_site_stays_small_whatever_a_run_holds(repo: Path, browser):
    mlflow.set_experiment("huge", primary_metric="loss")
    long_name = "a-very-long-run-name-" * 12  # 252 characters
    with mlflow.start_run(run_name=long_name[:240]) as big:
        mlflow.log_metric("loss", 1.0)
    with mlflow.start_run(run_name="short"):
        mlflow.log_metric("loss", 2.0)
        mlflow.log_param("alpha", 1)
    # A million values, as a branch could commit them (logging them costs far longer).
    run_dir = repo / "runs" / "huge" / big.info.run_id
    rows = [
        f"{step}\t{1_700_000_000_000 + step}\t{math.sin(step / 500) + step % 3}\n"
        for step in range(1_000_000)
    ]
    (run_dir / "metrics.tsv").write_text("step\ttimestamp\tloss\n" + "".join(rows))
    artifacts = run_dir / "artifacts"
    artifacts.mkdir()
    for index in range(1_200):
        (artifacts / f"shard-{index:05d}.txt").write_text(f"shard {index}\n" * 50)

    build_site(repo / "runs", repo / "site")

    history = repo / "site" / "data" / "runs" / f"{big.info.run_id}.js"
    assert history.stat().st_size < 2_000_000  # a million points: a chart's worth
    page_file = repo / "site" / "runs" / f"{big.info.run_id}.html"
    assert page_file.stat().st_size < 2_000_000
    pages = sorted((repo / "site" / "runs" / big.info.run_id).glob("artifacts-*.html"))
    assert [p.name for p in pages] == ["artifacts-2.html", "artifacts-3.html"]

    visitor = Visitor(browser)
    visitor.open(page_file)
    page = visitor.page
    note = page.locator("p.downsampled").inner_text()
    assert "of the 1,000,000 values" in note and "metrics.tsv" in note
    assert "Artifacts 1\u2013500 of 1200" in page.locator("nav.pager").first.inner_text()
    assert page.locator("details.artifact").count() == 500
    page.locator("nav.pager").first.get_by_role("link", name="3").click()
    page.wait_for_load_state("load")
    assert page.url.endswith("artifacts-3.html#artifacts")
    assert page.locator("details.artifact summary").first.inner_text().startswith("shard-01000")
    page.locator("details.artifact summary a").first.click()  # the download link resolves
    assert not visitor.errors

    # A 240-character name is cut in the pinned Run column; every header stays clickable.
    visitor.open(repo / "site" / "experiments" / "huge.html")
    page.wait_for_selector("#runs tbody tr[data-id]")
    run_column = page.locator("#runs th.name").bounding_box()
    assert run_column is not None and run_column["width"] <= 400
    cut = page.locator(f"#runs tr[data-id='{big.info.run_id}'] a.run-name")
    assert cut.get_attribute("title") == long_name[:240]
    for header in page.locator("#runs thead th[data-key]").all():
        box = header.bounding_box()
        if box is None or box["x"] + box["width"] / 2 > 1300:
            continue
        covering = page.evaluate(
            "([x, y]) => document.elementFromPoint(x, y).closest('th')?.dataset.key",
            [box["x"] + box["width"] / 2, box["y"] + box["height"] / 2],
        )
        assert covering == header.get_attribute("data-key")
    assert not visitor.errors
    visitor.close()


def test_a_version_naming_a_run_the_site_has_not_is_text_not_a_link(repo: Path):
    with mlflow.start_run():
        mlflow.log_metric("rmse", 1.0)
    client = MlflowClient()
    client.create_model_version("taxi", "s3://bucket/models/taxi", run_id="../../escape")
    output = repo / "site"
    build_site(repo / "runs", output)
    page = (output / "models.html").read_text()
    assert "../../escape" in page and "(not in runs/)" in page  # shown, escaped by jinja
    assert 'runs/../../escape.html"' not in page
    assert not any("escape" in href for href in re.findall(r'href="([^"]*)"', page))


def test_an_experiment_with_many_params_fits_a_1400_px_screen(repo: Path, browser):
    mlflow.set_experiment("wide", primary_metric="rmse")
    for index in range(8):
        with mlflow.start_run():
            mlflow.log_params(
                {
                    name: index * factor
                    for factor, name in enumerate(
                        (
                            "max_depth",
                            "learning_rate",
                            "min_child_weight",
                            "reg_alpha",
                            "reg_lambda",
                            "subsample",
                            "gamma",
                        ),
                        start=1,
                    )
                }
            )
            mlflow.log_metric("rmse", 0.7930 + index / 10_000)  # values that crowd an axis
            mlflow.log_metric("best_iteration", 44 + index * 8)  # ticks at a step of 5 or 10
    build_site(repo / "runs", repo / "site")
    visitor = Visitor(browser)
    visitor.page.set_viewport_size({"width": 1400, "height": 900})
    visitor.open(repo / "site" / "experiments" / "wide.html")
    visitor.charts(3)
    page = visitor.page
    assert page.evaluate("document.documentElement.scrollWidth") <= 1400
    widths = page.locator("figure").evaluate_all(
        "fs => fs.map(f => f.getBoundingClientRect().right)"
    )
    assert max(widths) <= 1400
    for chart in page.locator("[data-spec]").all():
        labels = chart.evaluate(AXIS_LABELS)
        assert labels, chart.get_attribute("data-spec")
        for axis in labels:
            texts = [label["text"] for label in axis]
            assert not [text for text in texts if "e+" in text], texts  # 100, not 1e+2
            boxes = sorted((label["x1"], label["x2"], label["y1"], label["y2"]) for label in axis)
            for (ax1, ax2, ay1, ay2), (bx1, bx2, by1, by2) in itertools.combinations(boxes, 2):
                apart = ax2 <= bx1 or bx2 <= ax1 or ay2 <= by1 or by2 <= ay1
                assert apart, f"labels {texts} run into each other"
    assert visitor.errors == []
    visitor.close()


# The tick labels a reader sees on each axis of a chart, with their boxes on the canvas
# (labels Vega hid to avoid an overlap have opacity 0).
AXIS_LABELS = f"""element => ({TEXT_MARKS})(element)
  .filter((mark) => mark.role === 'axis-label')
  .map((mark) => mark.items.filter((i) => i.opacity !== 0).map((i) => ({{
    text: String(i.text), x1: i.bounds.x1, x2: i.bounds.x2, y1: i.bounds.y1, y2: i.bounds.y2,
  }})))"""


def test_overlaid_histories_have_a_legend_a_dash_each_and_colours_of_their_own(repo: Path, browser):
    mlflow.set_experiment("many-colours", primary_metric="rmse")
    ids = []
    for index in range(21):  # the palette has 20 colours: the 1st and the 21st share one
        with mlflow.start_run(run_name="same" if index in (0, 20) else f"run-{index}") as run:
            for step in range(5):
                mlflow.log_metric("validation-rmse", 5.0 - step, step=step)  # identical curves
            mlflow.log_metric("rmse", 1.0 + index)
        ids.append(run.info.run_id)
    build_site(repo / "runs", repo / "site")
    visitor = Visitor(browser)
    visitor.open(repo / "site" / "compare.html", f"?runs={ids[0]},{ids[20]}")
    page = visitor.page
    page.wait_for_selector("#comparison tbody tr")
    colours = page.locator("#comparison thead th").evaluate_all(
        "cells => cells.slice(1).map(c => c.style.getPropertyValue('--run-color'))"
    )
    assert len(set(colours)) == 2, colours  # not the palette's repeat
    chart = page.locator("#compare-histories .chart")
    page.wait_for_function(
        "() => document.querySelector('#compare-histories .chart').gitrunsView", timeout=10_000
    )
    texts = chart.evaluate(TEXTS_IN_CHART)
    told = sorted(text for text in texts if text.startswith("same"))
    assert len(set(told)) == 2, texts  # a legend, the shared name told apart by the id
    assert ids[0][:12] in told[0] and ids[20][:12] in told[1], told
    dashes = chart.evaluate(
        """el => { const found = new Set(); const walk = (n) => { if (!n) return;
          if (n.marktype === 'line') n.items.forEach((i) => found.add(String(i.strokeDash)));
          (n.items || []).forEach(walk); }; walk(el.gitrunsView.scenegraph().root);
          return Array.from(found); }"""
    )
    assert len(dashes) >= 2, dashes  # the two identical curves are drawn differently
    assert visitor.errors == []
    visitor.close()


def test_a_run_page_shows_its_metric_charts_in_the_first_screen(search_site, browser):
    output, ids = search_site
    visitor = Visitor(browser)
    visitor.page.set_viewport_size({"width": 1400, "height": 900})
    visitor.open(output / "runs" / f"{ids['depth-8']}.html")
    page = visitor.page
    page.wait_for_selector("[data-run-histories] canvas")
    bottom = page.evaluate(
        "document.querySelector('[data-run-histories] canvas').getBoundingClientRect().bottom"
    )
    assert bottom <= 900  # as MLflow's run page: the curves before any scrolling
    params = page.evaluate("document.querySelector('h2 + table.kv').getBoundingClientRect().top")
    assert params > bottom  # the params table follows the charts
    assert visitor.errors == []
    visitor.close()


def test_keys_named_like_javascripts_own_are_plain_keys(repo: Path, browser):
    """A tag named __proto__, a param named constructor, a metric named toString: in the
    page they are keys like any other (shown, filtered on, compared), and a run that lacks
    them lacks them; nothing of JavaScript's objects shows through."""
    mlflow.set_experiment("keys")
    with mlflow.start_run(run_name="odd") as odd:
        mlflow.set_tags({"__proto__": "tag-value", "hasOwnProperty": "h"})
        mlflow.log_params({"constructor": "c1", "alpha": "0.1"})
        mlflow.log_metrics({"toString": 1.5, "rmse": 2.0})
    with mlflow.start_run(run_name="plain") as plain:
        mlflow.log_params({"alpha": "0.2"})
        mlflow.log_metrics({"rmse": 3.0})
    output = repo / "site"
    build_site(repo / "runs", output)
    visitor = Visitor(browser)
    visitor.open(output / "experiments" / "keys.html")
    page = visitor.page
    names = lambda: sorted(page.locator("#runs tbody tr:not([hidden]) td.name a").all_inner_texts())  # noqa: E731
    assert names() == ["odd", "plain"]
    for text, expected in [
        ("tags.__proto__ = 'tag-value'", ["odd"]),
        ("tags.hasOwnProperty = 'h'", ["odd"]),
        ("params.constructor = 'c1'", ["odd"]),
        ("params.constructor != 'c1'", []),  # "plain" has no such param: it matches nothing
        ("metrics.toString > 1", ["odd"]),
        ("metrics.toString < 1", []),
    ]:
        page.fill("input[data-filter-for=runs]", text)
        assert names() == expected, text
        expected_ids = sorted(r.info.run_id for r in MlflowClient().search_runs(["keys"], text))
        assert expected_ids == sorted({"odd": odd, "plain": plain}[n].info.run_id for n in expected)
    page.fill("input[data-filter-for=runs]", "")
    page.locator(f"input.pick[value='{odd.info.run_id}']").check()
    page.locator(f"input.pick[value='{plain.info.run_id}']").check()
    page.click("#compare")
    page.wait_for_selector("#comparison tr[data-differs='1']")
    compared = page.locator("#comparison").inner_text()
    for shown in ("params.constructor", "c1", "metrics.toString", "1.5"):
        assert shown in compared, shown
    assert page.evaluate("Object.getPrototypeOf({}) === Object.prototype && !('c1' in {})")
    assert visitor.errors == []
    visitor.close()
