"""The files a run read that git does not hold: its data, recorded so that a re-run can be
lent the same bytes, or told which file changed.

Python announces every file it opens to audit hooks (PEP 578), whoever opens it: pandas,
numpy, ``open`` itself. From ``import gitruns`` on, a hook keeps the paths this process
opened for reading (code and the interpreter's own files left out); when a run ends, those
inside the repository that git does not track (ignored data, mostly), outside the runs
folder and never written by this process, are recorded with their size and SHA-256.
Files read by native code that bypasses Python's ``open`` (pyarrow's readers) are not
seen: a run names those with ``log_input``, whose local sources are recorded alike.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import os
import sys
import threading
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any, NamedTuple

from gitruns import once
from gitruns.exceptions import GitrunsError
from gitruns.store.names import check_relative_path
from gitruns.utils.git import run_git

logger = logging.getLogger(__name__)

MAX_WATCHED_PATHS = 20_000  # distinct paths a process keeps; later ones are not seen
MAX_DATA_FILES = 100  # recorded per run; a run reading more should log_input its folder
CODE_SUFFIXES = (".py", ".pyc", ".pyi", ".so", ".pyd", ".pth", ".dylib")
DIGEST_CHUNK = 1024 * 1024


class DataFile(NamedTuple):
    """A file a run read that git does not hold, as ``run.yaml`` keeps it (schema 4)."""

    path: str  # relative to the repository's top, with forward slashes
    size: int
    sha256: str

    def to_dict(self) -> dict[str, Any]:
        return {"path": self.path, "size": self.size, "sha256": self.sha256}


class _Watched:
    """What this process opened, in the order it first did."""

    def __init__(self) -> None:
        self.read: dict[str, None] = {}
        self.written: set[str] = set()
        self.skipped: tuple[str, ...] = ()
        self.installed = False
        self.lock = threading.Lock()


_watched = _Watched()


class _OwnReads(threading.local):
    depth = 0  # inside own_reads() in this thread: gitruns' own reads, not the run's


_own = _OwnReads()


@contextlib.contextmanager
def own_reads() -> Iterator[None]:
    """Files opened inside are gitruns' own reads, not the run's: capturing a diff reads
    the untracked files of the work tree, which are not data the run was given."""
    _own.depth += 1
    try:
        yield
    finally:
        _own.depth -= 1


# Per process: a path's tracked state and a file's digest (by its stat) do not change
# between the runs of one search, so a loop of trials asks git and hashes once.
_tracked: dict[tuple[str, str], bool] = {}
_digests: dict[tuple[str, int, int, int], str] = {}
_placed: dict[tuple[str, str], str | None] = {}  # (path, repository top) -> path inside it


def watch_reads(runs_dir: Path | None = None) -> None:
    """Keep the paths this process opens from now on, except under ``runs_dir`` (gitruns'
    own reads of records). Installs the hook once: an audit hook cannot be removed."""
    with _watched.lock:
        prefixes = {*_watched.skipped, *(os.path.join(p, "") for p in _skipped_prefixes())}
        if runs_dir is not None:
            prefixes.add(os.path.join(os.path.abspath(runs_dir), ""))
        _watched.skipped = tuple(sorted(prefixes))
        if _watched.installed:
            return
        _watched.installed = True
    sys.addaudithook(_on_audit_event)


def _skipped_prefixes() -> set[str]:
    """The interpreter's and the system's own files: never a run's data."""
    return {p for p in (sys.prefix, sys.base_prefix, sys.exec_prefix) if p} | {
        "/proc",
        "/sys",
        "/dev",
    }


def _on_audit_event(event: str, args: tuple[Any, ...]) -> None:
    # Called for every audited event of the process: the first test must be the cheapest.
    if event != "open" or _own.depth:
        return
    path, mode, flags = args
    if isinstance(path, bytes):
        path = os.fsdecode(path)
    elif not isinstance(path, str):
        return  # a file descriptor: its path was seen when it was opened
    if path.endswith(CODE_SUFFIXES):
        return
    if mode is None:  # os.open: only its flags tell
        writes = bool(flags & (os.O_WRONLY | os.O_RDWR | os.O_APPEND | os.O_CREAT))
    else:
        writes = any(letter in mode for letter in "wax+")
    path = os.path.abspath(path)
    if path.startswith(_watched.skipped):
        return
    if writes:
        if len(_watched.written) < MAX_WATCHED_PATHS:
            _watched.written.add(path)
    elif path not in _watched.read and len(_watched.read) < MAX_WATCHED_PATHS:
        _watched.read[path] = None


def data_files(
    repo_top: Path, runs_dir: Path, also: Iterable[str] = (), *, limit: int = MAX_DATA_FILES
) -> list[DataFile]:
    """The files this process read inside ``repo_top`` that git does not track, with
    ``also`` (paths relative to ``repo_top``: the run's ``log_input`` sources), as a run
    records them. A file this process wrote is its output, not data it was given."""
    top = os.path.join(str(repo_top), "")
    runs = os.path.join(str(runs_dir.resolve()), "")
    candidates: dict[str, str] = {}  # relative -> absolute
    for path in [*list(_watched.read), *(os.path.join(top, item) for item in also)]:
        relative = _inside(path, top)
        if relative is None or relative in candidates or path in _watched.written:
            continue
        if relative.split("/", 1)[0] == ".git" or os.path.realpath(path).startswith(runs):
            continue
        if os.path.isfile(path):
            candidates[relative] = path
    untracked = [relative for relative in candidates if not _is_tracked(repo_top, relative)]
    if len(untracked) > limit:
        once.warn_once(
            logger,
            ("data-files", str(repo_top)),
            "This process read %d files git does not hold; a run records the first %d. "
            "Log the folder they are in with log_input so a re-run can be lent it.",
            len(untracked),
            limit,
        )
    found = []
    for relative in sorted(untracked)[:limit]:
        digest = file_digest(Path(candidates[relative]))
        if digest is not None:
            found.append(DataFile(relative, digest[0], digest[1]))
    return found


def input_sources(inputs: list[dict[str, Any]], repo_top: Path | None) -> list[str]:
    """The local files a run's datasets came from (``log_input`` with a local source), as
    paths relative to ``repo_top``. A record can come from anyone's branch: a source
    that is not a clean path inside the repository is left out."""
    found = set()
    for item in inputs:
        if not isinstance(item, dict) or item.get("source_type") != "local":
            continue
        try:
            uri = json.loads(str(item.get("source") or "{}")).get("uri")
        except (ValueError, AttributeError):
            continue
        if not isinstance(uri, str) or not uri:
            continue
        path = uri.removeprefix("file://")
        if os.path.isabs(path):
            if repo_top is None:
                continue
            try:
                path = Path(path).relative_to(repo_top).as_posix()
            except ValueError:
                continue
        try:
            found.add(check_relative_path(path, "dataset source"))
        except GitrunsError:
            continue
    return sorted(found)


def _inside(path: str, top: str) -> str | None:
    """``path`` relative to ``top`` (which ends with a separator), or None outside it.
    A path through a link is taken as written: data linked into the repository is
    the repository's data. Remembered: every run's end asks again of every path read."""
    key = (path, top)
    if key not in _placed:
        _placed[key] = _place(path, top)
    return _placed[key]


def _place(path: str, top: str) -> str | None:
    if not path.startswith(top):
        real = os.path.realpath(path)
        if not real.startswith(top):
            return None
        path = real
    relative = path[len(top) :]
    return relative.replace(os.sep, "/") if relative else None


def _is_tracked(repo_top: Path, relative: str) -> bool:
    key = (str(repo_top), relative)
    if key not in _tracked:
        listed = run_git(
            ["--literal-pathspecs", "ls-files", "-z", "--", relative], repo_top, check=False
        )
        _tracked[key] = bool(listed.strip(b"\0"))
    return _tracked[key]


def file_digest(path: Path) -> tuple[int, str] | None:
    """(size, SHA-256 hex) of a file, or None when it cannot be read. Remembered by the
    file's stat for this process, so a search's trials hash their data once."""
    try:
        stat = os.stat(path)
        key = (str(path), stat.st_size, stat.st_mtime_ns, stat.st_ino)
        if key not in _digests:
            digest = hashlib.sha256()
            with open(path, "rb") as file:
                while chunk := file.read(DIGEST_CHUNK):
                    digest.update(chunk)
            _digests[key] = digest.hexdigest()
        return stat.st_size, _digests[key]
    except OSError as error:
        logger.debug("Not recording %s: %s", path, error)
        return None


def forget_reads() -> None:
    """Start afresh (a forked worker, or a test): nothing read yet, nothing known."""
    with _watched.lock:
        _watched.read.clear()
        _watched.written.clear()
    _tracked.clear()
    _digests.clear()
    _placed.clear()
