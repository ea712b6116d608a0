"""Commands on the project: demo, init, check, commit, migrate."""

from __future__ import annotations

import shlex
import sys
from pathlib import Path

import click
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

# Control characters a terminal would act on (ESC starts ANSI sequences); tab and newline stay.
from gitruns.cli.app import (
    SafeTable,
    cli,
    console,
    esc,
    one_runs_dir,
    progress_bar,
    runs_dir_argument_or_option,
    runs_folder,
)
from gitruns.exceptions import GitrunsError
from gitruns.query.tables import abbreviate


@cli.command()
@click.argument("directory", type=click.Path(path_type=Path), default="gitruns-demo")
@click.option(
    "--trials",
    type=click.IntRange(1, 500),
    default=20,
    show_default=True,
    help="Hyperopt trials in the XGBoost search.",
)
@click.option(
    "--rows",
    type=click.IntRange(500, 1_000_000),
    default=10_000,
    show_default=True,
    help="Trips generated per month of data.",
)
def demo(directory: Path, trials: int, rows: int) -> None:
    """Make DIRECTORY a git repository with taxi data, tune and register a model, commit it all.

    Nothing is downloaded: the NYC-taxi-like trips are generated. A training
    script logs a scikit-learn baseline and a hyperopt + XGBoost search with
    autolog, registers the best model and promotes it to production; runs land
    in DIRECTORY/runs and the registry in git tags.

    Example:

        \b
        gitruns demo gitruns-demo --trials 20
    """
    from gitruns.demo import run_demo

    with Progress(
        TextColumn("[bold]Training"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        TextColumn("{task.description}"),
        console=console,
        transient=True,
    ) as progress:
        task = progress.add_task("preparing data", total=None)

        def advance(done: int, total: int, line: str) -> None:
            progress.update(task, completed=done, total=total, description=line.split("]", 1)[-1])

        result = run_demo(directory, rows=rows, trials=trials, on_progress=advance)

    ranked = sorted(result.runs, key=lambda run: run[2] if run[2] is not None else float("inf"))
    table = SafeTable(
        title=esc(f"Best of {len(result.runs)} runs in {directory / 'runs'}"),
        title_justify="left",
    )
    table.add_column("run id")
    table.add_column("name")
    table.add_column("rmse", justify="right")
    width = abbreviate(run_id for run_id, _, _ in result.runs)
    for run_id, name, rmse in ranked[:8]:
        table.add_row(run_id[:width], name, "" if rmse is None else f"{rmse:.3f}")
    console.print(table)
    for name, version, stage in result.model_versions:
        console.print(
            f"Registered [bold]{esc(name)}[/] v{version}: {esc(stage)} "
            f"(git tag {esc(name)}@v{version}.0.0)"
        )
    if result.runs_commit:
        console.print(
            f"Committed the runs as [bold]{result.runs_commit[:10]}[/] in {esc(directory)}."
        )
    if result.site is not None:
        console.print(
            f"The site: [bold]{esc(result.site)}[/] (open it in a browser, or run gitruns ui)."
        )
    steps = [
        (f"cd {shlex.quote(str(directory))}", ""),
        ("gitruns runs list -o metrics.rmse", "# the runs, best first"),
        ("gitruns models show nyc-taxi-regressor", "# the registry, from git tags"),
        ("gitruns ui", "# the site, on localhost"),
        ("python train.py", "# after an edit: new runs, with your diff"),
    ]
    console.print("\nNext:")
    for command, comment in steps:
        line = f"  {esc(command):<40} [dim]{esc(comment)}[/]" if comment else f"  {esc(command)}"
        console.print(line, highlight=False, soft_wrap=True)


@cli.command()
@runs_dir_argument_or_option
def check(runs_dir_argument: Path | None, runs_dir: Path | None) -> None:
    """Validate every run and experiment record in the runs folder against the schema.

    The runs folder defaults to where runs are logged (runs/ at the top of this git
    repository). Lists each bad file with what is wrong, and exits 1 if any.

    Example:

        \b
        gitruns check --runs-dir runs
    """
    from gitruns.store.check import check_runs

    report = check_runs(runs_folder(one_runs_dir(runs_dir_argument, runs_dir)))
    for problem in report.problems:
        console.print(f"[red]✗[/] {esc(problem)}", highlight=False, soft_wrap=True)
    summary = f"{report.experiments} experiment(s), {report.runs} run(s) in {esc(report.runs_dir)}"
    if report.ok:
        console.print(
            f"[green]✓[/] {summary}: every record is valid.", highlight=False, soft_wrap=True
        )
        return
    console.print(f"{summary}: {len(report.problems)} problem(s).", highlight=False, soft_wrap=True)
    sys.exit(1)


@cli.command()
@click.option("-m", "--message", default=None, help="Commit message (default: 'Add runs').")
@runs_dir_argument_or_option
def commit(message: str | None, runs_dir_argument: Path | None, runs_dir: Path | None) -> None:
    """Commit the runs folder alone: nothing else you staged goes into the commit.

    Example:

        \b
        gitruns commit -m "Tune the learning rate"
    """
    from gitruns.store.repo import commit_runs

    folder = runs_folder(one_runs_dir(runs_dir_argument, runs_dir))
    sha = commit_runs(folder, message)
    if sha is None:
        console.print(f"Nothing new to commit in {esc(folder)}.")
    else:
        console.print(f"Committed {esc(folder)} as [bold]{sha[:10]}[/].")


@cli.command()
@runs_dir_argument_or_option
def migrate(runs_dir_argument: Path | None, runs_dir: Path | None) -> None:
    """Rewrite runs written by an older gitruns in the current layout, in place.

    Each run moves over whole or not at all, so stopping it at any moment
    loses nothing, and running it again finishes the job. Runs a process is
    still writing are left for later. Commit the result with git.

    Example:

        \b
        gitruns migrate && git add -A runs && git commit -m "Runs in schema 2"
    """
    from gitruns.store.migrate import migrate_runs
    from gitruns.store.record import LAYOUT_SCHEMA

    folder = runs_folder(one_runs_dir(runs_dir_argument, runs_dir))
    with progress_bar("Migrating runs") as advance:
        report = migrate_runs(folder, progress=advance)
    for run_dir, message in report.failed:
        console.print(f"[red]✗[/] {esc(run_dir)}: {esc(message)}", highlight=False, soft_wrap=True)
    for run_dir in report.live:
        console.print(
            f"[yellow]![/] {esc(run_dir)} is still being written; run this again when it ends.",
            highlight=False,
            soft_wrap=True,
        )
    console.print(
        f"{len(report.migrated)} run(s) migrated to schema {LAYOUT_SCHEMA}, "
        f"{len(report.folded)} metric log(s) folded, {report.current} run(s) already current "
        f"in {esc(folder)}.",
        highlight=False,
        soft_wrap=True,
    )
    if report.migrated or report.folded:
        console.print(f"Next: git add -A {esc(folder)} && git commit -m 'Runs in schema 2'")
    if report.failed:
        sys.exit(1)


@cli.command()
@click.option("--github", is_flag=True, help="Also write the site and review workflows.")
@click.option("--force", is_flag=True, help="Replace files that exist.")
@click.option("--lfs", is_flag=True, help="Keep model and data artifacts in Git LFS.")
def init(github: bool, force: bool, lfs: bool) -> None:
    """Set up this repository for gitruns: .gitignore lines, with --github the workflows,
    with --lfs Git LFS for the runs' model and data artifacts.

    The workflows build the site on every push to the default branch and publish
    it on GitHub Pages, and comment on pull requests with the runs they add.

    Example:

        \b
        gitruns init --github --lfs
    """
    from gitruns.init import init_project
    from gitruns.utils.git import find_repo_top

    top = find_repo_top(Path.cwd())
    if top is None:
        raise GitrunsError("this folder is not in a git repository. Run 'git init' first.")
    for path in init_project(top, github=github, force=force, lfs=lfs):
        console.print(f"Wrote {esc(path.relative_to(top))}")
    if github:
        console.print("Commit them, then enable Pages with 'GitHub Actions' as the source.")
