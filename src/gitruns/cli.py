"""``gitruns …``: a thin layer over documented Python functions.

Each command parses its arguments, calls one function, and prints the result.
A gitruns error prints one red line and exits 1; ``--traceback`` (hidden)
shows the whole story.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import re
import shlex
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

from gitruns import location, system_tags
from gitruns.client import MlflowClient
from gitruns.entities import ModelVersion, RegisteredModel, Run, ViewType
from gitruns.exceptions import ExperimentNotFound, GitrunsError
from gitruns.query import (
    abbreviate,
    compare_runs,
    format_duration,
    summarize_experiments,
    tree_order,
)
from gitruns.query.ranking import Ranking
from gitruns.registry import Registry, TagEvent
from gitruns.registry.tags import mlflow_stage, version_label
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


def _runs_dir(runs_dir: Path | None) -> Path:
    if runs_dir is not None:
        return runs_dir
    return location.current().runs_dir


def _runs_dir_option(function: Any) -> Any:
    return click.option(
        "--runs-dir", type=click.Path(path_type=Path), help="The runs folder (default: runs/)."
    )(function)


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
@click.argument("runs_dir", type=click.Path(path_type=Path), required=False)
def check(runs_dir: Path | None) -> None:
    """Validate every run and experiment record under RUNS_DIR against the schema.

    RUNS_DIR defaults to where runs are logged (runs/ at the top of this git
    repository). Lists each bad file with what is wrong, and exits 1 if any.

    Example:

        \b
        gitruns check runs
    """
    from gitruns.store.check import check_runs

    report = check_runs(_runs_dir(runs_dir))
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
@click.argument("runs_dir", type=click.Path(path_type=Path), required=False)
def commit(message: str | None, runs_dir: Path | None) -> None:
    """Commit the runs folder alone: nothing else you staged goes into the commit.

    Example:

        \b
        gitruns commit -m "Tune the learning rate"
    """
    from gitruns.store.repo import commit_runs

    folder = _runs_dir(runs_dir)
    sha = commit_runs(folder, message)
    if sha is None:
        console.print(f"Nothing new to commit in {esc(folder)}.")
    else:
        console.print(f"Committed {esc(folder)} as [bold]{sha[:10]}[/].")


@cli.command()
@click.argument("runs_dir", type=click.Path(path_type=Path), required=False)
def migrate(runs_dir: Path | None) -> None:
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

    folder = _runs_dir(runs_dir)
    with _progress("Migrating runs") as advance:
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


# -- MLflow, both ways ---------------------------------------------------------------


@cli.group("import")
def import_() -> None:
    """Bring runs in from another tracker (MLflow).

    Example:

        \b
        gitruns import mlflow sqlite:///mlflow.db
    """


@import_.command("mlflow")
@click.argument("source")
@click.option(
    "-e",
    "--experiment",
    "experiments_",
    multiple=True,
    help="Import only this MLflow experiment (by name; repeatable).",
)
@click.option("--no-registry", is_flag=True, help="Leave the model registry out.")
@click.option(
    "--artifact-root",
    "artifact_roots",
    multiple=True,
    help="A folder or URI outside the store that its runs' artifacts may be read from "
    "(repeatable); by default only the store's own folder is read.",
)
@_runs_dir_option
def import_mlflow_command(
    source: str,
    experiments_: tuple[str, ...],
    no_registry: bool,
    artifact_roots: tuple[str, ...],
    runs_dir: Path | None,
) -> None:
    """Import MLflow's runs and model registry from SOURCE.

    SOURCE is an mlruns/ folder, a database URI or a tracking server. Runs keep
    their MLflow ids, so running this again brings only what is new; a run here
    with the same id that an import did not make is never replaced (reported).
    Registered models become registry tags, after the imported runs are
    committed. A store is untrusted: artifacts are read only from inside it (the
    mlruns/ folder, the database's folder, a server's artifact API) or from a
    root you name with --artifact-root, and files that look like secrets are left
    out. Needs MLflow: pip install 'gitruns[mlflow]'.

    Example:

        \b
        gitruns import mlflow sqlite:///mlflow.db
        gitruns import mlflow ./mlruns --experiment nyc-taxi-experiment
        gitruns import mlflow http://127.0.0.1:5000
        gitruns import mlflow sqlite:///mlflow.db --artifact-root /data/mlflow-artifacts
    """
    from gitruns.mlflow_bridge.importing import import_mlflow

    folder = _runs_dir(runs_dir)
    with _progress("Importing runs") as advance:
        report = import_mlflow(
            source,
            folder,
            experiments_ or None,
            registry=not no_registry,
            progress=advance,
            artifact_roots=artifact_roots,
        )
    console.print(esc(report.summary()), highlight=False, soft_wrap=True)
    if report.runs:
        console.print(f"Next: git add -A {esc(folder)} && git commit -m 'Runs from MLflow'")


@cli.group("export")
def export() -> None:
    """Write runs out to another tracker (MLflow).

    Example:

        \b
        gitruns export mlflow sqlite:///mlflow.db
    """


@export.command("mlflow")
@click.argument("dest")
@click.option(
    "-e",
    "--experiment",
    "experiments_",
    multiple=True,
    help="Export only this experiment (by name; repeatable).",
)
@click.option("--no-registry", is_flag=True, help="Leave the model registry out.")
@_runs_dir_option
def export_mlflow_command(
    dest: str, experiments_: tuple[str, ...], no_registry: bool, runs_dir: Path | None
) -> None:
    """Write gitruns runs and the model registry into the MLflow store DEST.

    DEST is a database URI or a tracking server. Each exported run carries its
    id in the tag gitruns.run_id, so running this again writes only what is
    new. Needs MLflow: pip install 'gitruns[mlflow]'.

    Example:

        \b
        gitruns export mlflow sqlite:///mlflow.db
        gitruns export mlflow http://127.0.0.1:5000 --experiment nyc-taxi-experiment
    """
    from gitruns.mlflow_bridge.exporting import export_mlflow

    with _progress("Exporting runs") as advance:
        report = export_mlflow(
            _runs_dir(runs_dir),
            dest,
            experiments_ or None,
            registry=not no_registry,
            progress=advance,
        )
    console.print(esc(report.summary()), highlight=False, soft_wrap=True)


# -- experiments and runs -------------------------------------------------------------

VIEWS = {"active": ViewType.ACTIVE_ONLY, "deleted": ViewType.DELETED_ONLY, "all": ViewType.ALL}


def _view_option(function: Any) -> Any:
    return click.option(
        "--view",
        type=click.Choice(list(VIEWS)),
        default="active",
        show_default=True,
        help="Active, soft-deleted, or all.",
    )(function)


def _json_option(function: Any) -> Any:
    return click.option("--json", "as_json", is_flag=True, help="Print JSON, for scripts.")(
        function
    )


def _print_json(data: Any) -> None:
    click.echo(json.dumps(data, indent=2, default=str))


def _time(ms: int | None, full: bool = False) -> str:
    if ms is None:
        return ""
    return datetime.fromtimestamp(ms / 1000).strftime(
        "%Y-%m-%d %H:%M:%S" if full else "%m-%d %H:%M"
    )


def _number(value: float | None, digits: int = 6) -> str:
    if value is None:
        return ""
    return f"{value:.{digits}g}"


_STATUS_STYLE = {"FINISHED": "green", "FAILED": "red", "KILLED": "yellow", "RUNNING": "cyan"}


def _status(status: str) -> Text:
    return Text(terminal_text(status), style=_STATUS_STYLE.get(status, "white"))


def _run_json(run: Run) -> dict[str, Any]:
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


@cli.group()
def experiments() -> None:
    """Experiments: each is a folder under runs/.

    Example:

        \b
        gitruns experiments list
    """


@experiments.command("list")
@_view_option
@_json_option
@click.option("--runs-dir", type=click.Path(path_type=Path), help="The runs folder.")
def experiments_list(view: str, as_json: bool, runs_dir: Path | None) -> None:
    """List experiments with their run count, best primary metric and last activity.

    Example:

        \b
        gitruns experiments list
    """
    summaries = summarize_experiments(_runs_dir(runs_dir), VIEWS[view])
    if as_json:
        _print_json(
            [
                {
                    "experiment_id": s.experiment.experiment_id,
                    "name": s.experiment.name,
                    "runs": s.runs,
                    "primary_metric": s.primary_metric,
                    "primary_metric_declared": s.ranking.declared,
                    "goal": s.goal,
                    "best": s.best,
                    "best_run_id": s.ranking.best_id,
                    "last_activity": s.last_activity,
                }
                for s in summaries
            ]
        )
        return
    table = SafeTable(title=esc(f"Experiments in {_runs_dir(runs_dir)}"), title_justify="left")
    for column in ("id", "name", "runs", "primary metric", "best", "best run", "last run"):
        table.add_column(column, justify="right" if column in ("runs", "best") else "left")
    for s in summaries:
        table.add_row(
            s.experiment.experiment_id,
            s.experiment.name,
            str(s.runs),
            _ranking_label(s.ranking),
            _number(s.best),
            (s.ranking.best_id or "")[:12],
            _time(s.last_activity),
        )
    console.print(table)
    if any(s.primary_metric and not s.ranking.declared for s in summaries):
        console.print(
            "* guessed: the metric most runs logged. Declare it with "
            "set_experiment(name, primary_metric=..., goal=...).",
            highlight=False,
        )


def _ranking_label(ranking: Ranking) -> str:
    """'rmse (minimize)', with '*' when the experiment did not declare it."""
    if ranking.metric is None:
        return ""
    return f"{ranking.metric} ({ranking.goal}){'' if ranking.declared else '*'}"


@cli.group()
def runs() -> None:
    """Find, show, compare, delete and restore runs.

    Example:

        \b
        gitruns runs list --filter "metrics.rmse < 7" --order-by "metrics.rmse ASC"
    """


def _client(runs_dir: Path | None) -> MlflowClient:
    return MlflowClient(str(runs_dir) if runs_dir is not None else None)


@runs.command("list")
@click.option(
    "-e",
    "--experiment",
    "experiments_",
    multiple=True,
    help="Experiment name or id (repeatable; default: all).",
)
@click.option(
    "-f", "--filter", "filter_string", default="", help='A filter, e.g. "metrics.rmse < 7".'
)
@click.option("-o", "--order-by", multiple=True, help='e.g. "metrics.rmse ASC" (repeatable).')
@click.option(
    "-c",
    "--columns",
    default=None,
    help='Metrics, params and tags to show, e.g. "metrics.rmse,params.max_depth" '
    "(default: the metrics that fit, primary first).",
)
@click.option(
    "-n",
    "--limit",
    type=click.IntRange(1),
    default=50,
    show_default=True,
    help="At most this many runs.",
)
@_view_option
@_json_option
@_runs_dir_option
def runs_list(
    experiments_: tuple[str, ...],
    filter_string: str,
    order_by: tuple[str, ...],
    columns: str | None,
    limit: int,
    view: str,
    as_json: bool,
    runs_dir: Path | None,
) -> None:
    """List runs, filtered and ordered with MLflow's search grammar; child runs (a
    hyperopt search's trials) are listed under their parent.

    \b
    Example:
        gitruns runs list -e nyc-taxi-experiment -o "metrics.rmse"
        gitruns runs list -f "params.model = 'ridge'" -c "metrics.rmse,params.alpha"
    """
    client = _client(runs_dir)
    ids = [_experiment_id(client, name) for name in experiments_] or [
        experiment.experiment_id for experiment in client.search_experiments(ViewType.ALL)
    ]
    chosen = _parse_columns(columns)
    client.check_search(ids, filter_string, list(order_by))
    found = client.search_runs(ids, filter_string, VIEWS[view], limit, list(order_by) or None)
    if as_json:
        _print_json([_run_json(run) for run in found])
        return
    width = client.id_width()
    rows = _tree_order(list(found))
    fixed: list[tuple[str, list[Any]]] = [
        ("run id", [run.info.run_id[:width] for run, _ in rows]),
        *([("experiment", [run.info.experiment_id for run, _ in rows])] if len(ids) > 1 else []),
        (
            "name",
            [("  " * depth + ("└ " if depth else "")) + run.info.run_name for run, depth in rows],
        ),
        ("status", [_status(run.info.status) for run, _ in rows]),
        ("started", [_time(run.info.start_time) for run, _ in rows]),
        ("duration", [format_duration(run.info.start_time, run.info.end_time) for run, _ in rows]),
    ]
    rankings = {
        summary.experiment.experiment_id: summary
        for summary in summarize_experiments(client.runs_dir, ViewType.ALL)
        if summary.experiment.experiment_id in ids
    }
    primary = [r.primary_metric for r in rankings.values() if r.primary_metric]
    fields = chosen or [("metric", key) for key in _metric_columns(primary, found)]
    # A key names its column; a key two kinds share is spelt in full (params.alpha).
    shared = {key for _, key in fields if sum(other == key for _, other in fields) > 1}
    extra = [
        (f"{kind}s.{key}" if key in shared else key, [_cell(run, kind, key) for run, _ in rows])
        for kind, key in fields
    ]
    used = sum(_column_width(header, cells) for header, cells in fixed)
    shown, left_out = [], 0
    for header, cells in extra:
        needed = _column_width(header, cells)
        if chosen or used + needed <= console.width:
            shown.append((header, cells))
            used += needed
        else:
            left_out += 1
    title = f"{len(found)} run(s)" + (" (more with --limit)" if found.token else "")
    table = SafeTable(
        title=title,
        title_justify="left",
        caption=f"{left_out} more metric(s) left out to fit: choose with --columns"
        if left_out
        else None,
        caption_justify="left",
    )
    for header, _ in fixed:
        table.add_column(header, no_wrap=True, style="bold" if header == "run id" else None)
    for header, _ in shown:
        table.add_column(header, justify="right", no_wrap=True)
    for index in range(len(rows)):
        table.add_row(*(cells[index] for _, cells in [*fixed, *shown]))
    console.print(table)
    for summary in rankings.values():
        ranking = summary.ranking
        if ranking.best_id is None:
            continue
        best = client.get_run(ranking.best_id)
        console.print(
            f"Best of {esc(summary.experiment.name)} by {esc(_ranking_label(ranking))}: "
            f"{esc(best.info.run_name)} {ranking.best_id[:width]} = {_number(ranking.best_value)}",
            highlight=False,
            soft_wrap=True,
        )


def _parse_columns(text: str | None) -> list[tuple[str, str]]:
    """``"metrics.rmse,params.max_depth"`` -> [("metric", "rmse"), ("param", "max_depth")]."""
    from gitruns.query import Token, parse_field

    if not text:
        return []
    chosen = []
    for part in (piece.strip() for piece in text.split(",")):
        if not part:
            continue
        try:
            field = parse_field(Token("field", part, 0), part, "filter")
        except GitrunsError:
            field = None
        if field is None or field.kind == "attribute":
            raise GitrunsError(
                f"--columns takes metrics, params and tags (e.g. metrics.rmse), not {part!r}; "
                "the run's attributes are always shown."
            )
        chosen.append((field.kind, field.key))
    return chosen


def _cell(run: Run, kind: str, key: str) -> str:
    if kind == "metric":
        return _number(run.data.metrics.get(key), 4)
    values = run.data.params if kind == "param" else run.data.tags
    return values.get(key, "")


def _column_width(header: str, cells: list[Any]) -> int:
    widths = [len(str(cell)) for cell in cells]
    return max([len(header), *widths]) + 3  # padding and the border


def _tree_order(found: list[Run]) -> list[tuple[Run, int]]:
    """The runs with each child right under its parent, with its depth, in found order."""
    return tree_order(
        found, lambda run: run.info.run_id, lambda run: run.data.tags.get(system_tags.PARENT_RUN_ID)
    )


def _metric_columns(primary: list[str], found: list[Run]) -> list[str]:
    """The experiments' primary metrics first (query.ranking), then the others."""
    first = list(dict.fromkeys(primary))
    others = sorted({key for run in found for key in run.data.metrics} - set(first))
    return first + [key for key in others if any(key in run.data.metrics for run in found)]


def _experiment_id(client: MlflowClient, name_or_id: str) -> str:
    """The id of the experiment named ``name_or_id``, or with that id."""
    found = client.get_experiment_by_name(name_or_id)
    if found is not None:
        return found.experiment_id
    try:
        return client.get_experiment(name_or_id).experiment_id
    except GitrunsError as error:
        raise ExperimentNotFound(
            f"no experiment is named {name_or_id!r} or has that id. "
            "List them with 'gitruns experiments list'."
        ) from error


@runs.command("show")
@click.argument("run_id")
@_json_option
@_runs_dir_option
def runs_show(run_id: str, as_json: bool, runs_dir: Path | None) -> None:
    """Show everything a run recorded: source, code version, params, metrics, tags, artifacts.

    RUN_ID may be any unique prefix of the id.

    Example:

        \b
        gitruns runs show 01a20b10edf1
    """
    client = _client(runs_dir)
    record, run_dir = client.get_run_record(run_id)
    if as_json:
        _print_json(record.to_dict())
        return
    git = record.git or {}
    facts = SafeTable.grid(padding=(0, 2))
    facts.add_column(style="bold")
    facts.add_column()
    commit = git.get("commit") or ""
    if commit and git.get("dirty"):
        commit += " (with uncommitted changes, see code.diff)"
    for label, value in [
        ("run", record.id),
        ("name", record.name),
        ("experiment", record.experiment),
        (
            "status",
            _status(record.status) + (" (deleted)" if record.lifecycle_stage == "deleted" else ""),
        ),
        ("error", f"{record.error['type']}: {record.error['message']}" if record.error else ""),
        ("started", _time(record.start_time, full=True)),
        ("duration", format_duration(record.start_time, record.end_time)),
        ("user", record.user or ""),
        ("command", record.source.get("command") or record.source.get("entry_point") or ""),
        ("commit", commit),
        ("branch", git.get("branch") or ""),
        ("remote", git.get("remote") or ""),
        ("parent", record.parent or ""),
        ("description", record.description or ""),
        (
            "python",
            " ".join(
                filter(None, [record.environment.get("python"), record.environment.get("platform")])
            ),
        ),
        ("folder", str(run_dir)),
    ]:
        if value:
            facts.add_row(label, value if isinstance(value, Text) else str(value))
    console.print(facts)
    if record.params:
        console.print(_key_value_table("params", record.params))
    if record.metrics:
        metrics = SafeTable(title="metrics", title_justify="left")
        for column in ("key", "last", "min", "max", "step"):
            metrics.add_column(column, justify="left" if column == "key" else "right")
        for key, summary in record.metrics.items():
            metrics.add_row(
                key,
                _number(summary.last),
                _number(summary.min),
                _number(summary.max),
                str(summary.step),
            )
        console.print(metrics)
    if record.tags:
        console.print(_key_value_table("tags", record.tags))
    if record.inputs:
        datasets = SafeTable(title="datasets", title_justify="left")
        for column in ("name", "context", "digest", "source"):
            datasets.add_column(column)
        for item in record.inputs:
            datasets.add_row(
                item.get("name", ""),
                item.get("context", ""),
                item.get("digest", ""),
                f"{item.get('source_type', '')} {item.get('source', '')}",
            )
        console.print(datasets)
    artifacts = client.list_artifacts(record.id)
    if artifacts:
        console.print(
            "[bold]artifacts:[/] "
            + esc(", ".join(info.path + ("/" if info.is_dir else "") for info in artifacts))
        )
    from gitruns.reproduce import reproduce_command

    if record.tags.get(system_tags.REPRODUCES):
        console.print(
            f"[bold]reproduces:[/] {esc(record.tags[system_tags.REPRODUCES])} "
            f"({esc(record.tags.get(system_tags.REPRODUCTION_VERDICT, ''))})",
            highlight=False,
        )
    experiments = [experiment.experiment_id for experiment in client.search_experiments()]
    found = client.search_runs(
        experiments, f"tags.`{system_tags.REPRODUCES}` = '{record.id}'", ViewType.ALL
    )
    for reproduction in found:
        console.print(
            f"[bold]reproduced by:[/] {reproduction.info.run_id} "
            f"({esc(reproduction.data.tags.get(system_tags.REPRODUCTION_VERDICT, ''))})",
            highlight=False,
        )
    console.print(f"[bold]reproduce:[/] {reproduce_command(record.id)}", highlight=False)


def _key_value_table(title: str, values: dict[str, str]) -> Table:
    table = SafeTable(title=title, title_justify="left")
    table.add_column("key")
    table.add_column("value")
    for key, value in values.items():
        table.add_row(key, value)
    return table


@runs.command("compare")
@click.argument("run_ids", nargs=-1, required=True)
@click.option("--only-differences", is_flag=True, help="Hide the values all runs share.")
@_json_option
@_runs_dir_option
def runs_compare(
    run_ids: tuple[str, ...], only_differences: bool, as_json: bool, runs_dir: Path | None
) -> None:
    """Put the params and metrics of two or more runs side by side; differences are marked.

    Example:

        \b
        gitruns runs compare 01a20b10edf1 01a20b10ec72
    """
    if len(run_ids) < 2:
        raise click.UsageError("compare needs at least two run ids.")
    client = _client(runs_dir)
    compared = [client.get_run(run_id) for run_id in run_ids]
    rows = compare_runs(compared)
    if as_json:
        _print_json(
            [
                {
                    "kind": row.kind,
                    "key": row.key,
                    "values": list(row.values),
                    "differs": row.differs,
                }
                for row in rows
            ]
        )
        return
    width = abbreviate(run.info.run_id for run in compared)
    table = SafeTable(title="≠ marks what differs", title_justify="left")
    table.add_column("")
    table.add_column("")
    for run in compared:
        table.add_column(f"{run.info.run_id[:width]}\n{run.info.run_name}", justify="right")
    for row in rows:
        if only_differences and not row.differs:
            continue
        cells = [_number(value) if row.kind == "metric" else (value or "") for value in row.values]
        style = "yellow" if row.differs else None
        table.add_row("≠" if row.differs else "", f"{row.kind}s.{row.key}", *cells, style=style)
    console.print(table)


@runs.command("delete")
@click.argument("run_ids", nargs=-1, required=True)
@_runs_dir_option
def runs_delete(run_ids: tuple[str, ...], runs_dir: Path | None) -> None:
    """Soft-delete runs: hidden from lists and searches, kept on disk until restored.

    Example:

        \b
        gitruns runs delete 01a20b10edf1
    """
    client = _client(runs_dir)
    for run_id in run_ids:
        client.delete_run(run_id)
        full_id = client.get_run(run_id).info.run_id
        console.print(f"Deleted run {full_id}; 'gitruns runs restore {full_id}' brings it back.")


@runs.command("restore")
@click.argument("run_ids", nargs=-1, required=True)
@_runs_dir_option
def runs_restore(run_ids: tuple[str, ...], runs_dir: Path | None) -> None:
    """Bring soft-deleted runs back.

    Example:

        \b
        gitruns runs restore 01a20b10edf1
    """
    client = _client(runs_dir)
    for run_id in run_ids:
        client.restore_run(run_id)
        console.print(f"Restored run {client.get_run(run_id).info.run_id}.")


@runs.command("reproduce")
@click.argument("run_id")
@click.option(
    "--tolerance",
    type=float,
    default=1e-6,
    show_default=True,
    help="Largest difference of a metric that still counts as the same (relative above 1).",
)
@click.option(
    "--data",
    "data",
    multiple=True,
    type=click.Path(path_type=Path),
    help="A file or folder outside git the run read (e.g. data/), made visible to it.",
)
@click.option("--keep", is_flag=True, help="Keep the checkout of the run's code afterwards.")
@click.option(
    "--env",
    "env",
    type=click.Choice(["current", "recorded"]),
    default="current",
    show_default=True,
    help="Run with this Python, or in a new virtualenv of the packages the run recorded.",
)
@click.option(
    "--command",
    "command",
    default=None,
    help="The command to run instead of the recorded one (python is this Python).",
)
@_runs_dir_option
def runs_reproduce(
    run_id: str,
    tolerance: float,
    data: tuple[Path, ...],
    keep: bool,
    env: str,
    command: str | None,
    runs_dir: Path | None,
) -> None:
    """Run a run again from its commit, diff and command, and compare the results.

    The code is checked out at the run's commit in a temporary folder, with the
    run's uncommitted diff applied; your work tree, index, branches and tags are
    not touched. What will run (command, commit, diff, environment) is printed
    first. A recorded command other than python running a script of that commit
    runs only once you confirm it at the prompt or give a command with --command:
    a record from someone's branch could name any program. The new run lands in
    runs/, tagged gitruns.reproduces, and every metric is compared.

    Example:

        \b
        gitruns runs reproduce 01a20b10edf1 --data data
        gitruns runs reproduce 01a20b10edf1 --command "python train.py 20"
    """
    from gitruns.reproduce import plan_reproduction, run_plan

    folder = _runs_dir(runs_dir)
    plan = plan_reproduction(folder, run_id, env=env, command=command)
    table = SafeTable(title="reproduce", title_justify="left", show_header=False)
    table.add_column("what", style="bold")
    table.add_column("value", overflow="fold")
    for what, value in plan.describe():
        table.add_row(what, value)
    console.print(table)
    accepted = False
    if not (plan.plain or plan.own_command):
        console.print(
            f"[yellow]![/] This is not a command gitruns records for a script of the commit "
            f"({esc(plan.why_not_plain)}).",
            highlight=False,
            soft_wrap=True,
        )
        if not sys.stdin.isatty():
            raise GitrunsError(
                "refused to run a command that was not confirmed. Read it above, then pass "
                "the command to run with --command, or run this in a terminal to confirm it."
            )
        accepted = click.confirm("Run this command?", default=False)
        if not accepted:
            raise GitrunsError("not confirmed: nothing was run.")
    with console.status("Reproducing the run (its command runs again)..."):
        result = run_plan(
            plan,
            folder,
            tolerance=tolerance,
            data=data,
            keep_worktree=keep,
            accept_command=accepted,
        )
    drift = result.drift
    if not drift.recorded:
        console.print("The run recorded no package list: nothing to compare the environment with.")
    elif drift.empty:
        console.print("Environment: the same packages at the same versions.")
    else:
        table = SafeTable(title="environment drift (recorded -> here)", title_justify="left")
        for column in ("package", "recorded", "here"):
            table.add_column(column)
        for name, (old, new) in drift.changed.items():
            table.add_row(name, old, new)
        for name, version in drift.removed.items():
            table.add_row(name, version, "(not installed)")
        for name, version in drift.added.items():
            table.add_row(name, "(not recorded)", version)
        console.print(table)
    if result.verdict == "not run":
        console.print(f"[yellow]![/] {esc(result.explanation)}", highlight=False, soft_wrap=True)
        sys.exit(1)
    if result.new_run_id is None:
        console.print(f"[red]✗[/] {esc(result.explanation)}", highlight=False, soft_wrap=True)
        sys.exit(1)
    metrics = SafeTable(title="metrics", title_justify="left")
    for column in ("metric", "recorded", "now", "delta", ""):
        metrics.add_column(column, justify="left" if column == "metric" else "right")
    for delta in result.metrics:
        metrics.add_row(
            delta.key,
            _number(delta.old),
            _number(delta.new),
            "" if delta.delta is None else f"{delta.delta:+.3g}",
            "✓" if delta.within else ("timing" if delta.timing else "✗"),
        )
    console.print(metrics)
    for key, recorded, now in result.params:
        console.print(f"param {esc(key)}: {esc(str(recorded))} -> {esc(str(now))}", highlight=False)
    mark = "[green]✓ reproduced[/]" if result.verdict == "reproduced" else "[red]✗ differs[/]"
    console.print(
        f"{mark}: run {result.new_run_id} against {result.run_id} (tolerance {tolerance:g}).",
        highlight=False,
    )
    if result.verdict != "reproduced":
        sys.exit(1)


# -- the model registry -----------------------------------------------------------------


@cli.group()
def models() -> None:
    """The model registry: versions and stages as git tags (GTO's names).

    Example:

        \b
        gitruns models promote nyc-taxi-regressor 3 production --archive-existing
    """


def _stage_summary(model: RegisteredModel) -> str:
    held = [
        f"{v.current_stage}: v{v.version}"  # MLflow's spelling, as models show prints it
        for v in model.latest_versions
        if v.current_stage != "None"
    ]
    return ", ".join(held)


@models.command("list")
@_json_option
@_runs_dir_option
def models_list(as_json: bool, runs_dir: Path | None) -> None:
    """List registered models with their latest version, stages and aliases.

    Example:

        \b
        gitruns models list
    """
    found = _client(runs_dir).search_registered_models()
    if as_json:
        _print_json([_model_json(model) for model in found])
        return
    table = SafeTable(title="Registered models", title_justify="left")
    for column in ("name", "latest", "stages", "aliases", "updated"):
        table.add_column(column)
    for model in found:
        latest = max(
            (v.version for v in model.latest_versions if isinstance(v.version, int)), default=None
        )
        aliases = ", ".join(f"@{alias}: v{version}" for alias, version in model.aliases.items())
        table.add_row(
            model.name,
            f"v{latest}" if latest else "",
            _stage_summary(model),
            aliases,
            _time(model.last_updated_timestamp),
        )
    console.print(table)


def _model_json(model: RegisteredModel) -> dict[str, Any]:
    return {
        "name": model.name,
        "description": model.description,
        "aliases": model.aliases,
        "latest_versions": [_version_json(v) for v in model.latest_versions],
        "updated": model.last_updated_timestamp,
    }


def _version_json(version: ModelVersion) -> dict[str, Any]:
    return {
        "version": version.version,
        "stage": version.current_stage,
        "aliases": version.aliases,
        "run_id": version.run_id,
        "source": version.source,
        "description": version.description,
        "registered_by": version.user_id,
        "registered_at": version.creation_timestamp,
    }


@models.command("show")
@click.argument("name")
@_json_option
@_runs_dir_option
def models_show(name: str, as_json: bool, runs_dir: Path | None) -> None:
    """Show every version of a model: stage, aliases, run, who registered it and when.

    Example:

        \b
        gitruns models show nyc-taxi-regressor
    """
    client = _client(runs_dir)
    model = client.get_registered_model(name)
    versions = client.search_model_versions(f"name = '{name}'")
    if as_json:
        _print_json({**_model_json(model), "versions": [_version_json(v) for v in versions]})
        return
    if model.description:
        console.print(Text(terminal_text(model.description)))
    table = SafeTable(title=esc(f"{name}: {len(versions)} version(s)"), title_justify="left")
    for column in (
        "version",
        "stage",
        "aliases",
        "run id",
        "registered by",
        "registered",
        "description",
    ):
        table.add_column(column)
    width = client.id_width()
    for version in versions:
        table.add_row(
            f"v{version.version}",
            "" if version.current_stage == "None" else version.current_stage,
            ", ".join(f"@{alias}" for alias in version.aliases),
            (version.run_id or "")[:width],
            version.user_id or "",
            _time(version.creation_timestamp),
            version.description,
        )
    console.print(table)


@models.command("register")
@click.argument("name")
@click.option("--run", "run_id", required=True, help="The run holding the model (id or prefix).")
@click.option(
    "--path",
    default="model",
    show_default=True,
    help="The model's folder inside the run's artifacts.",
)
@click.option("-d", "--description", default=None, help="What this version is.")
@_runs_dir_option
def models_register(
    name: str, run_id: str, path: str, description: str | None, runs_dir: Path | None
) -> None:
    """Register a run's model as the next version of NAME (an annotated tag NAME@vN.0.0).

    Example:

        \b
        gitruns models register nyc-taxi-regressor --run 01a20b10edf1
    """
    client = _client(runs_dir)
    full_id = client.get_run(run_id).info.run_id
    version = client.create_model_version(name, f"runs:/{full_id}/{path}", description=description)
    console.print(
        f"Registered {esc(name)} version {version.version} (tag {esc(name)}@v{version.version}.0.0)"
        f" from run {full_id}. Publish it with: git push --tags"
    )


@models.command("promote")
@click.argument("name")
@click.argument("version")
@click.argument("stage")
@click.option(
    "--archive-existing", is_flag=True, help="Move the stage's other versions to archived."
)
@click.option("--custom-stage", is_flag=True, help="Allow a stage of your own (a GTO stage name).")
@_runs_dir_option
def models_promote(
    name: str,
    version: str,
    stage: str,
    archive_existing: bool,
    custom_stage: bool,
    runs_dir: Path | None,
) -> None:
    """Move VERSION of NAME to STAGE: staging, production, archived, or none.

    Any other stage is refused (a typo such as 'prod' names the stage it meant),
    unless --custom-stage is given.

    Example:

        \b
        gitruns models promote nyc-taxi-regressor 3 production --archive-existing
    """
    moved = _client(runs_dir).transition_model_version_stage(
        name,
        version.removeprefix("v").removesuffix(".0.0"),
        stage,
        archive_existing,
        allow_custom=custom_stage,
    )
    console.print(
        f"{esc(name)} version {moved.version} is now in {esc(moved.current_stage)}. "
        "Publish it with: git push --tags"
    )


@models.command("history")
@click.argument("name")
@_json_option
@_runs_dir_option
def models_history(name: str, as_json: bool, runs_dir: Path | None) -> None:
    """Every registration and stage change of a model, with who and when.

    Example:

        \b
        gitruns models history nyc-taxi-regressor
    """
    events = Registry(_runs_dir(runs_dir)).history(name)
    rows = [_event_row(event) for event in events]
    if as_json:
        _print_json(rows)
        return
    table = SafeTable(title=esc(f"History of {name}"), title_justify="left")
    for column in ("when", "who", "what", "tag"):
        table.add_column(column)
    for row in rows:
        table.add_row(_time(row["time"] * 1000, full=True), row["who"], row["what"], row["tag"])
    console.print(table)


def _event_row(event: TagEvent) -> dict[str, Any]:
    name = event.name
    version = version_label(name.version) if name.version else event.info.get("version", "")
    what = {
        "register": f"registered v{version}",
        "deregister": f"deregistered v{version}",
        "assign": f"v{version} → {mlflow_stage(name.stage)}",
        "unassign": f"v{version} leaves {mlflow_stage(name.stage)}",
        "deprecate": "deprecated the model",
    }[name.action]
    return {
        "time": event.time,
        "who": event.tagger,
        "email": event.email,
        "what": what,
        "tag": event.tag,
        "commit": event.commit,
    }


# -- the site -----------------------------------------------------------------------------


@cli.group()
def site() -> None:
    """The static site: experiments, runs, charts and models as HTML pages.

    Example:

        \b
        gitruns site build && open site/index.html
    """


@contextlib.contextmanager
def _progress(what: str = "Building the site") -> Iterator[Callable[[int, int], None]]:
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


@site.command("build")
@click.option(
    "-o",
    "--output",
    type=click.Path(path_type=Path),
    default="site",
    show_default=True,
    help="Where to write the site.",
)
@click.option(
    "--templates",
    type=click.Path(path_type=Path),
    default=None,
    help="A folder of templates that override gitruns' own (e.g. run.html).",
)
@click.option("--base-url", default="", help="Where the site is published, e.g. for Pages.")
@_runs_dir_option
def site_build(output: Path, templates: Path | None, base_url: str, runs_dir: Path | None) -> None:
    """Build the site from runs/ and the registry's tags; only changed pages are written.

    Example:

        \b
        gitruns site build --output site --base-url https://me.github.io/project
    """
    from gitruns.site import build_site

    with _progress() as advance:
        report = build_site(
            _runs_dir(runs_dir), output, base_url=base_url, templates=templates, on_progress=advance
        )
    console.print(
        f"Built {esc(output)}/index.html: {report.experiments} experiment(s), "
        f"{report.runs} run(s); "
        f"{report.written} of {report.pages} files written, the rest unchanged."
    )


@cli.command()
@click.option("-p", "--port", type=click.IntRange(1, 65535), default=8765, show_default=True)
@click.option("--host", default="127.0.0.1", show_default=True, help="The address to listen on.")
@click.option("-o", "--output", type=click.Path(path_type=Path), default="site", show_default=True)
@_runs_dir_option
def ui(port: int, host: str, output: Path, runs_dir: Path | None) -> None:
    """Build the site, serve it on localhost, and rebuild it when runs change.

    Example:

        \b
        gitruns ui --port 8765

    A port another program holds is named, with the next free one (offered
    as a choice in a terminal).
    """
    from gitruns.site.serve import PortInUse, serve, wait_forever

    def rebuilt(report: Any) -> None:
        console.print(f"Rebuilt the site: {report.written} file(s) changed.")

    while True:
        try:
            with _progress() as advance:
                server = serve(
                    _runs_dir(runs_dir),
                    output,
                    port=port,
                    host=host,
                    on_progress=advance,
                    on_rebuild=rebuilt,
                )
            break
        except PortInUse as busy:
            if busy.free_port is None or not sys.stdin.isatty():
                raise
            question = f"Port {port} is in use by another program. Serve on {busy.free_port}?"
            if not click.confirm(question, default=True, err=True):
                raise
            port = busy.free_port
    console.print(
        f"Built {esc(output)}; serving it at "
        f"[bold]http://{esc(host)}:{server.server_address[1]}/[/] "
        "(Ctrl-C to stop)."
    )
    try:
        wait_forever()
    except KeyboardInterrupt:
        server.shutdown()


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
@_runs_dir_option
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
        result = review(_runs_dir(runs_dir), base, metric=metric, site_url=site_url)
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


def main() -> None:
    cli(prog_name="gitruns")


if __name__ == "__main__":
    main()
