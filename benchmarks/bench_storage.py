"""What runs cost in git: files, bytes, and the time of git's everyday commands.

Logs N runs (10 params, 5 metrics x 100 steps each) into a fresh repository,
then measures what every clone and every ``git status`` pays for them:

    files in runs/ and files per ended run (target: at most 3)
    git add runs, git commit, git status after the commit
    .git after git gc, in bytes per metric point (target: at most 12)
    git clone --no-local (target at 10,000 runs: under 15 s; git add under 5 s)

Run it in a folder under your home directory, not /tmp (files under /tmp cost
10-30x more to create on some machines, which hides what storage costs):

    python benchmarks/bench_storage.py --runs 10000 --workspace ~/bench
"""

from __future__ import annotations

import argparse
import os
import subprocess
import time
from collections import Counter
from pathlib import Path

from common import GIT, add_workspace_option, log_runs, new_repository

METRIC_POINTS_PER_RUN = 5 * 100


def timed(command: list[str], cwd: Path) -> float:
    started = time.perf_counter()
    subprocess.run(command, cwd=cwd, check=True, stdout=subprocess.DEVNULL)
    return time.perf_counter() - started


def folder_bytes(folder: Path) -> tuple[int, int]:
    files = size = 0
    for root, _, names in os.walk(folder):
        for name in names:
            files += 1
            size += os.lstat(os.path.join(root, name)).st_size
    return files, size


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--runs", type=int, default=10_000)
    add_workspace_option(parser)
    args = parser.parse_args()
    with new_repository(args.workspace, "bench-storage-", "project") as repository:
        workspace = repository.parent
        started = time.perf_counter()
        log_runs(args.runs)
        print(f"logged {args.runs:,} runs in {time.perf_counter() - started:.1f} s")

        runs = repository / "runs"
        files, size = folder_bytes(runs)
        per_run = Counter()
        for path in runs.glob("*/*/*"):
            if not path.name.startswith("."):
                per_run[path.parent] += 1
        print(
            f"runs/: {files:,} files, {size / 1e6:.1f} MB; files per ended run: "
            f"{max(per_run.values())} (target: at most 3)"
        )
        add = timed(["git", "add", "runs"], repository)
        # gc.auto=0: a background gc started by the commit would skew the measures after it.
        commit = timed([*GIT, "-c", "gc.auto=0", "commit", "-qm", "Add runs"], repository)
        status = min(timed(["git", "status", "--porcelain"], repository) for _ in range(3))
        print(f"git add runs: {add:.1f} s (target at 10,000 runs: 5 s)")
        print(f"git commit: {commit:.1f} s; git status after it: {status:.2f} s")
        timed(["git", "gc", "-q"], repository)
        _, git_size = folder_bytes(repository / ".git")
        points = args.runs * METRIC_POINTS_PER_RUN
        print(
            f".git after git gc: {git_size / 1e6:.1f} MB, {git_size / points:.1f} bytes per "
            f"metric point (target: at most 12)"
        )
        clone = timed(
            ["git", "clone", "-q", "--no-local", str(repository), str(workspace / "clone")],
            workspace,
        )
        print(f"git clone --no-local: {clone:.1f} s (target at 10,000 runs: 15 s)")


if __name__ == "__main__":
    main()
