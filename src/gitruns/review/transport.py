"""The review as JSON, between the unprivileged job that makes it and the one that posts
it: written whole, and read back field by field as untrusted input."""

from __future__ import annotations

import json
import re
from typing import Any

from gitruns.exceptions import GitError
from gitruns.query.ranking import finite
from gitruns.review.model import ChangedRun, ExperimentReview, Review, RunResult
from gitruns.store.names import RUN_ID_PATTERN


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
