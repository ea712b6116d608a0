"""Posting the review on a pull request: one comment, found by its marker and updated.

Uses GitHub's REST API with the workflow's token. In a workflow the repository,
the pull request and the token come from the environment GitHub Actions sets
(``GITHUB_REPOSITORY``, ``GITHUB_EVENT_PATH``, ``GITHUB_TOKEN``, ``GITHUB_API_URL``).
"""

from __future__ import annotations

import json
import os
import urllib.error
import urllib.request
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from gitruns.exceptions import GitrunsError
from gitruns.review import MARKER
from gitruns.version import __version__

DEFAULT_API = "https://api.github.com"
MAX_PAGES = 30  # 3,000 comments: enough for any pull request, and a bound on a bad server


class GitHubError(GitrunsError):
    error_code = "INVALID_STATE"

    def __init__(self, message: str, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status  # GitHub's HTTP status, when it answered

    @property
    def read_only(self) -> bool:
        """GitHub refused to let this token write: a fork's pull request gets a read-only
        token, and a repository or organisation may keep workflow tokens read-only."""
        return self.status in (401, 403)


def write_job_summary(markdown: str) -> bool:
    """Add ``markdown`` to the GitHub Actions job's summary page, where one is set."""
    path = os.environ.get("GITHUB_STEP_SUMMARY")
    if not path:
        return False
    with open(path, "a", encoding="utf-8") as summary:
        summary.write(markdown + "\n")
    return True


ACTIONS_BOT = "github-actions[bot]"  # who comments with a workflow's GITHUB_TOKEN
AUTHOR_VARIABLE = "GITRUNS_COMMENT_AUTHOR"


@dataclass(frozen=True)
class PullRequest:
    repository: str  # "owner/name"
    number: int
    token: str
    api_url: str = DEFAULT_API
    author: str | None = None  # the token's own login, when known without asking GitHub


def pull_request_from_environment(
    env: Mapping[str, str] | None = None, number: int | None = None
) -> PullRequest:
    """The pull request a GitHub Actions job runs for, from the variables GitHub sets;
    ``number`` names it where the event is not a pull request's (a ``workflow_run``)."""
    env = os.environ if env is None else env
    needed = ("GITHUB_REPOSITORY", "GITHUB_TOKEN") + (
        ("GITHUB_EVENT_PATH",) if number is None else ()
    )
    missing = [name for name in needed if not env.get(name)]
    if missing:
        raise GitHubError(
            f"posting needs {', '.join(missing)} (set by GitHub Actions on pull_request events; "
            "pass GITHUB_TOKEN with 'env: GITHUB_TOKEN: ${{ secrets.GITHUB_TOKEN }}')."
        )
    if number is None:
        try:
            with open(env["GITHUB_EVENT_PATH"], encoding="utf-8") as file:
                event = json.load(file)
            number = int(event["pull_request"]["number"])
        except (OSError, ValueError, KeyError, TypeError) as error:
            raise GitHubError(
                f"{env['GITHUB_EVENT_PATH']} is not a pull_request event ({error}). Run the "
                "review step on 'pull_request' events, or pass the number with --pull-request."
            ) from error
    author = env.get(AUTHOR_VARIABLE) or (ACTIONS_BOT if env.get("GITHUB_ACTIONS") else None)
    return PullRequest(
        env["GITHUB_REPOSITORY"],
        number,
        env["GITHUB_TOKEN"],
        env.get("GITHUB_API_URL") or DEFAULT_API,
        author,
    )


def _call(pull: PullRequest, method: str, path: str, payload: dict[str, Any] | None = None) -> Any:
    request = urllib.request.Request(
        pull.api_url.rstrip("/") + path,
        method=method,
        data=None if payload is None else json.dumps(payload).encode(),
        headers={
            "Authorization": f"Bearer {pull.token}",
            "Accept": "application/vnd.github+json",
            "X-GitHub-Api-Version": "2022-11-28",
            "User-Agent": f"gitruns/{__version__}",
            "Content-Type": "application/json",
        },
    )
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return json.loads(response.read() or b"null")
    except urllib.error.HTTPError as error:
        detail = error.read().decode(errors="replace")[:300]
        hint = (
            " The workflow needs 'permissions: pull-requests: write'."
            if error.code in (401, 403)
            else ""
        )
        raise GitHubError(
            f"GitHub answered {error.code} to {method} {path}: {detail}.{hint}", error.code
        ) from error
    except urllib.error.URLError as error:
        raise GitHubError(f"could not reach {pull.api_url}: {error.reason}.") from error


def token_login(pull: PullRequest) -> str:
    """Whose comments this token writes: ``GET /user``, else the known author.

    A workflow's ``GITHUB_TOKEN`` may not read ``/user``; its comments are
    ``github-actions[bot]``'s, which :func:`pull_request_from_environment` knows.
    """
    try:
        user = _call(pull, "GET", "/user")
        if isinstance(user, dict) and isinstance(user.get("login"), str):
            return user["login"]
    except GitHubError:
        pass
    if pull.author:
        return pull.author
    raise GitHubError(
        "cannot tell whose comments this token writes (GitHub refused GET /user). Set "
        f"{AUTHOR_VARIABLE} to the token's login (e.g. {ACTIONS_BOT}) and try again."
    )


def check_head(pull: PullRequest, head_sha: str) -> None:
    """Refuse to comment unless the pull request's head is ``head_sha`` (the commit the
    first, unprivileged job reviewed): a number from an artifact could name another PR."""
    data = _call(pull, "GET", f"/repos/{pull.repository}/pulls/{pull.number}")
    actual = (data or {}).get("head", {}).get("sha") if isinstance(data, dict) else None
    if actual != head_sha:
        raise GitHubError(
            f"pull request #{pull.number} is at {str(actual)[:10]}, not at {head_sha[:10]}, the "
            "commit that was reviewed. Nothing was posted; the next push reviews again."
        )


def post_review(pull: PullRequest, body: str) -> tuple[str, int]:
    """Update this token's own gitruns comment on the pull request, or create it;
    returns ("updated"|"created", id). A marked comment someone else wrote (a quote,
    a copy) is never touched.

    Example::

        action, comment_id = post_review(pull_request_from_environment(), markdown)
    """
    login = token_login(pull).lower()
    for page in range(1, MAX_PAGES + 1):
        comments = _call(
            pull,
            "GET",
            f"/repos/{pull.repository}/issues/{pull.number}/comments?per_page=100&page={page}",
        )
        if not comments:
            break
        for comment in comments:
            author = str((comment.get("user") or {}).get("login") or "").lower()
            if author == login and (comment.get("body") or "").startswith(MARKER):
                _call(
                    pull,
                    "PATCH",
                    f"/repos/{pull.repository}/issues/comments/{comment['id']}",
                    {"body": body},
                )
                return "updated", int(comment["id"])
    created = _call(
        pull, "POST", f"/repos/{pull.repository}/issues/{pull.number}/comments", {"body": body}
    )
    return "created", int(created["id"])
