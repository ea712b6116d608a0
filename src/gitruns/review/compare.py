"""Pull-request review: the runs a branch adds, against the base branch's best.

The branch's runs are the ones in the work tree; the base's are read from git
(``git ls-tree`` and one ``git cat-file --batch``), so the base need not be
checked out. Runs are matched by id: a run the base does not have is added.
For each experiment, the added runs are compared with the base's best run on
the primary metric (``experiment.yaml``, or ``metric=``): value, delta,
whether it beats the base, and the params that differ.

The Markdown carries a hidden marker so that one comment can be found and
updated on every push, and stays under GitHub's 65,536-character limit.
"""

from __future__ import annotations

import logging
import subprocess
from pathlib import Path
from typing import Any

from gitruns import system_tags
from gitruns.exceptions import GitError
from gitruns.query.ranking import finite, rank
from gitruns.review.model import ChangedRun, ExperimentReview, Review, RunResult
from gitruns.store.names import RUN_ID_PATTERN
from gitruns.store.record import DELETED, EXPERIMENT_FILE, RUN_FILE
from gitruns.store.run_record import RunRecord
from gitruns.utils.files import read_regular_file
from gitruns.utils.git import find_repo_top, run_git
from gitruns.utils.words import closest
from gitruns.utils.yamlcodec import load_record_yaml
from gitruns.workspace import Workspace

logger = logging.getLogger(__name__)


def base_records(repo_top: Path, commit: str, runs_path: str) -> dict[str, tuple[str, Any]]:
    """Every ``run.yaml`` and ``experiment.yaml`` under ``runs_path`` at ``commit``, parsed."""
    listing = run_git(["ls-tree", "-r", "--name-only", commit, "--", runs_path], repo_top).decode()
    wanted = [
        path
        for path in listing.splitlines()
        if path.endswith((f"/{RUN_FILE}", f"/{EXPERIMENT_FILE}"))
    ]
    if not wanted:
        return {}
    request = "".join(f"{commit}:{path}\n" for path in wanted).encode()
    process = subprocess.run(
        ["git", "cat-file", "--batch"], cwd=repo_top, input=request, capture_output=True, check=True
    )
    found: dict[str, tuple[str, Any]] = {}
    output = process.stdout
    position = 0
    for path in wanted:
        header_end = output.index(b"\n", position)
        header = output[position:header_end].split()
        size = int(header[2]) if len(header) == 3 else 0
        body = output[header_end + 1 : header_end + 1 + size]
        position = header_end + 1 + size + 1
        try:
            found[path] = (path, load_record_yaml(body))
        except Exception:  # a corrupt record on the base is skipped, as searches skip it
            logger.warning("Skipped %s at %s: not a readable record", path, commit[:10])
    return found


def resolve_base(repo_top: Path, base: str) -> str:
    try:
        return (
            run_git(["rev-parse", "--verify", "--quiet", f"{base}^{{commit}}"], repo_top)
            .decode()
            .strip()
        )
    except GitError as error:
        shallow = (
            run_git(["rev-parse", "--is-shallow-repository"], repo_top, check=False)
            .decode()
            .strip()
        )
        hint = (
            " This clone is shallow: fetch the base with full history, e.g. "
            "'git fetch --unshallow origin' or actions/checkout with fetch-depth: 0."
            if shallow == "true"
            else f" Fetch it first, e.g. 'git fetch origin {base.removeprefix('origin/')}'."
        )
        raise GitError(f"the base ref {base!r} does not exist in this repository.{hint}") from error


def review(
    runs_dir: Path, base: str, metric: str | None = None, site_url: str | None = None
) -> Review:
    """Compare the runs in the work tree with those on ``base``.

    Example::

        result = review(Path("runs"), "origin/main")
        print(render_markdown(result))
    """
    repo_top = find_repo_top(runs_dir if runs_dir.exists() else runs_dir.parent)
    if repo_top is None:
        raise GitError(
            f"{runs_dir} is not in a git repository, so there is no base to compare with. "
            "Run gitruns review inside the repository that holds your runs."
        )
    commit = resolve_base(repo_top, base)
    runs_path = runs_dir.resolve().relative_to(repo_top).as_posix()
    base_files = base_records(repo_top, commit, runs_path)
    base_runs: dict[str, list[RunRecord]] = {}
    base_ids: set[str] = set()
    for path, (_, data) in base_files.items():
        parts = path.split("/")
        if parts[-1] == RUN_FILE and RUN_ID_PATTERN.match(parts[-2]):
            base_ids.add(parts[-2])
            try:
                record = RunRecord.from_dict(data, origin=path)
            except Exception:
                continue
            if (record.id, record.experiment) != (parts[-2], parts[-3]):
                # Only a folder's name becomes a link or a page name, as in every reader.
                logger.warning("Skipped %s at %s: it names another run's folder", path, base)
                continue
            base_runs.setdefault(parts[-3], []).append(record)

    workspace = Workspace.at(runs_dir)
    experiments = []
    for experiment_id in workspace.experiment_ids():
        entries = [entry for entry, _ in workspace.entries([experiment_id])]
        added_entries = [  # a run the branch added and deleted is not a result
            entry
            for entry in entries
            if entry.id not in base_ids and entry.lifecycle_stage != DELETED
        ]
        if not added_entries:
            continue
        _, experiment_record = workspace.experiment(experiment_id)
        # One rule for every surface (query.ranking), over the runs the branch holds.
        ranking = rank(
            experiment_record.primary_metric,
            experiment_record.goal,
            entries,
            metric=metric,
        )
        chosen, goal = ranking.metric, ranking.goal
        if metric is not None:
            _check_metric(metric, added_entries, base_runs.get(experiment_id, []))
        candidates = base_runs.get(experiment_id, [])
        best = _best_base(candidates, chosen, goal)
        added = []
        for entry in sorted(added_entries, key=lambda e: e.start_time):
            result = RunResult(
                entry.id,
                entry.name,
                finite(entry.metrics.get(chosen)) if chosen else None,
                dict(entry.params),
                kind=run_kind(entry.tags, entry.params),
            )
            same = [r for r in candidates if run_kind(r.tags, r.params) == result.kind]
            baseline = _best_base(same, chosen, goal)
            result.same_kind = baseline is not None
            result.baseline = baseline or best
            _compare(result, goal)
            added.append(result)
        experiments.append(
            ExperimentReview(experiment_id, experiment_record.name, chosen, goal, best, added)
        )
    changed = changed_runs(repo_top, commit, runs_path, base_files)
    return Review(base, commit, experiments, site_url.rstrip("/") if site_url else None, changed)


def changed_runs(
    repo_top: Path, commit: str, runs_path: str, base_files: dict[str, tuple[str, Any]]
) -> list[ChangedRun]:
    """Runs of the base that the work tree changes: edited files, a soft delete, or gone."""
    output = run_git(
        ["diff", "--name-status", "-z", "--no-renames", commit, "--", runs_path], repo_top
    ).split(b"\0")
    touched: dict[tuple[str, str], list[tuple[str, str]]] = {}
    for status, raw in zip(output[0::2], output[1::2], strict=False):
        path = raw.decode("utf-8", errors="replace")
        parts = path[len(runs_path) + 1 :].split("/") if runs_path != "." else path.split("/")
        if len(parts) < 3 or not RUN_ID_PATTERN.match(parts[1]):
            continue
        run_file = f"{runs_path}/{parts[0]}/{parts[1]}/{RUN_FILE}".lstrip("./")
        if run_file not in base_files and f"./{run_file}" not in base_files:
            continue  # added by the branch, not changed
        touched.setdefault((parts[0], parts[1]), []).append(
            (status.decode(errors="replace"), "/".join(parts[2:]))
        )
    found = []
    for (experiment, run_id), files in sorted(touched.items()):
        base_data = base_files.get(f"{runs_path}/{experiment}/{run_id}/{RUN_FILE}".lstrip("./"))
        base_record = base_data[1] if base_data else {}
        name = str(base_record.get("name", "")) if isinstance(base_record, dict) else ""
        statuses = dict((path, status) for status, path in files)
        if statuses.get(RUN_FILE) == "D":
            change = "removed"
        else:
            change = "edited"
            run_dir = repo_top / runs_path / experiment / run_id
            try:
                now = load_record_yaml(read_regular_file(run_dir / RUN_FILE))
            except Exception:
                now = {}
            if isinstance(now, dict) and now.get("lifecycle_stage") == DELETED:
                change = "soft-deleted"
        found.append(ChangedRun(run_id, experiment, name, change, sorted(statuses)))
    return found


KIND_TAGS = system_tags.MODEL_KIND


def run_kind(tags: dict[str, str], params: dict[str, str]) -> str:
    """What kind of run this is, for a fair comparison: its model family from a tag, or
    else the set of its param keys (an XGBoost search and a Ridge fit differ in both)."""
    for key in KIND_TAGS:
        if tags.get(key):
            return f"{key}={tags[key]}"
    return "params:" + ",".join(sorted(params))


def _compare(result: RunResult, goal: str) -> None:
    """Delta and verdict against the run's baseline; the params that differ, those both
    runs set (what the branch changed) first, then those only one of them has."""
    base = result.baseline
    if base is None:
        return
    if result.value is not None and base.value is not None:
        result.delta = result.value - base.value
        result.beats = (
            result.value < base.value if goal == "minimize" else result.value > base.value
        )
    keys = set(base.params) | set(result.params)
    differing = [key for key in keys if base.params.get(key) != result.params.get(key)]
    differing.sort(key=lambda key: (not (key in base.params and key in result.params), key))
    result.differing = {key: (base.params.get(key), result.params.get(key)) for key in differing}


class UnknownMetric(GitError):
    """``--metric`` names a metric no run has."""


def _check_metric(metric: str, added: list[Any], base: list[RunRecord]) -> None:
    known = {key for entry in added for key in entry.metrics} | {
        key for record in base for key in record.metrics
    }
    if metric in known:
        return
    close = closest(metric, known)
    hint = (
        f" Did you mean {close!r}?"
        if close
        else f" The runs have: {', '.join(sorted(known)[:10])}."
    )
    raise UnknownMetric(
        f"no run logged the metric {metric!r}, so nothing can be compared on it.{hint}"
    )


def _best_base(records: list[RunRecord], metric: str | None, goal: str) -> RunResult | None:
    scored: list[tuple[RunRecord, float]] = []
    for record in sorted(records, key=lambda record: record.start_time):  # ties: first wins
        if metric and metric in record.metrics and record.lifecycle_stage != DELETED:
            value = finite(record.metrics[metric].last)
            if value is not None:
                scored.append((record, value))
    if not scored:
        return None
    pick = min if goal == "minimize" else max
    record, value = pick(scored, key=lambda pair: pair[1])
    return RunResult(
        record.id,
        record.name,
        value,
        dict(record.params),
        kind=run_kind(record.tags, record.params),
    )
