"""The name a user probably meant: one rule for every "did you mean" gitruns says."""

from __future__ import annotations

from collections.abc import Iterable


def closest(word: str, known: Iterable[str], cutoff: float = 0.6) -> str | None:
    """The known name ``word`` most likely meant, or None: the same name in another case,
    else the one name that contains it (a short form, ``nyc-taxi`` for
    ``nyc-taxi-experiment``), else the nearest by difflib's ratio (at least ``cutoff``).

    >>> closest("nyc-taxi-regresor", ["nyc-taxi-regressor", "churn"])
    'nyc-taxi-regressor'
    >>> closest("nyc-taxi", ["nyc-taxi-experiment", "churn"])
    'nyc-taxi-experiment'
    """
    names = sorted(set(known))
    lowered = word.lower()
    for rule in (
        lambda name: name.lower() == lowered,
        lambda name: lowered in name.lower(),
    ):
        found = [name for name in names if rule(name)]
        if len(found) == 1:
            return found[0]
    import difflib  # only a mistyped name gets here: searching does not load it

    matches = difflib.get_close_matches(word, names, n=1, cutoff=cutoff)
    return matches[0] if matches else None
