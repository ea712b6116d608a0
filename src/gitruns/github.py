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

from gitruns import __version__
from gitruns.exceptions import GitrunsError
from gitruns.review import MARKER

DEFAULT_API = "https://api.github.com"
MAX_PAGES = 30  # 3,000 comments: enough for any pull request, and a bound on a bad server


class GitHubError(GitrunsError):
    error_code = "INVALID_STATE"


@dataclass(frozen=True)
class PullRequest:
    repository: str  # "owner/name"
    number: int
    token: str
    api_url: str = DEFAULT_API


def pull_request_from_environment(env: Mapping[str, str] | None = None) -> PullRequest:
    """The pull request a GitHub Actions job runs for, from the variables GitHub sets."""
    env = os.environ if env is None else env
    missing = [
        name
        for name in ("GITHUB_REPOSITORY", "GITHUB_TOKEN", "GITHUB_EVENT_PATH")
        if not env.get(name)
    ]
    if missing:
        raise GitHubError(
            f"posting needs {', '.join(missing)} (set by GitHub Actions on pull_request events; "
            "pass GITHUB_TOKEN with 'env: GITHUB_TOKEN: ${{ secrets.GITHUB_TOKEN }}')."
        )
    try:
        with open(env["GITHUB_EVENT_PATH"], encoding="utf-8") as file:
            event = json.load(file)
        number = int(event["pull_request"]["number"])
    except (OSError, ValueError, KeyError, TypeError) as error:
        raise GitHubError(
            f"{env['GITHUB_EVENT_PATH']} is not a pull_request event ({error}). Run the review "
            "step on 'pull_request' events."
        ) from error
    return PullRequest(
        env["GITHUB_REPOSITORY"],
        number,
        env["GITHUB_TOKEN"],
        env.get("GITHUB_API_URL") or DEFAULT_API,
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
            f"GitHub answered {error.code} to {method} {path}: {detail}.{hint}"
        ) from error
    except urllib.error.URLError as error:
        raise GitHubError(f"could not reach {pull.api_url}: {error.reason}.") from error


def post_review(pull: PullRequest, body: str) -> tuple[str, int]:
    """Update the pull request's gitruns comment, or create it; ("updated"|"created", id).

    Example::

        action, comment_id = post_review(pull_request_from_environment(), markdown)
    """
    for page in range(1, MAX_PAGES + 1):
        comments = _call(
            pull,
            "GET",
            f"/repos/{pull.repository}/issues/{pull.number}/comments?per_page=100&page={page}",
        )
        if not comments:
            break
        for comment in comments:
            if MARKER in (comment.get("body") or ""):
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
