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

import json
import logging
import re
import subprocess
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from gitruns import system_tags
from gitruns.exceptions import GitError
from gitruns.query.ranking import finite, rank
from gitruns.store import RunStore
from gitruns.store.names import RUN_ID_PATTERN
from gitruns.store.record import EXPERIMENT_FILE, RUN_FILE, RunRecord
from gitruns.utils.files import read_regular_file
from gitruns.utils.git import find_repo_top, run_git
from gitruns.utils.yamlcodec import load_record_yaml

logger = logging.getLogger(__name__)

MARKER = "<!-- gitruns-review -->"
GITHUB_LIMIT = 65_536
BUDGET = 60_000  # room for the closing note and the marker


@dataclass
class RunResult:
    id: str
    name: str
    value: float | None
    params: dict[str, str]
    delta: float | None = None
    beats: bool | None = None
    differing: dict[str, tuple[str | None, str | None]] = field(default_factory=dict)
    baseline: RunResult | None = None  # the base's best run of the same kind, else its best
    kind: str = ""
    same_kind: bool = False  # whether the baseline is of this run's kind


@dataclass
class ExperimentReview:
    id: str
    name: str
    metric: str | None
    goal: str
    base_best: RunResult | None
    added: list[RunResult]

    @property
    def best_added(self) -> RunResult | None:
        scored = [run for run in self.added if run.value is not None]
        if not scored:
            return None
        pick = min if self.goal == "minimize" else max
        return pick(scored, key=lambda run: run.value)  # type: ignore[arg-type, return-value]


@dataclass
class ChangedRun:
    """A run the base already has that the branch edits, soft-deletes or removes."""

    id: str
    experiment: str
    name: str
    change: str  # "edited", "soft-deleted" or "removed"
    files: list[str] = field(default_factory=list)  # paths inside the run's folder


@dataclass
class Review:
    base: str
    base_commit: str
    experiments: list[ExperimentReview]
    site_url: str | None = None
    changed: list[ChangedRun] = field(default_factory=list)

    @property
    def added_runs(self) -> int:
        return sum(len(experiment.added) for experiment in self.experiments)


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

    store = RunStore(runs_dir)
    experiments = []
    for experiment_id in store.experiment_ids():
        added_entries = [  # a run the branch added and deleted is not a result
            entry
            for entry, _ in store.entries([experiment_id])
            if entry.id not in base_ids and entry.lifecycle_stage != "deleted"
        ]
        if not added_entries:
            continue
        experiment_record = store.get_experiment(experiment_id)
        # One rule for every surface (query.ranking), over the runs the branch holds.
        ranking = rank(
            experiment_record.primary_metric,
            experiment_record.goal,
            [entry for entry, _ in store.entries([experiment_id])],
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
            if isinstance(now, dict) and now.get("lifecycle_stage") == "deleted":
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
    import difflib

    close = difflib.get_close_matches(metric, sorted(known), n=1)
    hint = (
        f" Did you mean {close[0]!r}?"
        if close
        else f" The runs have: {', '.join(sorted(known)[:10])}."
    )
    raise UnknownMetric(
        f"no run logged the metric {metric!r}, so nothing can be compared on it.{hint}"
    )


def _best_base(records: list[RunRecord], metric: str | None, goal: str) -> RunResult | None:
    scored: list[tuple[RunRecord, float]] = []
    for record in sorted(records, key=lambda record: record.start_time):  # ties: first wins
        if metric and metric in record.metrics and record.lifecycle_stage != "deleted":
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


_MARKDOWN_SPECIAL = re.compile(r"([\\`*_{}\[\]<>()#+!|~:])")
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u200b-\u200f\u202a-\u202e\u2066-\u2069]")
# What GitHub turns into a notification or a link: @user, @org/team, #12, GH-12.
_REFERENCE = re.compile(r"([@#]|(?<![A-Za-z])GH-)(?=[\w-])", re.IGNORECASE)
WORD_JOINER = "\u2060"  # invisible, and stops GitHub from reading a mention or reference


def _text(value: object, limit: int = 60) -> str:
    """User text made inert in Markdown: one line, special characters escaped, and no
    mention (``@team``) or reference (``#12``) that would notify or link."""
    text = " ".join(_CONTROL.sub(" ", str(value)).split())
    if len(text) > limit:
        text = text[: limit - 1] + "…"
    text = _REFERENCE.sub(lambda match: match.group(1) + WORD_JOINER, text)
    return _MARKDOWN_SPECIAL.sub(r"\\\1", text)


def _shown(value: str | None) -> str:
    return _text(value if value is not None else "∅", 20)


def _number(value: float | None) -> str:
    return "—" if value is None else f"{value:.4g}"


def _delta(value: float | None) -> str:
    return "—" if value is None else f"{value:+.4g}"


def _mermaid_label(value: str) -> str:
    return re.sub(r"[^A-Za-z0-9 ._-]", "", value)[:24] or "run"


def _run_link(review: Review, run_id: str, name: str, published: bool = True) -> str:
    """A run's name and id, linked to its page on the site when that page exists: the
    base's runs are published, a branch's new runs only after the merge."""
    if not RUN_ID_PATTERN.match(run_id):  # only an id can become part of a link
        return f"{_text(name, 40)} ({_text(run_id, 12)})"
    label = f"{_text(name, 40)} `{run_id[:10]}`"
    if review.site_url and published:
        return f"[{label}]({review.site_url}/runs/{run_id}.html)"
    return label


def _changed_section(review: Review) -> str:
    lines = [
        "### Runs of the base this branch changes",
        "",
        "| run | experiment | change | files |",
        "|---|---|---|---|",
    ]
    for run in review.changed[:100]:
        files = ", ".join(_text(path, 40) for path in run.files[:5])
        if len(run.files) > 5:
            files += f", and {len(run.files) - 5} more"
        lines.append(
            f"| {_run_link(review, run.id, run.name)} | {_text(run.experiment, 40)} | "
            f"**{run.change}** | {files} |"
        )
    if len(review.changed) > 100:
        lines.append(f"\n_{len(review.changed) - 100} more changed run(s) left out._")
    return "\n".join(lines) + "\n"


def _section(review: Review, experiment: ExperimentReview, budget: int) -> str:
    lines = [f"### {_text(experiment.name)}", ""]
    metric = _text(experiment.metric or "(no metric)")
    direction = "lower is better" if experiment.goal == "minimize" else "higher is better"
    best = experiment.base_best
    if best is None:
        lines.append(f"The base has no runs with **{metric}** to compare with ({direction}).")
    else:
        lines.append(
            f"Base best **{metric}**: {_number(best.value)} from "
            f"{_run_link(review, best.id, best.name)} ({direction})."
        )
    lines += [
        "",
        "Each new run is compared with the base's best run of its kind (the same model "
        "family, or the same params); where the base has none, with its best run.",
        "",
        f"| run | {metric} | compared with | Δ | beats it | params changed |",
        "|---|---|---|---|---|---|",
    ]
    used = sum(len(line) + 1 for line in lines)
    shown = 0
    for run in experiment.added:
        beats = "—" if run.beats is None else ("✅ yes" if run.beats else "no")
        differing = ", ".join(
            f"{_text(key, 30)}: {_shown(old)} → {_shown(new)}"
            for key, (old, new) in list(run.differing.items())[:6]
        )
        if len(run.differing) > 6:
            differing += f", and {len(run.differing) - 6} more"
        base = run.baseline
        against = "—"
        if base is not None:
            against = _run_link(review, base.id, base.name) + (
                "" if run.same_kind else " (best; none of its kind)"
            )
        row = (
            f"| {_run_link(review, run.id, run.name, published=False)} | {_number(run.value)} | "
            f"{against} | {_delta(run.delta)} | {beats} | {differing} |"
        )
        if used + len(row) + 1 > budget:
            break
        lines.append(row)
        used += len(row) + 1
        shown += 1
    if shown < len(experiment.added):
        lines += [
            "",
            f"_{len(experiment.added) - shown} more run(s) left out to stay under "
            f"GitHub's {GITHUB_LIMIT:,}-character limit._",
        ]
    scored = [run for run in experiment.added if run.value is not None][:30]
    if scored:
        labels = (
            [_mermaid_label(f"base {best.name}")] if best and best.value is not None else []
        ) + [_mermaid_label(run.name) for run in scored]
        values = ([best.value] if best and best.value is not None else []) + [
            run.value for run in scored
        ]
        lines += [
            "",
            "```mermaid",
            "xychart-beta",
            f'    title "{_mermaid_label(experiment.metric or "metric")} ({direction})"',
            "    x-axis [" + ", ".join(f'"{label}"' for label in labels) + "]",
            "    bar [" + ", ".join(f"{value:.6g}" for value in values) + "]",
            "```",
        ]
    return "\n".join(lines) + "\n"


def render_markdown(review: Review) -> str:
    """The review comment: a summary, one section per experiment, under GitHub's size limit."""
    head = [MARKER, "## gitruns: runs in this pull request", ""]
    changed = ""
    if review.changed:
        counts = {
            change: sum(run.change == change for run in review.changed)
            for change in ("edited", "soft-deleted", "removed")
        }
        said = ", ".join(f"{count} {change}" for change, count in counts.items() if count)
        head.append(f"⚠️ This branch changes runs the base already has: {said}.")
        head.append("")
        changed = _changed_section(review)
    if not review.experiments:
        head.append(
            f"This branch adds no runs compared with `{_text(review.base)}` "
            f"({_text(review.base_commit[:10])})."
        )
        return "\n".join(head) + "\n" + ("\n" + changed if changed else "")
    summary = []
    for experiment in review.experiments:
        best = experiment.best_added
        verdict = ""
        if best is not None and best.beats is not None:
            verdict = " — beats the base" if best.beats else " — does not beat the base"
        summary.append(
            f"- **{_text(experiment.name)}**: {len(experiment.added)} new run(s); best "
            f"{_text(experiment.metric or 'metric')} "
            f"{_number(best.value if best else None)}{verdict}"
        )
    head += [
        f"Compared with `{_text(review.base)}` ({_text(review.base_commit[:10])}):",
        "",
        *summary,
        "",
    ]
    body = "\n".join(head) + "\n"
    if changed:
        body += changed + "\n"
    left_out: list[str] = []
    for experiment in review.experiments:
        room = BUDGET - len(body)
        section = _section(review, experiment, room - 2_000) if room > 4_000 else ""
        if not section or len(body) + len(section) > BUDGET:
            left_out.append(f"{_text(experiment.name)} ({len(experiment.added)} runs)")
            continue
        body += section + "\n"
    if left_out:
        body += (
            f"\n_Left out to stay under GitHub's {GITHUB_LIMIT:,}-character limit: "
            + "; ".join(left_out[:20])
            + ("…" if len(left_out) > 20 else "")
            + ". Run `gitruns review` locally for everything._\n"
        )
    if review.site_url:
        body += f"\n[The runs on the site]({review.site_url}/index.html)\n"
    return body


def render_json(review: Review) -> dict[str, Any]:
    return {
        "base": review.base,
        "base_commit": review.base_commit,
        "site_url": review.site_url,
        "added_runs": review.added_runs,
        "changed_runs": [
            {
                "id": run.id,
                "experiment": run.experiment,
                "name": run.name,
                "change": run.change,
                "files": run.files,
            }
            for run in review.changed
        ],
        "experiments": [
            {
                "id": e.id,
                "name": e.name,
                "metric": e.metric,
                "goal": e.goal,
                "base_best": None
                if e.base_best is None
                else {"id": e.base_best.id, "name": e.base_best.name, "value": e.base_best.value},
                "added": [
                    {
                        "id": r.id,
                        "name": r.name,
                        "value": r.value,
                        "delta": r.delta,
                        "beats": r.beats,
                        "baseline": None
                        if r.baseline is None
                        else {
                            "id": r.baseline.id,
                            "name": r.baseline.name,
                            "value": r.baseline.value,
                            "same_kind": r.same_kind,
                        },
                        "differing_params": {k: list(v) for k, v in r.differing.items()},
                    }
                    for r in e.added
                ],
            }
            for e in review.experiments
        ],
    }


def to_json(review: Review) -> str:
    return json.dumps(render_json(review), indent=2)


class InvalidReview(GitError):
    """A review file that is not what ``gitruns review --format json`` writes."""


def review_from_json(text: str) -> Review:
    """A review read back from :func:`to_json`'s output, checked field by field.

    The file may come from a pull request's own job (a fork's code wrote it),
    so every field is checked for its type and every id for its form; the
    Markdown is then rendered here, escaping everything as usual.
    """
    try:
        data = json.loads(text)
        review = Review(
            base=_string(data["base"]),
            base_commit=_string(data["base_commit"]),
            experiments=[_experiment_from(item) for item in _list(data["experiments"])],
            site_url=_url(data.get("site_url")),
            changed=[
                ChangedRun(
                    _run_id(item["id"]),
                    _string(item["experiment"]),
                    _string(item["name"]),
                    _choice(item["change"], ("edited", "soft-deleted", "removed")),
                    [_string(path) for path in _list(item.get("files", []))],
                )
                for item in _list(data.get("changed_runs", []))
            ],
        )
    except (KeyError, TypeError, ValueError, AttributeError) as error:
        raise InvalidReview(
            f"the review file is not what 'gitruns review --format json' writes ({error}). "
            "Make it again with that command."
        ) from error
    return review


def _experiment_from(item: dict[str, Any]) -> ExperimentReview:
    best = item.get("base_best")
    return ExperimentReview(
        id=_string(item["id"]),
        name=_string(item["name"]),
        metric=None if item.get("metric") is None else _string(item["metric"]),
        goal=_choice(item["goal"], ("minimize", "maximize")),
        base_best=None
        if best is None
        else RunResult(_run_id(best["id"]), _string(best["name"]), _float(best["value"]), {}),
        added=[
            RunResult(
                _run_id(run["id"]),
                _string(run["name"]),
                _float(run.get("value")),
                {},
                delta=_float(run.get("delta")),
                beats=None if run.get("beats") is None else bool(run["beats"]),
                baseline=None
                if run.get("baseline") is None
                else RunResult(
                    _run_id(run["baseline"]["id"]),
                    _string(run["baseline"]["name"]),
                    _float(run["baseline"]["value"]),
                    {},
                ),
                same_kind=bool((run.get("baseline") or {}).get("same_kind")),
                differing={
                    _string(key): (
                        None if pair[0] is None else _string(pair[0]),
                        None if pair[1] is None else _string(pair[1]),
                    )
                    for key, pair in dict(run.get("differing_params") or {}).items()
                },
            )
            for run in _list(item["added"])
        ],
    )


def _string(value: Any) -> str:
    if not isinstance(value, str) or len(value) > 10_000:
        raise ValueError(f"expected text, got {type(value).__name__}")
    return value


def _list(value: Any) -> list[Any]:
    if not isinstance(value, list):
        raise ValueError(f"expected a list, got {type(value).__name__}")
    return value


def _float(value: Any) -> float | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ValueError(f"expected a number, got {type(value).__name__}")
    return finite(float(value))


def _run_id(value: Any) -> str:
    if not isinstance(value, str) or not RUN_ID_PATTERN.match(value):
        raise ValueError(f"{str(value)[:40]!r} is not a run id")
    return value


def _choice(value: Any, choices: tuple[str, ...]) -> str:
    if value not in choices:
        raise ValueError(f"{str(value)[:40]!r} is not one of {', '.join(choices)}")
    return str(value)


def _url(value: Any) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str) or not re.match(r"^https://[A-Za-z0-9._~/%-]+\Z", value):
        raise ValueError("site_url must be a plain https:// URL")
    return value.rstrip("/")
