"""A pull request is untrusted input: crafted records, links and files in runs/.

Each test writes what a hostile branch could commit, then checks that listing,
searching and building the site stay inside their folders, cost bounded time,
report the bad file once, and keep every other run.
"""

from __future__ import annotations

import contextlib
import http.client
import json
import logging
import os
import shutil
import time
from pathlib import Path

import pytest

import gitruns
from gitruns import MlflowClient
from gitruns.exceptions import CorruptRecord
from gitruns.site import CHROMIUM_ARGS, build_site
from gitruns.site.output import MANIFEST, ForeignOutputFolder
from gitruns.store.folder import RunStore
from tests.conftest import make_repo

CHROMIUM = "/usr/bin/chromium"


@pytest.fixture()
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = make_repo(tmp_path / "project")
    monkeypatch.chdir(path)
    gitruns.set_tracking_uri(str(path / "runs"))
    return path


def good_run(name: str = "good") -> tuple[str, Path]:
    gitruns.set_experiment("taxi")
    with gitruns.start_run(run_name=name) as run:
        gitruns.log_metric("rmse", 5.0)
        gitruns.log_text("fine", "notes.txt")
    folder = next(Path("runs").glob(f"*/{run.info.run_id}"))
    return run.info.run_id, folder.resolve()


def forged_run(experiment_dir: Path, record: str) -> Path:
    """A run folder with a valid id name holding ``record`` as its run.yaml."""
    folder = experiment_dir / ("f" * 32)
    folder.mkdir(parents=True)
    (folder / "run.yaml").write_text(record)
    return folder


def site_files(output: Path) -> set[str]:
    return {path.relative_to(output).as_posix() for path in output.rglob("*") if path.is_file()}


def listed_ids() -> set[str]:
    runs = MlflowClient().search_runs(
        [e.experiment_id for e in MlflowClient().search_experiments()]
    )
    return {run.info.run_id for run in runs}


def test_a_record_claiming_another_folder_is_skipped_and_never_a_path(project: Path, caplog):
    good_id, good_folder = good_run()
    victim = project.parent / "victim"
    forged = forged_run(
        good_folder.parent,
        'schema: 1\nid: "../../victim/.ssh"\nname: x\nexperiment: "../../artifacts/x/notes.txt?"\n'
        "status: FINISHED\nstart_time: 2024-01-01T00:00:00Z\n",
    )
    with caplog.at_level(logging.WARNING):
        report = build_site(project / "runs", project / "site")
    assert not victim.exists()
    assert not any(".ssh" in name or "victim" in name for name in site_files(project / "site"))
    assert report.runs == 1 and listed_ids() == {good_id}
    warnings = [r.getMessage() for r in caplog.records if str(forged) in r.getMessage()]
    assert len(warnings) == 1 and "lives in" in warnings[0]
    index = (project / "site" / "data" / "index.js").read_text()
    assert "notes.txt" not in index and "victim" not in index


def test_links_in_a_run_are_never_read_or_published(project: Path):
    _, folder = good_run()
    secret = project / ".git" / "config"
    os.symlink("../../../.git/config", folder / "artifacts" / "config.txt")
    os.symlink(secret, folder / "artifacts" / "absolute.txt")
    os.symlink(project / ".git", folder / "artifacts" / "gitdir")
    os.symlink(secret, folder / "code.diff")
    (folder / "metrics.tsv").unlink()
    os.symlink("/dev/zero", folder / "metrics.tsv")
    build_site(project / "runs", project / "site")
    published = site_files(project / "site")
    assert not any("config" in name or "gitdir" in name for name in published)
    config_text = secret.read_text()
    for name in published:
        if name.endswith(".html"):
            assert "repositoryformatversion" not in (project / "site" / name).read_text()
    assert "[core]" not in config_text or all(
        "[core]" not in (project / "site" / n).read_text(errors="replace")
        for n in published
        if n.startswith("runs/")
    )
    listing = MlflowClient().list_artifacts(folder.name)
    assert [info.path for info in listing] == ["notes.txt"]


def test_log_artifacts_never_copies_a_link_from_outside_the_folder(project: Path, tmp_path):
    outside = tmp_path / "private.txt"
    outside.write_text("private")
    logged = project / "out"
    (logged / "sub").mkdir(parents=True)
    (logged / "report.txt").write_text("report")
    os.symlink(outside, logged / "leak.txt")
    os.symlink(tmp_path, logged / "sub" / "everything")
    os.symlink("../report.txt", logged / "sub" / "same-report.txt")  # inside: copied
    with gitruns.start_run() as run:
        gitruns.log_artifacts(str(logged))
    artifacts = next(Path("runs").glob(f"*/{run.info.run_id}")) / "artifacts"
    files = sorted(p.relative_to(artifacts).as_posix() for p in artifacts.rglob("*"))
    assert files == ["report.txt", "sub", "sub/same-report.txt"]
    assert not any(p.is_symlink() for p in artifacts.rglob("*"))


@pytest.mark.skipif(not os.path.exists(CHROMIUM), reason="Debian's chromium is not installed")
def test_only_inert_artifacts_are_served_as_themselves(project: Path):
    from playwright.sync_api import sync_playwright

    script = "<script>window.parent.__pwned = 1; window.__pwned = 1</script>"
    payloads = {
        "plot.svg": f'<svg xmlns="http://www.w3.org/2000/svg">{script}</svg>',
        "plot.svgz": f'<svg xmlns="http://www.w3.org/2000/svg">{script}</svg>',
        "page.xht": f'<html xmlns="http://www.w3.org/1999/xhtml"><body>{script}</body></html>',
        "page.shtml": f"<html>{script}</html>",
        "page.xhtml": f'<html xmlns="http://www.w3.org/1999/xhtml">{script}</html>',
        "feed.xml": f'<x xmlns:h="http://www.w3.org/1999/xhtml"><h:script>{script}</h:script></x>',
        "app.mjs": "window.__pwned = 1",
        "data.csv": "a,b\n1,2\n",
    }
    with gitruns.start_run() as run:
        for name, text in payloads.items():
            gitruns.log_text(text, name)
    output = project / "site"
    build_site(project / "runs", output)
    copied = {p.name for p in (output / "artifacts" / run.info.run_id).iterdir()}
    assert copied == {f"{name}.txt" for name in payloads if name != "data.csv"} | {"data.csv"}
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=list(CHROMIUM_ARGS))
        page = browser.new_page()
        page.goto((output / "runs" / f"{run.info.run_id}.html").as_uri())
        links = page.eval_on_selector_all(
            "a[download]", "els => els.map(e => [e.getAttribute('href'), e.download])"
        )
        assert sorted(download for _, download in links) == sorted(payloads)
        for href, _ in links:
            target = page.url.rsplit("/", 1)[0] + "/" + href
            opened = browser.new_page()
            opened.on("download", lambda download: download.cancel())
            with contextlib.suppress(Exception):  # a download instead of a page is fine
                opened.goto(target)
            assert opened.evaluate("window.__pwned") is None, href
            opened.close()
        assert page.evaluate("window.__pwned") is None
        browser.close()


def test_site_deletes_only_files_it_wrote_and_refuses_foreign_folders(project: Path):
    good_run()
    output = project / "site"
    build_site(project / "runs", output)
    victim = project / "victim.txt"
    victim.write_text("keep me")
    manifest = json.loads((output / MANIFEST).read_text())
    manifest["files"]["../victim.txt"] = ["x", "y"]
    manifest["files"]["/etc/hostname"] = ["x", "y"]
    (output / "stray.html").write_text("mine")
    manifest["files"]["stray.html"] = ["x", "not-its-digest"]
    (output / MANIFEST).write_text(json.dumps(manifest))
    build_site(project / "runs", output)
    assert victim.read_text() == "keep me"
    assert (output / "stray.html").read_text() == "mine"  # changed since written: kept

    foreign = project / "docs"
    foreign.mkdir()
    (foreign / "index.html").write_text("the user's own page")
    with pytest.raises(ForeignOutputFolder, match="did not write"):
        build_site(project / "runs", foreign)
    assert (foreign / "index.html").read_text() == "the user's own page"
    assert sorted(p.name for p in foreign.iterdir()) == ["index.html"]


def test_hostile_files_cost_bounded_time_and_hide_nothing_else(project: Path, caplog):
    good_id, good_folder = good_run()
    experiment_dir = good_folder.parent
    laughs = "a: &a [x, x, x, x, x, x, x, x, x, x]\n" + "".join(
        f"{chr(98 + i)}: &{chr(98 + i)} [*{chr(97 + i)}, *{chr(97 + i)}, *{chr(97 + i)}, "
        f"*{chr(97 + i)}, *{chr(97 + i)}, *{chr(97 + i)}, *{chr(97 + i)}, *{chr(97 + i)}, "
        f"*{chr(97 + i)}, *{chr(97 + i)}]\n"
        for i in range(8)
    )
    laughs_folder = forged_run(experiment_dir, laughs)
    zero_folder = experiment_dir / ("e" * 32)
    zero_folder.mkdir()
    os.symlink("/dev/zero", zero_folder / "run.yaml")
    (good_folder / "metrics.tsv").write_bytes(b"step\ttimestamp\tbad\n0\t1\t\xff\xfe\n1\t2\t3.0\n")
    broken = project / "runs" / "broken"
    broken.mkdir()
    (broken / "experiment.yaml").write_text("name: [unclosed\n")
    odd = project / "runs" / "Odd Name!"
    odd.mkdir()
    (odd / "experiment.yaml").write_text("name: odd\n")
    started = time.monotonic()
    with caplog.at_level(logging.WARNING):
        assert listed_ids() == {good_id}
        assert listed_ids() == {good_id}  # a second pass reports nothing new
        report = build_site(project / "runs", project / "site")
    assert time.monotonic() - started < 20
    assert report.runs == 1 and report.experiments == 1
    messages = [record.getMessage() for record in caplog.records]
    for path in (laughs_folder / "run.yaml", zero_folder / "run.yaml", broken, odd):
        assert sum(str(path) in message for message in messages) == 1, (path, messages)
    assert any("aliases" in message for message in messages)
    assert (project / "site" / "runs" / f"{good_id}.html").exists()
    assert MlflowClient().get_metric_history(good_id, "bad")[-1].value == 3.0
    assert {e.name for e in MlflowClient().search_experiments()} == {"Default", "taxi"}
    assert [id_ for id_, _ in RunStore(project / "runs").readable_experiments()] == ["taxi"]


def test_ui_answers_only_localhost_names(project: Path):
    from gitruns.site.serve import serve

    good_run()
    server = serve(project / "runs", project / "site", port=0)
    port = server.server_address[1]
    try:

        def status(host: str) -> int:
            connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
            connection.request("GET", "/index.html", headers={"Host": host})
            answer = connection.getresponse()
            answer.read()
            connection.close()
            return answer.status

        assert status(f"localhost:{port}") == 200
        assert status(f"127.0.0.1:{port}") == 200
        assert status(f"attacker.example:{port}") == 403
        assert status("localhost.attacker.example") == 403
        assert status("") == 403
    finally:
        server.shutdown()
        server.server_close()
        shutil.rmtree(project / "site", ignore_errors=True)


def test_cli_prints_user_text_as_text(project: Path):
    import subprocess

    from tests.conftest import installed_command

    gitruns.set_experiment("taxi [bold]x[/]")
    for name in ("[/]", "[red]alarm[/red]", "clear\x1b[2J\x1b]0;title\x07"):
        with gitruns.start_run(run_name=name):
            gitruns.log_param("path", "[/]")
    gitruns_command = installed_command("gitruns")
    for command in (["runs", "list"], ["experiments", "list"]):
        result = subprocess.run(
            [gitruns_command, *command], capture_output=True, text=True, cwd=project, timeout=60
        )
        assert result.returncode == 0, result.stderr
        assert "\x1b" not in result.stdout and "\x07" not in result.stdout
    listing = subprocess.run(
        [gitruns_command, "runs", "list", "--experiment", "taxi [bold]x[/]"],
        capture_output=True,
        text=True,
        cwd=project,
        timeout=60,
    ).stdout
    assert "[/]" in listing and "[red]alarm[/red]" in listing and "clear\\x1b[2J" in listing


def test_a_crafted_index_cache_or_ignore_file_changes_nothing(project: Path):
    good_id, _ = good_run()
    assert listed_ids() == {good_id}  # writes the cache
    (cache,) = (project / "runs" / ".index").glob("*/entries.jsonl")
    entry = json.loads(cache.read_text())
    entry[0] = "../../victim"
    cache.write_text(json.dumps(entry) + "\n")  # same length or not, the id is checked
    assert listed_ids() == {good_id}
    cache.unlink()
    os.symlink("/dev/zero", cache)
    state = cache.parent / "state.json"
    state.unlink()
    os.symlink("/dev/zero", state)
    ignore = project / "runs" / ".gitignore"
    ignore.unlink()
    os.symlink("/dev/zero", ignore)
    started = time.monotonic()
    assert listed_ids() == {good_id}
    with gitruns.start_run():
        pass
    assert time.monotonic() - started < 10


def test_logging_to_a_run_never_writes_through_a_link_in_it(project: Path):
    _, folder = good_run()
    victim = project.parent / "victim.txt"
    victim.write_text("mine\n")
    os.symlink(victim, folder / "metrics.log")
    with pytest.raises(CorruptRecord, match="symbolic link"):
        gitruns.MlflowClient().log_metric(folder.name, "loss", 1.0)
    assert victim.read_text() == "mine\n"


@pytest.mark.parametrize("where", ["runs/.index", "runs/.index/EXPERIMENT"])
def test_a_committed_link_in_the_index_cache_makes_no_search_write_outside_it(
    project: Path, where: str
):
    from tests.conftest import git

    good_id, folder = good_run()
    experiment = folder.parent.name
    victim = project.parent / "victim"
    victim.mkdir()
    (victim / "state.json").write_text("precious\n")
    (victim / "keep.txt").write_text("mine\n")
    cache = project / "runs" / ".index"
    shutil.rmtree(cache, ignore_errors=True)
    link = project / where.replace("EXPERIMENT", experiment)
    link.parent.mkdir(parents=True, exist_ok=True)
    os.symlink(victim, link)
    git(project, "add", "-f", "runs")  # as a branch would commit it
    git(project, "commit", "-qm", "a branch's runs, with a link for a cache")

    assert listed_ids() == {good_id}
    results = MlflowClient().search_runs([folder.parent.name], "metrics.rmse < 6")
    assert [run.info.run_id for run in results] == [good_id]

    assert sorted(p.name for p in victim.iterdir()) == ["keep.txt", "state.json"]
    assert (victim / "state.json").read_text() == "precious\n"
    assert not link.is_symlink() and link.is_dir()  # the link itself made way for the cache

    # Committing runs takes the cache out of git, and never puts it back.
    from gitruns.store.repo import commit_runs

    with gitruns.start_run():
        pass
    commit_runs(project / "runs")
    assert git(project, "ls-files", "runs/.index") == ""
    assert (cache / experiment / "state.json").is_file()  # still there, as a cache


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("name", "[a, b]"),
        ("status", "{x: 1}"),
        ("params", "[1, 2]"),
        ("user", "{who: me}"),
        ("tags", "{note: [1, 2]}"),
        ("source", "[python]"),
    ],
)
def test_a_field_of_the_wrong_type_skips_that_run_alone(project: Path, field: str, value: str):
    from click.testing import CliRunner

    from gitruns.cli import cli

    good_id, _ = good_run("good")
    bad_id, bad_folder = good_run("bad")
    record = bad_folder / "run.yaml"
    lines = [line for line in record.read_text().splitlines() if not line.startswith(f"{field}:")]
    record.write_text("\n".join(lines) + f"\n{field}: {value}\n")
    other = project / "runs" / "other-exp"
    other.mkdir()
    (other / "experiment.yaml").write_text("schema: 1\nname: other\ndescription: [not, text]\n")

    runner = CliRunner()
    listed = runner.invoke(cli, ["runs", "list", "-e", "taxi", "--runs-dir", "runs"])
    experiments = runner.invoke(cli, ["experiments", "list", "--runs-dir", "runs"])
    assert listed.exit_code == 0 and experiments.exit_code == 0, listed.output
    names = [line.split("│")[2].strip() for line in listed.output.splitlines() if "│" in line]
    assert names == ["good"]
    assert "taxi" in experiments.output and "other" not in experiments.output.split("┃")[-1]
    assert "Traceback" not in listed.output + experiments.output
    build_site(project / "runs", project / "site")
    assert (project / "site" / "runs" / f"{good_id}.html").exists()
    assert not (project / "site" / "runs" / f"{bad_id}.html").exists()
