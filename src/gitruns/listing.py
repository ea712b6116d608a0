"""How MLflow lists things: which lifecycle stages a search shows (:class:`ViewType`),
and results a page at a time, with a token for the next page (:func:`page_of`).

Kept apart from the entities, so that a script that searches runs into a frame loads
none of them.
"""

from __future__ import annotations

import base64
import binascii
import json
from typing import Generic, TypeVar

from gitruns.exceptions import InvalidValue
from gitruns.store.record import ACTIVE, DELETED


class ViewType:
    """Which runs or experiments a search returns: live ones, deleted ones, or all."""

    ACTIVE_ONLY = 1
    DELETED_ONLY = 2
    ALL = 3

    @classmethod
    def from_string(cls, name: str) -> int:
        return {"ACTIVE_ONLY": 1, "DELETED_ONLY": 2, "ALL": 3}[name.upper()]

    @classmethod
    def to_string(cls, view_type: int) -> str:
        return {1: "ACTIVE_ONLY", 2: "DELETED_ONLY", 3: "ALL"}[view_type]

    @classmethod
    def includes(cls, view_type: int, lifecycle_stage: str) -> bool:
        """Whether a run or experiment in ``lifecycle_stage`` belongs to this view."""
        if view_type == cls.ALL:
            return True
        if view_type == cls.DELETED_ONLY:
            return lifecycle_stage == LifecycleStage.DELETED
        if view_type == cls.ACTIVE_ONLY:
            return lifecycle_stage != LifecycleStage.DELETED
        raise InvalidValue(
            f"view type {view_type!r} is not one of ViewType.ACTIVE_ONLY, DELETED_ONLY or ALL."
        )

    @classmethod
    def stages(cls, view_type: int) -> frozenset[str]:
        """The lifecycle stages this view shows."""
        return frozenset(
            stage
            for stage in (LifecycleStage.ACTIVE, LifecycleStage.DELETED)
            if cls.includes(view_type, stage)
        )


class LifecycleStage:
    """A run's or an experiment's lifecycle stage, as MLflow spells them."""

    ACTIVE = ACTIVE
    DELETED = DELETED


T = TypeVar("T")


class PagedList(list[T], Generic[T]):
    """A page of results; ``token`` fetches the next page, None on the last."""

    def __init__(self, items: list[T], token: str | None) -> None:
        super().__init__(items)
        self.token = token


def page_of(items: list[T], max_results: int | None, page_token: str | None) -> PagedList[T]:
    """The page of ``items`` that ``page_token`` (None: the first) points to, at most
    ``max_results`` long, with the token of the next page."""
    start = _offset(page_token)
    if max_results is None:
        return PagedList(items[start:], None)
    if isinstance(max_results, bool) or not isinstance(max_results, int) or max_results < 1:
        raise InvalidValue(f"max_results must be a positive integer, got {max_results!r}.")
    end = start + max_results
    return PagedList(items[start:end], _page_token(end) if end < len(items) else None)


def _page_token(offset: int) -> str:
    return base64.urlsafe_b64encode(json.dumps({"offset": offset}).encode()).decode()


def _offset(page_token: str | None) -> int:
    if not page_token:
        return 0
    try:
        offset = json.loads(base64.urlsafe_b64decode(page_token.encode()))["offset"]
    except (ValueError, KeyError, TypeError, binascii.Error) as error:
        raise InvalidValue(
            f"page_token {page_token!r} is not one this client gave. Pass the .token of the "
            "previous page, or None for the first page."
        ) from error
    if not isinstance(offset, int) or offset < 0:
        raise InvalidValue(f"page_token {page_token!r} is damaged. Start again from None.")
    return offset
