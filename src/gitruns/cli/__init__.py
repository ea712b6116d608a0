"""``gitruns ...``: each command a thin wrapper over a documented function.

The root group and what commands share are in :mod:`gitruns.cli.app`; each command
group is a module of its own, registered here by importing it.
"""

from __future__ import annotations

# Importing each command module registers its commands on the root group.
from gitruns.cli import experiments, models, project, review, runs, site, team, transfer  # noqa: F401
from gitruns.cli.app import cli, console

__all__ = ["cli", "console", "main"]


def main() -> None:
    cli(prog_name="gitruns")


if __name__ == "__main__":
    main()
