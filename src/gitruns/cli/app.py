"""The root command, and what every command group shares: the console (user text
escaped), tables, the runs folder option, JSON output, formatting of times and numbers."""

from __future__ import annotations

import contextlib
import json
import logging
import os
import re
import sys
from collections.abc import Callable, Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import click
from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table
from rich.text import Text

from gitruns import location
from gitruns.client import MlflowClient
from gitruns.entities import Run
from gitruns.exceptions import ExperimentNotFound, GitrunsError
from gitruns.listing import ViewType
from gitruns.query.ranking import Ranking
from gitruns.utils.words import closest
from gitruns.version import __version__

# Control characters a terminal would act on (ESC starts ANSI sequences); tab and newline stay.


_CONTROL_CHARACTERS = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")


def terminal_text(value: object) -> str:
    """User text as the terminal should show it: control characters made visible.

    >>> terminal_text("run\x1b[2J")
    'run\\x1b[2J'
    """
    return _CONTROL_CHARACTERS.sub(lambda m: f"\\x{ord(m.group()):02x}", str(value))


def esc(value: object) -> str:
    """User text inside a rich markup string: never read as markup or control codes."""
    return escape(terminal_text(value))


class _TerminalFormatter(logging.Formatter):
    """Log lines name files and runs that may come from anyone: no control codes."""

    def format(self, record: logging.LogRecord) -> str:
        return terminal_text(super().format(record))


class SafeTable(Table):
    """A table whose text cells are printed as they are: a run named ``[/]`` or holding
    ANSI escapes is shown, never interpreted."""

    def add_row(self, *renderables: Any, **kwargs: Any) -> None:  # type: ignore[override]
        super().add_row(
            *(Text(terminal_text(cell)) if isinstance(cell, str) else cell for cell in renderables),
            **kwargs,
        )


# Piped output (logs, CI) is not cut to 80 columns; a terminal keeps its own width.
console = Console(width=None if sys.stdout.isatty() or "COLUMNS" in os.environ else 160)
errors = Console(stderr=True, width=None if sys.stderr.isatty() or "COLUMNS" in os.environ else 160)


class _Group(click.Group):
    """Turns gitruns errors into one readable line, unless ``--traceback`` is given."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except GitrunsError as error:
            if ctx.params.get("traceback"):
                raise
            errors.print(
                f"[bold red]Error:[/] {esc(error.message)}", highlight=False, soft_wrap=True
            )
            ctx.exit(1)


def runs_folder(runs_dir: Path | None) -> Path:
    if runs_dir is not None:
        return runs_dir
    return location.current().runs_dir


def existing_runs_folder(runs_dir: Path | None) -> Path:
    """The runs folder a command reads: one that is not there is an error saying where it
    was looked for, not an empty answer."""
    folder = runs_folder(runs_dir)
    if folder.is_dir():
        return folder
    top = location.current().repo_top
    named_by = [name for name in ("GITRUNS_DIR", "MLFLOW_TRACKING_URI") if os.environ.get(name)]
    if runs_dir is not None:
        where = f"--runs-dir {runs_dir}"
    elif named_by:
        where = f"{folder} (named by {named_by[0]})"
    elif top is not None:
        where = f"runs/ at the top of the git repository {top}"
    else:
        where = f"{folder} (./runs: this is not inside a git repository)"
    raise GitrunsError(
        f"no runs folder found: looked for {where}. Run this in your project, pass "
        "--runs-dir, or log a run first ('gitruns demo' makes an example project).",
        error_code="RESOURCE_DOES_NOT_EXIST",
    )


def runs_dir_option(function: Any) -> Any:
    return click.option(
        "--runs-dir", type=click.Path(path_type=Path), help="The runs folder (default: runs/)."
    )(function)


def runs_dir_argument_or_option(function: Any) -> Any:
    """``--runs-dir``, as every command takes it, and the ``RUNS_DIR`` argument these
    commands took first (kept: scripts and workflows call them so)."""
    function = click.argument(
        "runs_dir_argument", metavar="[RUNS_DIR]", type=click.Path(path_type=Path), required=False
    )(function)
    return runs_dir_option(function)


def one_runs_dir(argument: Path | None, option: Path | None) -> Path | None:
    """The runs folder named by RUNS_DIR or --runs-dir; naming two is a mistake."""
    if argument is not None and option is not None and argument.resolve() != option.resolve():
        raise click.UsageError(
            f"two runs folders given: {argument} and --runs-dir {option}. Give one."
        )
    return option if option is not None else argument


@click.group(cls=_Group, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="gitruns")
@click.option("-v", "--verbose", count=True, help="Say more (-v: what is written, -vv: debug).")
@click.option("--traceback", is_flag=True, hidden=True, help="Show the full traceback on errors.")
def cli(verbose: int, traceback: bool) -> None:
    """Experiment tracking that lives in git.

    Log runs from Python with MLflow's API (`import gitruns as mlflow`); each
    run lands as plain files under runs/, next to your code.

    Example:

        \b
        gitruns demo gitruns-demo
    """
    level = logging.WARNING - 10 * min(verbose, 2)
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(_TerminalFormatter("%(levelname)s: %(message)s"))
    logging.basicConfig(level=level, handlers=[handler])


# -- experiments and runs -------------------------------------------------------------

VIEWS = {"active": ViewType.ACTIVE_ONLY, "deleted": ViewType.DELETED_ONLY, "all": ViewType.ALL}


def view_option(function: Any) -> Any:
    return click.option(
        "--view",
        type=click.Choice(list(VIEWS)),
        default="active",
        show_default=True,
        help="Active, soft-deleted, or all.",
    )(function)


def json_option(function: Any) -> Any:
    return click.option("--json", "as_json", is_flag=True, help="Print JSON, for scripts.")(
        function
    )


def print_json(data: Any) -> None:
    click.echo(json.dumps(data, indent=2, default=str))


def format_time(ms: int | None, full: bool = False) -> str:
    if ms is None:
        return ""
    return datetime.fromtimestamp(ms / 1000).strftime(
        "%Y-%m-%d %H:%M:%S" if full else "%m-%d %H:%M"
    )


def format_number(value: float | None, digits: int = 6) -> str:
    if value is None:
        return ""
    return f"{value:.{digits}g}"


_STATUS_STYLE = {"FINISHED": "green", "FAILED": "red", "KILLED": "yellow", "RUNNING": "cyan"}


def status_text(status: str) -> Text:
    return Text(terminal_text(status), style=_STATUS_STYLE.get(status, "white"))


def run_json(run: Run) -> dict[str, Any]:
    return {
        "run_id": run.info.run_id,
        "run_name": run.info.run_name,
        "experiment_id": run.info.experiment_id,
        "status": run.info.status,
        "lifecycle_stage": run.info.lifecycle_stage,
        "start_time": run.info.start_time,
        "end_time": run.info.end_time,
        "user_id": run.info.user_id,
        "artifact_uri": run.info.artifact_uri,
        "params": run.data.params,
        "metrics": run.data.metrics,
        "tags": run.data.tags,
    }


def open_client(runs_dir: Path | None, *, reading: bool = False) -> MlflowClient:
    """The client of a command; ``reading``: the runs folder must exist."""
    if reading:
        runs_dir = existing_runs_folder(runs_dir)
    return MlflowClient(str(runs_dir) if runs_dir is not None else None)


def resolve_experiment(client: MlflowClient, name_or_id: str) -> str:
    """The id of the experiment named ``name_or_id``, or with that id."""
    found = client.get_experiment_by_name(name_or_id)
    if found is not None:
        return found.experiment_id
    try:
        return client.get_experiment(name_or_id).experiment_id
    except GitrunsError as error:
        names = [experiment.name for experiment in client.search_experiments(ViewType.ALL)]
        meant = closest(name_or_id, names)
        raise ExperimentNotFound(
            f"no experiment is named {name_or_id!r} or has that id."
            + (f" Did you mean {meant!r}?" if meant else "")
            + " List them with 'gitruns experiments list'."
        ) from error


def ranking_label(ranking: Ranking) -> str:
    """'rmse (minimize)', with '*' when the experiment did not declare it."""
    if ranking.metric is None:
        return ""
    return f"{ranking.metric} ({ranking.goal}){'' if ranking.declared else '*'}"


@contextlib.contextmanager
def progress_bar(what: str = "Building the site") -> Iterator[Callable[[int, int], None]]:
    """A progress bar; yields the ``(done, total)`` callback the work reports to."""
    with Progress(
        TextColumn(f"[bold]{what}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=console,
        transient=True,
    ) as progress:
        task = progress.add_task("site", total=None)
        yield lambda done, total: progress.update(task, completed=done, total=total)
