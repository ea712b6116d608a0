"""``gitruns site build`` and ``gitruns ui``: the static site, and serving it while runs change."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import click

# Control characters a terminal would act on (ESC starts ANSI sequences); tab and newline stay.
from gitruns.cli.app import (
    cli,
    console,
    esc,
    existing_runs_folder,
    progress_bar,
    runs_dir_option,
    runs_folder,
)

# -- the site -----------------------------------------------------------------------------


@cli.group()
def site() -> None:
    """The static site: experiments, runs, charts and models as HTML pages.

    Example:

        \b
        gitruns site build && open site/index.html
    """


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
@runs_dir_option
def site_build(output: Path, templates: Path | None, base_url: str, runs_dir: Path | None) -> None:
    """Build the site from runs/ and the registry's tags; only changed pages are written.

    Example:

        \b
        gitruns site build --output site --base-url https://me.github.io/project
    """
    from gitruns.site import build_site

    with progress_bar() as advance:
        report = build_site(
            existing_runs_folder(runs_dir),
            output,
            base_url=base_url,
            templates=templates,
            on_progress=advance,
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
@runs_dir_option
def ui(port: int, host: str, output: Path, runs_dir: Path | None) -> None:
    """Build the site, serve it on localhost, and rebuild it when runs change.

    Example:

        \b
        gitruns ui --port 8765

    A port another program holds is named, with the next free one (offered
    as a choice in a terminal).
    """
    from gitruns.site.serve import PortInUse, serve, wait_forever

    def rebuilt(rebuilds: Any) -> None:
        times = "once" if rebuilds.times == 1 else f"{rebuilds.times} times"
        console.print(f"Rebuilt the site {times}: {rebuilds.written} file(s) changed.")

    while True:
        try:
            with progress_bar() as advance:
                server = serve(
                    runs_folder(runs_dir),
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
