"""What a review found: each experiment's new runs against the base's best, and the base's
runs the branch changed."""

from __future__ import annotations

from dataclasses import dataclass, field

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
