"""``gitruns runs reproduce ID``: run a recorded run again from its code, and compare.

A run records what made it: the commit, the uncommitted diff, the command and
the installed packages. Reproducing it is one pipeline:

1. a temporary checkout of the run's commit, with ``code.diff`` applied: a clone
   that shares the repository's objects, so the user's work tree, index, branches
   and tags are not touched, not even by a script that registers a model; the files
   the run read that git does not hold (its data) are linked in while their SHA-256
   is still the one the run recorded, and a changed or missing one is named;
2. the environment compared with the recorded one (packages added, removed or at
   another version);
3. the recorded command run again in the checkout, with this Python; its runs are
   logged there, as the original was in its tree, so they record that code
   version, then copied into the user's ``runs/``;
4. the new run that stands for the original (same name, else same params) is
   compared metric by metric, and tagged with the run it reproduces and the verdict.

A run that cannot be run again (a notebook, an interactive session, a killed run)
gets the checkout with its code and an explanation, so the user can go on by hand.

A record may come from anyone's branch, so nothing runs before it is seen:
:func:`plan_reproduction` says what would run (command, commit, the diff's files,
the environment), and only a command gitruns itself records for a script (this
Python running a file the commit holds, with its arguments) runs without the
user's word; any other needs ``command=`` (the user's own) or ``accept_command``.
The checkout runs no hook or filter, and a recorded package list is installed
only when every line is a plain requirement.

Example::

    result = reproduce_run(Path("runs"), "01a20b10edf1")
    print(result.verdict, [(m.key, m.old, m.new) for m in result.metrics])
"""

from __future__ import annotations

from gitruns.reproduce.plan import (
    DataCheck,
    Drift,
    Plan,
    ReproduceError,
    check_data,
    data_sources,
    environment_drift,
    plan_reproduction,
    reproduce_command,
    why_not_rerunnable,
)
from gitruns.reproduce.rerun import (
    REPRODUCES_TAG,
    VERDICT_TAG,
    MetricDelta,
    Reproduction,
    reproduce_run,
    run_plan,
)

__all__ = [
    "REPRODUCES_TAG",
    "VERDICT_TAG",
    "DataCheck",
    "Drift",
    "MetricDelta",
    "Plan",
    "ReproduceError",
    "Reproduction",
    "check_data",
    "data_sources",
    "environment_drift",
    "plan_reproduction",
    "reproduce_command",
    "reproduce_run",
    "run_plan",
    "why_not_rerunnable",
]
