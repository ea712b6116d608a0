"""``python -m gitruns``: the command line, from any interpreter gitruns is installed in."""

from gitruns.cli import main

main()
