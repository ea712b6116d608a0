"""The review as one GitHub comment: every user string inert in Markdown (one table cell,
no mention, no link but to a folder's run id), under GitHub's size limit."""

from __future__ import annotations

import re

from gitruns.review.model import BUDGET, GITHUB_LIMIT, MARKER, ExperimentReview, Review
from gitruns.store.names import RUN_ID_PATTERN

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
