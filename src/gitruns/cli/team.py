"""Commands a team shares runs with: push, pull, status."""

from __future__ import annotations

from pathlib import Path

import click

from gitruns.cli.app import SafeTable, cli, console, esc, runs_dir_option, runs_folder
from gitruns.team import Arrived, PullReport, PushReport


@cli.command()
@click.argument("remote", required=False)
@click.option("--branch", default=None, help="The remote's branch (default: the current one).")
@click.option("-m", "--message", default=None, help="Message of the runs' commit.")
@runs_dir_option
def push(
    remote: str | None, branch: str | None, message: str | None, runs_dir: Path | None
) -> None:
    """Commit the runs and send them, with the registry's tags, to the remote.

    When the remote moved on, its branch is merged in (your own commits are kept as
    they are, never rebased) and the push is tried again, until it lands. A model
    version another clone registered first under the same number is numbered again
    above the remote's, and said. Branch and tags land together or not at all.

    Example:

        \b
        gitruns push
        gitruns push origin --branch runs
    """
    from gitruns.team import push as push_runs

    with console.status("Pushing runs and registry tags..."):
        report = push_runs(runs_folder(runs_dir), remote, branch=branch, message=message)
    _say_push(report)


@cli.command()
@click.argument("remote", required=False)
@click.option("--branch", default=None, help="The remote's branch (default: the current one).")
@click.option(
    "--site",
    "site_dir",
    type=click.Path(path_type=Path),
    default=Path("site"),
    show_default=True,
    help="A built site to bring up to date (left alone when it is not there).",
)
@runs_dir_option
def pull(remote: str | None, branch: str | None, site_dir: Path, runs_dir: Path | None) -> None:
    """Bring the remote's runs and registry here, and say what arrived.

    The search index is brought up to date, and the site rebuilt if it was built.

    Example:

        \b
        gitruns pull
    """
    from gitruns.team import pull as pull_runs

    with console.status("Pulling runs and registry tags..."):
        report = pull_runs(runs_folder(runs_dir), remote, branch=branch, site=site_dir)
    _say_pull(report)


@cli.command()
@click.argument("remote", required=False)
@runs_dir_option
def status(remote: str | None, runs_dir: Path | None) -> None:
    """What this clone has that the remote has not: runs not committed, commits and
    registry changes not pushed (as the remote was when last fetched).

    Example:

        \b
        gitruns status
    """
    from gitruns.team import status as clone_status

    found = clone_status(runs_folder(runs_dir), remote)
    if found.uncommitted:
        console.print(
            f"{len(found.uncommitted)} run(s) not committed "
            f"(gitruns commit, or gitruns push): {esc(', '.join(found.uncommitted[:5]))}"
            + (" ..." if len(found.uncommitted) > 5 else ""),
            highlight=False,
            soft_wrap=True,
        )
    else:
        console.print("Every run is committed.")
    if found.remote is None:
        console.print("No remote to push to: add one with git remote add origin URL.")
        return
    where = f"{found.remote}/{found.branch}"
    if found.ahead is None:
        console.print(f"{esc(where)} was never fetched: gitruns pull fetches it.")
    else:
        console.print(
            f"{found.ahead} commit(s) not on {esc(where)}, {found.behind} there not here "
            "(as last fetched).",
            highlight=False,
        )
    if found.unpushed:
        table = SafeTable(
            title=f"registry changes not yet on {found.remote} (gitruns push sends them)",
            title_justify="left",
        )
        for column in ("tag", "by", "what"):
            table.add_column(column)
        for event in found.unpushed:
            table.add_row(event.tag, event.tagger, event.message.partition("\n")[0])
        console.print(table)
    else:
        console.print(f"Every registry change is on {esc(found.remote)}.")


def _say_push(report: PushReport) -> None:
    where = f"{report.remote}/{report.branch}"
    if report.committed:
        console.print(f"Committed the runs as {report.committed[:10]}.")
    _say_arrived(report.arrived, f"Merged {where} first")
    _say_renumbered(report)
    tries = f" (after {report.attempts} tries: the remote moved on meanwhile)"
    console.print(
        f"[green]✓[/] Pushed to {esc(where)}"
        + (f" with {len(report.tags)} registry tag(s)" if report.tags else "")
        + (tries if report.attempts > 1 else "")
        + ".",
        highlight=False,
    )


def _say_pull(report: PullReport) -> None:
    where = f"{report.remote}/{report.branch}"
    if not report.merged and not report.arrived.registry:
        console.print(f"Up to date with {esc(where)}.")
    _say_arrived(report.arrived, f"From {where}")
    _say_renumbered(report)
    if report.site_pages is not None:
        console.print(f"Site rebuilt: {report.site_pages} page(s) written.")


def _say_arrived(arrived: Arrived, lead: str) -> None:
    if arrived.runs:
        per = ", ".join(f"{count} in {experiment}" for experiment, count in arrived.runs.items())
        console.print(f"{esc(lead)}: {arrived.run_count} new run(s) ({esc(per)}).", highlight=False)
    for change in arrived.registry:
        console.print(f"  registry: {esc(change)}", highlight=False)


def _say_renumbered(report: PushReport | PullReport) -> None:
    for item in report.renumbered:
        console.print(
            f"[yellow]![/] {esc(item.model)} v{item.old_version} is v{item.new_version} now: "
            f"another clone registered v{item.old_version} on the remote first.",
            highlight=False,
        )
    others = len(report.renamed) - len(report.renumbered)
    if others:
        console.print(
            f"{others} stage or alias tag(s) were set again after the remote's.", highlight=False
        )
