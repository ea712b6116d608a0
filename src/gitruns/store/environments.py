"""Package lists, stored once for every run that shares them.

::

    runs/_environments/<sha256>.txt    installed packages, pip-freeze style

Most runs of a project share their environment, so a run's record holds the
digest of its package list (``environment.requirements``) and the list lives
once under ``runs/_environments/``, named by that digest. Two branches that add
the same list add the same file with the same bytes, which git merges without
a conflict. The folder name starts with ``_``, which no experiment's can.
"""

from __future__ import annotations

import hashlib
import re
from pathlib import Path

from gitruns.store.run_record import RunRecord
from gitruns.utils.files import create_exclusive, read_small_text

ENVIRONMENTS_DIR = "_environments"
LEGACY_REQUIREMENTS_FILE = "requirements.txt"  # schema 1: one copy in every run folder
DIGEST_PATTERN = re.compile(r"\A[0-9a-f]{64}\Z")
MAX_REQUIREMENTS_BYTES = 4 * 1024 * 1024


def digest_of(requirements: str) -> str:
    return hashlib.sha256(requirements.encode("utf-8")).hexdigest()


def store_requirements(runs_dir: Path, requirements: str) -> str:
    """Keep a package list under ``runs/_environments/`` unless it is there; its digest."""
    digest = digest_of(requirements)
    path = runs_dir / ENVIRONMENTS_DIR / f"{digest}.txt"
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        create_exclusive(path, requirements)
    return digest


def read_requirements(runs_dir: Path, record: RunRecord, run_dir: Path) -> str | None:
    """The package list a run recorded, or None when it has none (or it cannot be trusted).

    The file's name is built from the digest only once the digest is checked to be
    64 hex digits, and its content must hash to it: a record cannot point elsewhere.
    """
    if record.schema < 2:
        return read_small_text(run_dir / LEGACY_REQUIREMENTS_FILE, MAX_REQUIREMENTS_BYTES)
    digest = str(record.environment.get("requirements", ""))
    if not DIGEST_PATTERN.match(digest):
        return None
    text = read_small_text(runs_dir / ENVIRONMENTS_DIR / f"{digest}.txt", MAX_REQUIREMENTS_BYTES)
    if text is None or digest_of(text) != digest:
        return None
    return text
