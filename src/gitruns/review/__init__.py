"""``gitruns review``: a pull request's runs against the base's best, in four rooms: the
:mod:`~gitruns.review.model` of a review, the :mod:`~gitruns.review.compare` that makes
it, its :mod:`~gitruns.review.markdown` comment and its JSON
:mod:`~gitruns.review.transport` between the two workflow jobs."""

from __future__ import annotations

from gitruns.review.compare import (
    KIND_TAGS,
    UnknownMetric,
    base_records,
    changed_runs,
    resolve_base,
    review,
    run_kind,
)
from gitruns.review.markdown import (
    WORD_JOINER,
    render_markdown,
)
from gitruns.review.model import (
    BUDGET,
    GITHUB_LIMIT,
    MARKER,
    ChangedRun,
    ExperimentReview,
    Review,
    RunResult,
)
from gitruns.review.transport import (
    InvalidReview,
    render_json,
    review_from_json,
    to_json,
)

__all__ = [
    "BUDGET",
    "GITHUB_LIMIT",
    "KIND_TAGS",
    "MARKER",
    "WORD_JOINER",
    "ChangedRun",
    "ExperimentReview",
    "InvalidReview",
    "Review",
    "RunResult",
    "UnknownMetric",
    "base_records",
    "changed_runs",
    "render_json",
    "render_markdown",
    "resolve_base",
    "review",
    "review_from_json",
    "run_kind",
    "to_json",
]
