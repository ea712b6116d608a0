"""Pull-request reviews against a real base branch."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

import gitruns as mlflow
from gitruns.cli import cli
from gitruns.exceptions import GitError
from gitruns.review import GITHUB_LIMIT, MARKER, render_markdown, review
from tests.conftest import git


def log(rmse: float, **params) -> str:
    with mlflow.start_run(run_name=f"rmse-{rmse}") as run:
        mlflow.log_params(params)
        mlflow.log_metric("rmse", rmse)
    return run.info.run_id


@pytest.fixture()
def branch(repo: Path) -> dict[str, str]:
    """main has two runs; the branch 'tune' adds two more, one better than main's best."""
    mlflow.set_experiment("taxi", primary_metric="rmse")
    ids = {"base-best": log(5.0, alpha=0.1), "base-worse": log(6.0, alpha=1.0)}
    git(repo, "add", "runs")
    git(repo, "commit", "-qm", "runs on main")
    git(repo, "checkout", "-q", "-b", "tune")
    ids["better"] = log(4.5, alpha=0.05)
    ids["worse"] = log(5.5, alpha=0.1, depth=3)
    return ids


def test_review_compares_added_runs_with_the_base_best(repo: Path, branch: dict[str, str]):
    result = review(repo / "runs", "main")
    (experiment,) = result.experiments
    assert experiment.base_best.id == branch["base-best"] and experiment.base_best.value == 5.0
    by_id = {run.id: run for run in experiment.added}
    assert set(by_id) == {branch["better"], branch["worse"]}
    assert by_id[branch["better"]].beats is True and by_id[branch["better"]].delta == pytest.approx(
        -0.5
    )
    assert by_id[branch["worse"]].beats is False
    assert by_id[branch["better"]].differing == {"alpha": ("0.1", "0.05")}
    assert by_id[branch["worse"]].differing == {"depth": (None, "3")}
    text = render_markdown(review(repo / "runs", "main", site_url="https://me.github.io/p/"))
    assert text.startswith(MARKER)
    assert "beats the base" in text and "```mermaid" in text and "xychart-beta" in text
    # Base runs are on the published site; the branch's runs only after the merge.
    assert f"https://me.github.io/p/runs/{branch['base-best']}.html" in text
    assert f"https://me.github.io/p/runs/{branch['better']}.html" not in text


def test_each_new_run_is_compared_with_the_base_best_of_its_kind(repo: Path):
    mlflow.set_experiment("taxi", primary_metric="rmse")
    with mlflow.start_run(run_name="ridge"):
        mlflow.set_tag("model", "ridge")
        mlflow.log_params({"alpha": 1.0})
        mlflow.log_metric("rmse", 4.0)
    with mlflow.start_run(run_name="xgb-base") as xgb_base:
        mlflow.set_tag("model", "xgboost")
        mlflow.log_params({"max_depth": 6, "eta": 0.3, "seed": 1})
        mlflow.log_metric("rmse", 5.0)
    git(repo, "add", "runs")
    git(repo, "commit", "-qm", "base runs")
    git(repo, "checkout", "-q", "-b", "deeper")
    with mlflow.start_run(run_name="xgb-deeper"):
        mlflow.set_tag("model", "xgboost")
        mlflow.log_params({"max_depth": 9, "eta": 0.3, "seed": 1, "subsample": 0.8})
        mlflow.log_metric("rmse", 4.5)
    with mlflow.start_run(run_name="lasso"):
        mlflow.set_tag("model", "lasso")
        mlflow.log_metric("rmse", 4.2)
    result = review(repo / "runs", "main")
    by_name = {run.name: run for run in result.experiments[0].added}
    deeper = by_name["xgb-deeper"]
    assert deeper.baseline.id == xgb_base.info.run_id and deeper.same_kind and deeper.beats
    assert list(deeper.differing) == ["max_depth", "subsample"]  # the changed param first
    lasso = by_name["lasso"]
    assert lasso.baseline.name == "ridge" and not lasso.same_kind and lasso.beats is False
    text = render_markdown(result)
    assert "(best; none of its kind)" in text
    with pytest.raises(GitError, match="Did you mean 'rmse'"):
        review(repo / "runs", "main", metric="rmsee")
    unknown = CliRunner().invoke(cli, ["review", "--base", "main", "--metric", "accuracy"])
    assert unknown.exit_code == 1 and "no run logged the metric 'accuracy'" in unknown.output


def test_json_and_output_file(repo: Path, branch):
    out = repo / "review.json"
    result = CliRunner().invoke(
        cli, ["review", "--base", "main", "--format", "json", "--output", str(out)]
    )
    assert result.exit_code == 0, result.output
    data = json.loads(out.read_text())
    assert data["added_runs"] == 2 and data["experiments"][0]["base_best"]["value"] == 5.0
    markdown = CliRunner().invoke(cli, ["review", "--base", "main"])
    assert markdown.exit_code == 0 and MARKER in markdown.output


def test_no_runs_added_is_a_short_comment(repo: Path, branch):
    git(repo, "add", "runs")
    git(repo, "commit", "-qm", "runs on the branch")
    text = render_markdown(review(repo / "runs", "tune"))
    assert "adds no runs" in text and len(text) < 300


def test_a_base_without_runs(repo: Path):
    git(repo, "checkout", "-q", "-b", "first-runs")
    mlflow.set_experiment("taxi", primary_metric="rmse")
    log(4.0)
    text = render_markdown(review(repo / "runs", "main"))
    assert "no runs with **rmse** to compare with" in text


def test_a_missing_base_says_how_to_fetch_it(repo: Path, branch):
    with pytest.raises(GitError, match="git fetch origin main"):
        review(repo / "runs", "origin/main")
    result = CliRunner().invoke(cli, ["review", "--base", "nope"])
    assert result.exit_code == 1 and "does not exist" in result.output


def test_a_shallow_clone_is_told_to_fetch_history(repo: Path, branch, tmp_path: Path):
    git(repo, "add", "runs")
    git(repo, "commit", "-qm", "branch runs")
    clone = tmp_path / "shallow"
    git(tmp_path, "clone", "-q", "--depth", "1", "--branch", "tune", repo.as_uri(), str(clone))
    with pytest.raises(GitError, match="shallow"):
        review(clone / "runs", "main")


def test_user_text_cannot_break_the_markdown_and_the_body_stays_under_the_limit(repo: Path):
    git(repo, "checkout", "-q", "-b", "many")
    mlflow.set_experiment("x | <b>bold</b> ` [link](http://evil)")
    for index in range(1500):
        with mlflow.start_run(run_name=f"run |{index}| <script>"):
            mlflow.log_param("note", "a|b<i>" * 3)
            mlflow.log_metric("rmse", float(index))
    text = render_markdown(review(repo / "runs", "main"))
    assert len(text) < GITHUB_LIMIT
    assert "<script>" not in text and "<b>" not in text and "](http://evil)" not in text
    assert "more run(s) left out to stay under GitHub's 65,536-character limit" in text
    assert text.count("| [run") + text.count("| run") > 100  # as many rows as fit are kept


class FakeGitHub:
    """A stand-in for GitHub's issue-comment API on 127.0.0.1 that records every request."""

    def __init__(self) -> None:
        import http.server
        import threading

        self.comments: list[dict] = [
            {"id": 7, "body": "a human's comment", "user": {"login": "someone"}},
            # A maintainer quoting an old review: it holds the marker but is not ours.
            {"id": 8, "body": f"{MARKER}\n> quoted review", "user": {"login": "maintainer"}},
        ]
        self.requests: list[tuple[str, str, dict | None]] = []
        self.token_user: str | None = None  # None: /user is refused, as for GITHUB_TOKEN
        self.read_only = False  # a fork's pull request: writes are refused
        self.poster = "github-actions[bot]"
        self.head = "a" * 40
        fake = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def log_message(self, *args) -> None:
                pass

            def _reply(self, status: int, payload) -> None:
                data = json.dumps(payload).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def _body(self):
                length = int(self.headers.get("Content-Length") or 0)
                return json.loads(self.rfile.read(length)) if length else None

            def do_GET(self) -> None:
                fake.requests.append(("GET", self.path, None))
                assert self.headers["Authorization"] == "Bearer secret-token"
                from urllib.parse import parse_qs, urlsplit

                if self.path == "/user":
                    if fake.token_user is None:
                        self._reply(403, {"message": "Resource not accessible by integration"})
                    else:
                        self._reply(200, {"login": fake.token_user})
                    return
                if "/pulls/" in self.path:
                    self._reply(200, {"head": {"sha": fake.head}})
                    return
                page = parse_qs(urlsplit(self.path).query).get("page", ["1"])[0]
                self._reply(200, fake.comments if page == "1" else [])

            def do_POST(self) -> None:
                body = self._body()
                fake.requests.append(("POST", self.path, body))
                if fake.read_only:
                    self._reply(403, {"message": "Resource not accessible by integration"})
                    return
                comment = {
                    "id": 100 + len(fake.comments),
                    "body": body["body"],
                    "user": {"login": fake.poster},
                }
                fake.comments.append(comment)
                self._reply(201, comment)

            def do_PATCH(self) -> None:
                body = self._body()
                fake.requests.append(("PATCH", self.path, body))
                comment_id = int(self.path.rsplit("/", 1)[1])
                next(c for c in fake.comments if c["id"] == comment_id)["body"] = body["body"]
                self._reply(200, {"id": comment_id})

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def test_posting_creates_one_comment_then_updates_it(
    repo: Path, branch, tmp_path: Path, monkeypatch
):
    fake = FakeGitHub()
    event = tmp_path / "event.json"
    event.write_text(json.dumps({"pull_request": {"number": 42}}))
    monkeypatch.setenv("GITHUB_REPOSITORY", "me/project")
    monkeypatch.setenv("GITHUB_TOKEN", "secret-token")
    monkeypatch.setenv("GITHUB_EVENT_PATH", str(event))
    monkeypatch.setenv("GITHUB_API_URL", fake.url)
    monkeypatch.setenv("GITHUB_ACTIONS", "true")
    try:
        first = CliRunner().invoke(cli, ["review", "--base", "main", "--post"])
        assert first.exit_code == 0, first.output
        assert "Created comment" in first.output
        posts = [r for r in fake.requests if r[0] == "POST"]
        assert len(posts) == 1 and posts[0][1] == "/repos/me/project/issues/42/comments"
        assert posts[0][2]["body"].startswith(MARKER)
        mlflow.set_experiment("taxi")
        log(4.0, alpha=0.01)
        second = CliRunner().invoke(cli, ["review", "--base", "main", "--post"])
        assert second.exit_code == 0 and "Updated comment" in second.output
        patches = [r for r in fake.requests if r[0] == "PATCH"]
        assert len(patches) == 1 and patches[0][1].startswith("/repos/me/project/issues/comments/")
        marked = [c for c in fake.comments if c["body"].startswith(MARKER) and c["id"] != 8]
        assert len(marked) == 1 and "3 new run(s)" in marked[0]["body"]
        assert fake.comments[0]["body"] == "a human's comment"
        assert fake.comments[1]["body"] == f"{MARKER}\n> quoted review"  # never overwritten
        assert marked[0]["user"]["login"] == "github-actions[bot]"
    finally:
        fake.close()


def test_a_token_that_reads_its_own_login_updates_only_its_comment(
    repo: Path, branch, tmp_path: Path, monkeypatch
):
    fake = FakeGitHub()
    fake.token_user = fake.poster = "review-bot"
    fake.comments.append({"id": 9, "body": f"{MARKER}\nold", "user": {"login": "review-bot"}})
    monkeypatch.setenv("GITHUB_REPOSITORY", "me/project")
    monkeypatch.setenv("GITHUB_TOKEN", "secret-token")
    monkeypatch.setenv("GITHUB_API_URL", fake.url)
    monkeypatch.delenv("GITHUB_ACTIONS", raising=False)
    review_json = tmp_path / "review.json"
    try:
        made = CliRunner().invoke(
            cli, ["review", "--base", "main", "--format", "json", "--output", str(review_json)]
        )
        assert made.exit_code == 0, made.output

        def post(head: str):
            arguments = ["--from-json", str(review_json), "--post", "--pull-request", "42"]
            return CliRunner().invoke(cli, ["review", *arguments, "--head-sha", head])

        stale = post("b" * 40)
        assert stale.exit_code == 1 and "Nothing was posted" in stale.output
        posted = post(fake.head)
        assert posted.exit_code == 0, posted.output
        assert [r[1] for r in fake.requests if r[0] == "PATCH"] == [
            "/repos/me/project/issues/comments/9"
        ]
        assert "new run(s)" in fake.comments[-1]["body"]
        assert fake.comments[1]["body"] == f"{MARKER}\n> quoted review"
    finally:
        fake.close()


def test_a_review_file_from_an_untrusted_job_is_checked(tmp_path: Path):
    from gitruns.review import InvalidReview, render_markdown, review_from_json

    good = {
        "base": "main",
        "base_commit": "c" * 40,
        "site_url": None,
        "added_runs": 1,
        "changed_runs": [],
        "experiments": [
            {
                "id": "taxi",
                "name": "@org/team [x](https://tracker.example/p.png)",
                "metric": "rmse",
                "goal": "minimize",
                "base_best": None,
                "added": [
                    {
                        "id": "a" * 32,
                        "name": "@octocat",
                        "value": 1.0,
                        "delta": None,
                        "beats": None,
                        "differing_params": {},
                    }
                ],
            }
        ],
    }
    text = render_markdown(review_from_json(json.dumps(good)))
    assert "@octocat" not in text and "@org/team" not in text and "](https://" not in text
    crafted = json.loads(json.dumps(good))
    crafted["experiments"][0]["added"][0]["id"] = "x) ![t](https://tracker.example/p.png"
    with pytest.raises(InvalidReview, match="not a run id"):
        review_from_json(json.dumps(crafted))
    crafted = json.loads(json.dumps(good))
    crafted["site_url"] = "javascript:alert(1)"
    with pytest.raises(InvalidReview, match="https"):
        review_from_json(json.dumps(crafted))


def test_posting_outside_a_workflow_says_what_is_missing(repo: Path, branch, monkeypatch):
    for name in ("GITHUB_REPOSITORY", "GITHUB_TOKEN", "GITHUB_EVENT_PATH"):
        monkeypatch.delenv(name, raising=False)
    result = CliRunner().invoke(cli, ["review", "--base", "main", "--post"])
    assert result.exit_code == 1 and "GITHUB_REPOSITORY" in result.output


def test_a_branch_that_edits_or_deletes_base_runs_is_reported(repo: Path):
    import shutil

    mlflow.set_experiment("taxi", primary_metric="rmse")
    kept, edited, soft, removed = (log(5.0), log(6.0), log(7.0), log(8.0))
    git(repo, "add", "runs")
    git(repo, "commit", "-qm", "runs on main")
    git(repo, "checkout", "-q", "-b", "rewrite-history")
    folder = repo / "runs" / "taxi"
    history = folder / edited / "metrics.tsv"
    history.write_text(history.read_text().replace("6.0", "1.0"))
    mlflow.MlflowClient().delete_run(soft)
    shutil.rmtree(folder / removed)
    git(repo, "commit", "-qam", "quietly better")
    result = review(repo / "runs", "main")
    assert result.experiments == []
    changes = {run.id: run.change for run in result.changed}
    assert changes == {edited: "edited", soft: "soft-deleted", removed: "removed"}
    assert kept not in changes
    text = render_markdown(result)
    assert "adds no runs" in text and "changes runs the base already has" in text
    assert "1 edited, 1 soft-deleted, 1 removed" in text
    assert "metrics.tsv" in text


def test_names_and_params_never_mention_or_link(repo: Path):
    git(repo, "checkout", "-q", "-b", "mentions")
    mlflow.set_experiment("@org/team #12")
    with mlflow.start_run(run_name="@octocat ![x](https://tracker.example/t.png)"):
        mlflow.log_params({"owner": "@someone", "ref": "GH-7"})
        mlflow.log_metric("rmse", 1.0)
    text = render_markdown(review(repo / "runs", "main", site_url="https://me.github.io/p"))
    for mention in ("@octocat", "@org", "@someone", "#12", "GH-7", "](https://tracker"):
        assert mention not in text, mention


def test_a_cell_holds_one_value_and_a_link_only_a_folders_run_id(repo: Path):
    mlflow.set_experiment("taxi", primary_metric="rmse")
    base_id = log(5.0)
    forged = repo / "runs" / "taxi" / ("f" * 32)
    shutil.copytree(repo / "runs" / "taxi" / base_id, forged)
    record = forged / "run.yaml"
    # The base's best run, as far as its record says, claims another id: a link target.
    record.write_text(
        record.read_text().replace(base_id, '../../evil" onclick=x').replace("5.0", "0.5")
    )
    git(repo, "add", "runs")
    git(repo, "commit", "-qm", "runs on main")
    git(repo, "checkout", "-q", "-b", "cells")
    hostile = "a|b\nnew row | x `code` <img src=x> [l](http://evil) \\| end"
    with mlflow.start_run(run_name=hostile):
        mlflow.log_params({"alpha": hostile, "plain": "1"})
        mlflow.log_metric("rmse", 4.0)
    text = render_markdown(review(repo / "runs", "main", site_url="https://me.github.io/p"))
    (row,) = [line for line in text.splitlines() if line.startswith("| a")]
    # Six columns: seven pipes that are not escaped, whatever the names and values hold.
    unescaped = len(re.findall(r"(?<!\\)\|", row))
    assert unescaped == 7, row
    assert "\\<img" in text and "<img" not in text.replace("\\<img", "")
    assert "](http://evil)" not in text and "\n new row" not in text
    assert "evil" not in text.split("Base best", 1)[1].split("\n", 1)[0]  # not the forged run
    assert f"runs/{base_id}.html" in text and "onclick" not in text


def test_a_read_only_token_passes_the_check_and_says_why_no_comment(
    repo: Path, branch, tmp_path: Path, monkeypatch
):
    fake = FakeGitHub()
    fake.read_only = True
    fake.comments = []
    event = tmp_path / "event.json"
    event.write_text(json.dumps({"pull_request": {"number": 42}}))
    summary = tmp_path / "summary.md"
    for name, value in {
        "GITHUB_REPOSITORY": "me/project",
        "GITHUB_TOKEN": "secret-token",
        "GITHUB_EVENT_PATH": str(event),
        "GITHUB_API_URL": fake.url,
        "GITHUB_ACTIONS": "true",
        "GITHUB_STEP_SUMMARY": str(summary),
    }.items():
        monkeypatch.setenv(name, value)
    try:
        result = CliRunner().invoke(cli, ["review", "--base", "main", "--post"])
    finally:
        fake.close()
    assert result.exit_code == 0, result.output
    said = " ".join(result.output.split())
    assert "No comment was posted" in said and "(403)" in said and "fork" in said
    assert summary.read_text().startswith(MARKER)  # the review, where the job may write
    assert fake.comments == []
