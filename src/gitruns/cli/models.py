"""``gitruns models``: the registry's versions, stages and history (git tags)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click
from rich.text import Text

# Control characters a terminal would act on (ESC starts ANSI sequences); tab and newline stay.
from gitruns.cli.app import (
    SafeTable,
    cli,
    console,
    esc,
    format_time,
    json_option,
    open_client,
    print_json,
    runs_dir_option,
    runs_folder,
    terminal_text,
)
from gitruns.entities import ModelVersion, RegisteredModel
from gitruns.registry import TagEvent
from gitruns.registry.tags import mlflow_stage
from gitruns.workspace import Workspace

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
@json_option
@runs_dir_option
def models_list(as_json: bool, runs_dir: Path | None) -> None:
    """List registered models with their latest version, stages and aliases.

    Example:

        \b
        gitruns models list
    """
    found = open_client(runs_dir).search_registered_models()
    if as_json:
        print_json([_model_json(model) for model in found])
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
            format_time(model.last_updated_timestamp),
        )
    console.print(table)
    from gitruns.team import registry_not_pushed

    pending = registry_not_pushed(runs_folder(runs_dir))
    if pending is not None and pending[1]:
        remote, events = pending
        shown = ", ".join(event.tag for event in events[:6]) + (" ..." if len(events) > 6 else "")
        console.print(
            f"{len(events)} registry change(s) not yet on {esc(remote)} (gitruns push sends "
            f"them): {esc(shown)}",
            highlight=False,
            soft_wrap=True,
        )


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
@json_option
@runs_dir_option
def models_show(name: str, as_json: bool, runs_dir: Path | None) -> None:
    """Show every version of a model: stage, aliases, run, who registered it and when.

    Example:

        \b
        gitruns models show nyc-taxi-regressor
    """
    client = open_client(runs_dir)
    model = client.get_registered_model(name)
    versions = client.search_model_versions(f"name = '{name}'")
    if as_json:
        print_json({**_model_json(model), "versions": [_version_json(v) for v in versions]})
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
            format_time(version.creation_timestamp),
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
@runs_dir_option
def models_register(
    name: str, run_id: str, path: str, description: str | None, runs_dir: Path | None
) -> None:
    """Register a run's model as the next version of NAME (an annotated tag NAME@vN.0.0).

    Example:

        \b
        gitruns models register nyc-taxi-regressor --run 01a20b10edf1
    """
    client = open_client(runs_dir)
    full_id = client.get_run(run_id).info.run_id
    client.workspace.artifact_path(full_id, path)  # here, unlike MLflow's API: say so now
    version = client.create_model_version(name, f"runs:/{full_id}/{path}", description=description)
    console.print(
        f"Registered {esc(name)} version {version.version} (tag {esc(name)}@v{version.version}.0.0)"
        f" from run {full_id}. Publish it with: gitruns push (or git push --tags)",
        soft_wrap=True,
    )


@models.command("promote")
@click.argument("name")
@click.argument("version")
@click.argument("stage")
@click.option(
    "--archive-existing", is_flag=True, help="Move the stage's other versions to archived."
)
@click.option("--custom-stage", is_flag=True, help="Allow a stage of your own (a GTO stage name).")
@runs_dir_option
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
    moved = open_client(runs_dir).transition_model_version_stage(
        name,
        version.removeprefix("v").removesuffix(".0.0"),
        stage,
        archive_existing,
        allow_custom=custom_stage,
    )
    console.print(
        f"{esc(name)} version {moved.version} is now in {esc(moved.current_stage)}. "
        "Publish it with: gitruns push (or git push --tags)",
        soft_wrap=True,
    )


@models.command("history")
@click.argument("name")
@json_option
@runs_dir_option
def models_history(name: str, as_json: bool, runs_dir: Path | None) -> None:
    """Every registration and stage change of a model, with who and when.

    Example:

        \b
        gitruns models history nyc-taxi-regressor
    """
    events = Workspace.at(runs_folder(runs_dir)).registry.history(name)
    rows = [_event_row(event) for event in events]
    if as_json:
        print_json(rows)
        return
    table = SafeTable(title=esc(f"History of {name}"), title_justify="left")
    for column in ("when", "who", "what", "tag"):
        table.add_column(column)
    for row in rows:
        table.add_row(
            format_time(row["time"] * 1000, full=True), row["who"], row["what"], row["tag"]
        )
    console.print(table)


def _event_row(event: TagEvent) -> dict[str, Any]:
    name = event.name
    version = event.version
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
