"""``gitruns review``: a pull request's runs against the base's best."""

from __future__ import annotations

from pathlib import Path

import click

# Control characters a terminal would act on (ESC starts ANSI sequences); tab and newline stay.
from gitruns.cli.app import (
    cli,
    console,
    esc,
    runs_dir_option,
    runs_folder,
)
from gitruns.exceptions import GitrunsError

# -- pull-request review ---------------------------------------------------------------


@cli.command("review")
@click.option(
    "--base", default=None, help="The branch or commit to compare with, e.g. origin/main."
)
@click.option(
    "--format",
    "output_format",
    type=click.Choice(["markdown", "json"]),
    default="markdown",
    show_default=True,
)
@click.option(
    "--output", type=click.Path(path_type=Path), default=None, help="Write here, not to stdout."
)
@click.option("--site-url", default=None, help="Where the site is published, to link runs.")
@click.option("--metric", default=None, help="The metric to compare (default: the primary metric).")
@click.option(
    "--post", is_flag=True, help="Post or update the comment on the pull request (GitHub Actions)."
)
@click.option(
    "--from-json",
    "from_json",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    default=None,
    help="Render a review made earlier with --format json (a second, privileged job).",
)
@click.option(
    "--pull-request", type=click.IntRange(1), default=None, help="The pull request to post on."
)
@click.option(
    "--head-sha", default=None, help="Post only if the pull request's head is this commit."
)
@runs_dir_option
def review_command(
    base: str | None,
    output_format: str,
    output: Path | None,
    site_url: str | None,
    metric: str | None,
    post: bool,
    from_json: Path | None,
    pull_request: int | None,
    head_sha: str | None,
    runs_dir: Path | None,
) -> None:
    """Compare the runs this branch adds, changes or removes with the base branch's best,
    for a pull request.

    Example:

        \b
        gitruns review --base origin/main --site-url https://me.github.io/project

    A pull request from a fork is reviewed in two jobs: one with no write access
    runs 'gitruns review --base origin/main --format json --output review.json'
    on the fork's code; a second, which never runs that code, posts it:

        \b
        gitruns review --from-json review.json --post --pull-request 12 --head-sha SHA
    """
    from gitruns.review import render_markdown, review, review_from_json, to_json

    if from_json is not None:
        result = review_from_json(from_json.read_text(encoding="utf-8", errors="replace"))
    elif base is not None:
        result = review(runs_folder(runs_dir), base, metric=metric, site_url=site_url)
    else:
        raise GitrunsError(
            "say what to review: --base REF (e.g. --base origin/main), or --from-json FILE."
        )
    text = to_json(result) if output_format == "json" else render_markdown(result)
    if post:
        from gitruns.github import (
            GitHubError,
            check_head,
            post_review,
            pull_request_from_environment,
            write_job_summary,
        )

        pull = pull_request_from_environment(number=pull_request)
        markdown = render_markdown(result)
        try:
            if head_sha is not None:
                check_head(pull, head_sha)
            action, comment_id = post_review(pull, markdown)
        except GitHubError as refused:
            if not refused.read_only:
                raise
            # A review that cannot be posted is still a passing check: say why, and show
            # the review where the token may write (the job's summary).
            shown = write_job_summary(markdown)
            console.print(
                "No comment was posted: GitHub refused to let this token write to "
                f"{esc(pull.repository)}#{pull.number} ({refused.status}). A fork's pull "
                "request gets a read-only token, and a repository can keep workflow tokens "
                "read-only; give the job 'pull-requests: write', or read the review "
                + ("in the job summary." if shown else "with gitruns review --base locally."),
                highlight=False,
                soft_wrap=True,
            )
            if shown:
                console.print("::notice title=gitruns review::No comment posted (read-only token)")
        else:
            console.print(
                f"{action.capitalize()} comment {comment_id} on {esc(pull.repository)}"
                f"#{pull.number}."
            )
    if output is None and not post:
        click.echo(text)
    elif output is not None:
        output.write_text(text)
        console.print(f"Wrote the review of {result.added_runs} new run(s) to {esc(output)}.")
