"""Pages of results, as MLflow's clients return them: a list with a ``token`` for the next."""

from __future__ import annotations

import base64
import binascii
import json
from typing import Any

from gitruns.entities import PagedList
from gitruns.exceptions import InvalidValue


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


def page_of(items: list[Any], max_results: int | None, page_token: str | None) -> PagedList[Any]:
    start = _offset(page_token)
    if max_results is None:
        return PagedList(items[start:], None)
    if isinstance(max_results, bool) or not isinstance(max_results, int) or max_results < 1:
        raise InvalidValue(f"max_results must be a positive integer, got {max_results!r}.")
    end = start + max_results
    return PagedList(items[start:end], _page_token(end) if end < len(items) else None)
