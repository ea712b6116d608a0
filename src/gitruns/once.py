"""Say a thing once per process: a bad file reported on every search would drown the rest.

Example::

    warn_once(logger, ("corrupt", path, size), "%s: %s", path, problem)
"""

from __future__ import annotations

import logging
from collections.abc import Hashable

_seen: set[Hashable] = set()


def first_time(key: Hashable) -> bool:
    """True the first time ``key`` is asked about in this process, False after."""
    if key in _seen:
        return False
    _seen.add(key)
    return True


def warn_once(logger: logging.Logger, key: Hashable, message: str, *args: object) -> None:
    """``logger.warning(message, *args)``, the first time ``key`` comes."""
    if first_time(key):
        logger.warning(message, *args)


def forget() -> None:
    """Say everything again (a long-lived process's new session, or a test's)."""
    _seen.clear()
