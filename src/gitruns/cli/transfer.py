"""MLflow both ways: ``gitruns import mlflow`` and ``gitruns export mlflow``."""

from __future__ import annotations

from pathlib import Path

import click

# Control characters a terminal would act on (ESC starts ANSI sequences); tab and newline stay.
from gitruns.cli.app import (
    cli,
    console,
    esc,
    progress_bar,
    runs_dir_option,
    runs_folder,
)

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
@runs_dir_option
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

    folder = runs_folder(runs_dir)
    with progress_bar("Importing runs") as advance:
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
@runs_dir_option
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

    with progress_bar("Exporting runs") as advance:
        report = export_mlflow(
            runs_folder(runs_dir),
            dest,
            experiments_ or None,
            registry=not no_registry,
            progress=advance,
        )
    console.print(esc(report.summary()), highlight=False, soft_wrap=True)
