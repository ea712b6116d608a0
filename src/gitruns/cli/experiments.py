"""``gitruns experiments``: experiments with their primary metric and best run."""

from __future__ import annotations

from pathlib import Path

import click

# Control characters a terminal would act on (ESC starts ANSI sequences); tab and newline stay.
from gitruns.cli.app import (
    VIEWS,
    SafeTable,
    cli,
    console,
    esc,
    existing_runs_folder,
    format_number,
    format_time,
    json_option,
    open_client,
    print_json,
    ranking_label,
    resolve_experiment,
    runs_dir_option,
    runs_folder,
    view_option,
)
from gitruns.listing import ViewType
from gitruns.workspace import Workspace


@cli.group()
def experiments() -> None:
    """Experiments: each is a folder under runs/.

    Example:

        \b
        gitruns experiments list
    """


@experiments.command("list")
@view_option
@json_option
@runs_dir_option
def experiments_list(view: str, as_json: bool, runs_dir: Path | None) -> None:
    """List experiments with their run count, best primary metric and last activity.

    Example:

        \b
        gitruns experiments list
    """
    summaries = Workspace.at(existing_runs_folder(runs_dir)).summaries(ViewType.stages(VIEWS[view]))
    if as_json:
        print_json(
            [
                {
                    "experiment_id": s.experiment_id,
                    "name": s.name,
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
    table = SafeTable(title=esc(f"Experiments in {runs_folder(runs_dir)}"), title_justify="left")
    for column in ("id", "name", "runs", "primary metric", "best", "best run", "last run"):
        table.add_column(column, justify="right" if column in ("runs", "best") else "left")
    for s in summaries:
        table.add_row(
            s.experiment_id,
            s.name,
            str(s.runs),
            ranking_label(s.ranking),
            format_number(s.best),
            (s.ranking.best_id or "")[:12],
            format_time(s.last_activity),
        )
    console.print(table)
    if any(s.primary_metric and not s.ranking.declared for s in summaries):
        console.print(
            "* guessed: the metric most runs logged. Declare it with "
            "set_experiment(name, primary_metric=..., goal=...).",
            highlight=False,
        )


@experiments.command("rename")
@click.argument("experiment")
@click.argument("new_name")
@runs_dir_option
def experiments_rename(experiment: str, new_name: str, runs_dir: Path | None) -> None:
    """Rename EXPERIMENT (its name or id) to NEW_NAME. Its folder, which is its id,
    stays, so runs, links and other branches keep finding it.

    Example:

        \b
        gitruns experiments rename "taxi tests" nyc-taxi
    """
    client = open_client(runs_folder(runs_dir))
    experiment_id = resolve_experiment(client, experiment)
    client.rename_experiment(experiment_id, new_name)
    console.print(
        f"Renamed experiment {esc(experiment)} to {esc(new_name)} (id {esc(experiment_id)})."
    )
