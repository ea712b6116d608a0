"""``gitruns runs``: list, show, compare, delete, restore and reproduce runs."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import click
from rich.table import Table
from rich.text import Text

from gitruns import system_tags

# Control characters a terminal would act on (ESC starts ANSI sequences); tab and newline stay.
from gitruns.cli.app import (
    VIEWS,
    SafeTable,
    cli,
    console,
    esc,
    format_number,
    format_time,
    json_option,
    open_client,
    print_json,
    ranking_label,
    resolve_experiment,
    run_json,
    runs_dir_option,
    runs_folder,
    status_text,
    view_option,
)
from gitruns.entities import Run
from gitruns.exceptions import GitrunsError
from gitruns.listing import LifecycleStage, ViewType
from gitruns.query.tables import abbreviate, compare_runs, format_duration, tree_order


@cli.group()
def runs() -> None:
    """Find, show, compare, delete and restore runs.

    Example:

        \b
        gitruns runs list --filter "metrics.rmse < 7" --order-by "metrics.rmse ASC"
    """


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
@view_option
@json_option
@runs_dir_option
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
    client = open_client(runs_dir, reading=True)
    ids = [resolve_experiment(client, name) for name in experiments_] or [
        experiment.experiment_id for experiment in client.search_experiments(ViewType.ALL)
    ]
    chosen = _parse_columns(columns)
    client.check_search(ids, filter_string, list(order_by))
    found = client.search_runs(ids, filter_string, VIEWS[view], limit, list(order_by) or None)
    if as_json:
        print_json([run_json(run) for run in found])
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
        ("status", [status_text(run.info.status) for run, _ in rows]),
        ("started", [format_time(run.info.start_time) for run, _ in rows]),
        ("duration", [format_duration(run.info.start_time, run.info.end_time) for run, _ in rows]),
    ]
    rankings = {
        summary.experiment_id: summary
        for summary in client.workspace.summaries(ViewType.stages(ViewType.ALL))
        if summary.experiment_id in ids
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
            f"Best of {esc(summary.name)} by {esc(ranking_label(ranking))}: "
            f"{esc(best.info.run_name)} {ranking.best_id[:width]} = "
            f"{format_number(ranking.best_value)}",
            highlight=False,
            soft_wrap=True,
        )


def _parse_columns(text: str | None) -> list[tuple[str, str]]:
    """``"metrics.rmse,params.max_depth"`` -> [("metric", "rmse"), ("param", "max_depth")]."""
    from gitruns.query.filters import Token, parse_field

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
        return format_number(run.data.metrics.get(key), 4)
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


@runs.command("show")
@click.argument("run_id")
@json_option
@runs_dir_option
def runs_show(run_id: str, as_json: bool, runs_dir: Path | None) -> None:
    """Show everything a run recorded: source, code version, params, metrics, tags, artifacts.

    RUN_ID may be any unique prefix of the id.

    Example:

        \b
        gitruns runs show 01a20b10edf1
    """
    client = open_client(runs_dir, reading=True)
    record, run_dir = client.get_run_record(run_id)
    if as_json:
        print_json(record.to_dict())
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
            status_text(record.status)
            + (" (deleted)" if record.lifecycle_stage == LifecycleStage.DELETED else ""),
        ),
        ("error", f"{record.error['type']}: {record.error['message']}" if record.error else ""),
        ("started", format_time(record.start_time, full=True)),
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
                format_number(summary.last),
                format_number(summary.min),
                format_number(summary.max),
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
    from gitruns.reproduce import check_data, data_sources, reproduce_command

    top = client.workspace.repo_top
    if record.data_files and top is not None:
        read = SafeTable(title="data read (files git does not hold)", title_justify="left")
        for column in ("file", "size", "sha256", "in the work tree now"):
            read.add_column(column)
        for check in check_data(record, top):
            size, digest = check.recorded or (None, "")
            read.add_row(
                check.path,
                "" if size is None else f"{size:,} B",
                digest[:12],
                check.state if check.state != "unchecked" else "",
            )
        console.print(read)
    artifacts = client.list_artifacts(record.id)
    if artifacts:
        console.print(
            "[bold]artifacts:[/] "
            + esc(", ".join(info.path + ("/" if info.is_dir else "") for info in artifacts))
        )
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
    command = reproduce_command(record.id, data_sources(record, top))
    console.print(f"[bold]reproduce:[/] {esc(command)}", highlight=False)


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
@json_option
@runs_dir_option
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
    client = open_client(runs_dir, reading=True)
    compared = [client.get_run(run_id) for run_id in run_ids]
    rows = compare_runs([run.data for run in compared])
    if as_json:
        print_json(
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
        cells = [
            format_number(value) if row.kind == "metric" else (value or "") for value in row.values
        ]
        style = "yellow" if row.differs else None
        table.add_row("≠" if row.differs else "", f"{row.kind}s.{row.key}", *cells, style=style)
    console.print(table)


@runs.command("delete")
@click.argument("run_ids", nargs=-1, required=True)
@runs_dir_option
def runs_delete(run_ids: tuple[str, ...], runs_dir: Path | None) -> None:
    """Soft-delete runs: hidden from lists and searches, kept on disk until restored.

    Example:

        \b
        gitruns runs delete 01a20b10edf1
    """
    client = open_client(runs_dir)
    for run_id in run_ids:
        client.delete_run(run_id)
        full_id = client.get_run(run_id).info.run_id
        console.print(f"Deleted run {full_id}; 'gitruns runs restore {full_id}' brings it back.")


@runs.command("restore")
@click.argument("run_ids", nargs=-1, required=True)
@runs_dir_option
def runs_restore(run_ids: tuple[str, ...], runs_dir: Path | None) -> None:
    """Bring soft-deleted runs back.

    Example:

        \b
        gitruns runs restore 01a20b10edf1
    """
    client = open_client(runs_dir)
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
    "--keep-all",
    is_flag=True,
    help="Keep every run the command logs, not only the one standing for the original.",
)
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
@runs_dir_option
def runs_reproduce(
    run_id: str,
    tolerance: float,
    data: tuple[Path, ...],
    keep: bool,
    keep_all: bool,
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

    folder = runs_folder(runs_dir)
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
            keep_all=keep_all,
        )
    if result.left_out:
        console.print(
            f"The command logged {len(result.left_out)} other run(s), not kept: only the one "
            "standing for the original was copied into runs/ (--keep-all keeps them all)."
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
            format_number(delta.old),
            format_number(delta.new),
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
