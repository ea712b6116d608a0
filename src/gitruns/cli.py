"""``gitruns …``: a thin layer over documented Python functions.

Each command parses its arguments, calls one function, and prints the result.
A gitruns error prints one red line and exits 1; ``--traceback`` (hidden)
shows the whole story.
"""

from __future__ import annotations

import logging
import sys
from pathlib import Path
from typing import Any

import click
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from gitruns import __version__, location
from gitruns.exceptions import GitrunsError

console = Console()
errors = Console(stderr=True)


class _Group(click.Group):
    """Turns gitruns errors into one readable line, unless ``--traceback`` is given."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except GitrunsError as error:
            if ctx.params.get("traceback"):
                raise
            errors.print(f"[bold red]Error:[/] {error.message}", highlight=False, soft_wrap=True)
            ctx.exit(1)


def _runs_dir(runs_dir: Path | None) -> Path:
    if runs_dir is not None:
        return runs_dir
    return location.current().runs_dir


@click.group(cls=_Group, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="gitruns")
@click.option("-v", "--verbose", count=True, help="Say more (-v: what is written, -vv: debug).")
@click.option("--traceback", is_flag=True, hidden=True, help="Show the full traceback on errors.")
def cli(verbose: int, traceback: bool) -> None:
    """Experiment tracking that lives in git.

    Log runs from Python with MLflow's API (`import gitruns as mlflow`); each
    run lands as plain files under runs/, next to your code.

    Example:

        gitruns demo gitruns-demo
    """
    level = logging.WARNING - 10 * min(verbose, 2)
    logging.basicConfig(level=level, format="%(levelname)s: %(message)s", stream=sys.stderr)


@cli.command()
@click.argument("directory", type=click.Path(path_type=Path), default="gitruns-demo")
@click.option(
    "--rows",
    type=click.IntRange(500, 1_000_000),
    default=20_000,
    show_default=True,
    help="Trips generated per month of data.",
)
def demo(directory: Path, rows: int) -> None:
    """Make DIRECTORY a git repository with taxi data, train models, log and commit the runs.

    Nothing is downloaded: the NYC-taxi-like trips are generated. Runs land
    in DIRECTORY/runs and are committed next to the training script.

    Example:

        gitruns demo gitruns-demo
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

        result = run_demo(directory, rows=rows, on_progress=advance)

    table = Table(title=f"Runs logged in {directory / 'runs'}", title_justify="left")
    table.add_column("run id")
    table.add_column("name")
    table.add_column("rmse", justify="right")
    for run_id, name, rmse in sorted(result.runs, key=lambda run: run[2] or float("inf")):
        table.add_row(run_id[:12], name, "" if rmse is None else f"{rmse:.3f}")
    console.print(table)
    if result.runs_commit:
        console.print(f"Committed the runs as [bold]{result.runs_commit[:10]}[/] in {directory}.")
    console.print(
        f"\nNext: [bold]cd {directory}[/], edit train.py and run [bold]python train.py[/] again; "
        "[bold]gitruns check[/] validates every record; [bold]git log --stat -- runs[/] shows "
        "the runs next to the code."
    )


@cli.command()
@click.argument("runs_dir", type=click.Path(path_type=Path), required=False)
def check(runs_dir: Path | None) -> None:
    """Validate every run and experiment record under RUNS_DIR against the schema.

    RUNS_DIR defaults to where runs are logged (runs/ at the top of this git
    repository). Lists each bad file with what is wrong, and exits 1 if any.

    Example:

        gitruns check runs
    """
    from gitruns.check import check_runs

    report = check_runs(_runs_dir(runs_dir))
    for problem in report.problems:
        console.print(f"[red]✗[/] {problem}", highlight=False, soft_wrap=True)
    summary = f"{report.experiments} experiment(s), {report.runs} run(s) in {report.runs_dir}"
    if report.ok:
        console.print(
            f"[green]✓[/] {summary}: every record is valid.", highlight=False, soft_wrap=True
        )
        return
    console.print(f"{summary}: {len(report.problems)} problem(s).", highlight=False, soft_wrap=True)
    sys.exit(1)


@cli.command()
@click.option("-m", "--message", default=None, help="Commit message (default: 'Add runs').")
@click.argument("runs_dir", type=click.Path(path_type=Path), required=False)
def commit(message: str | None, runs_dir: Path | None) -> None:
    """Commit the runs folder alone: nothing else you staged goes into the commit.

    Example:

        gitruns commit -m "Tune the learning rate"
    """
    from gitruns.repo import commit_runs

    folder = _runs_dir(runs_dir)
    sha = commit_runs(folder, message)
    if sha is None:
        console.print(f"Nothing new to commit in {folder}.")
    else:
        console.print(f"Committed {folder} as [bold]{sha[:10]}[/].")


def main() -> None:
    cli(prog_name="gitruns")


if __name__ == "__main__":
    main()
