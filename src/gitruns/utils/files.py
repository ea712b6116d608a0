"""Files as untrusted input and as users' data: read without following a link and within
a size, written so a reader sees the old file or the new one, never half.

Example::

    write_atomic(Path("runs/x/run.yaml"), text)
    data = read_regular_file(Path("runs/x/run.yaml"), max_bytes=4 * 1024 * 1024)
"""

from __future__ import annotations

import contextlib
import logging
import os
import secrets
import shutil
import stat
from pathlib import Path

from gitruns import once
from gitruns.exceptions import CorruptRecord

logger = logging.getLogger(__name__)

DEFAULT_MAX_BYTES = 4 * 1024 * 1024  # a record's limit: every read is bounded
TEMPORARY_SUFFIX = ".tmp"


def read_regular_file(path: Path | str, max_bytes: int = DEFAULT_MAX_BYTES) -> bytes:
    """The bytes of a regular file, never through a symbolic link, at most ``max_bytes``.

    A run folder may come from someone else's pull request: a link to
    ``/dev/zero`` or to ``~/.ssh`` must cost nothing and reveal nothing.
    Raises ``FileNotFoundError`` when it is missing and :class:`CorruptRecord`
    when it is a link, not a regular file, or too large.
    """
    try:
        descriptor = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
    except FileNotFoundError:
        raise
    except OSError as error:
        if os.path.islink(path):
            raise CorruptRecord(
                f"{path} is a symbolic link; gitruns never follows links inside runs/. "
                "Replace it with the file itself, or remove it."
            ) from error
        raise CorruptRecord(f"{path} cannot be read ({error.strerror}).") from error
    try:
        status = os.fstat(descriptor)
        if not stat.S_ISREG(status.st_mode):
            raise CorruptRecord(
                f"{path} is not a regular file (a device, pipe or folder). Remove it."
            )
        if status.st_size > max_bytes:
            raise CorruptRecord(
                f"{path} is {status.st_size:,} bytes, over the limit of {max_bytes:,} for this "
                "kind of file. Restore it from git, or remove it."
            )
        data = _read_to_end(descriptor, status.st_size, max_bytes)
    finally:
        os.close(descriptor)
    if len(data) > max_bytes:  # it grew while being read
        raise CorruptRecord(f"{path} is over the limit of {max_bytes:,} bytes. Remove it.")
    return data


# What a read asks for past a file's stated size: a read allocates what it asks for.
READ_CHUNK = 64 * 1024


def _read_to_end(descriptor: int, size: int, max_bytes: int) -> bytes:
    """The rest of an open file, at most ``max_bytes + 1`` bytes: the size it has first
    (asking for ``max_bytes`` would allocate them: 1 GiB for an index column of a few
    kilobytes), then what it grew by, a chunk at a time."""
    parts = [os.read(descriptor, size + 1)]  # size <= max_bytes: checked by the caller
    count = len(parts[0])
    while parts[-1] and count <= max_bytes:
        parts.append(os.read(descriptor, min(READ_CHUNK, max_bytes + 1 - count)))
        count += len(parts[-1])
    if not parts[-1]:
        parts.pop()  # the end of the file
    return b"".join(parts)  # a single part is returned as it is, not copied


def read_small_text(path: Path | str, max_bytes: int) -> str | None:
    """The text of a small UTF-8 file (read as :func:`read_regular_file` reads), or None
    when it is missing, a link, binary, undecodable or over ``max_bytes``."""
    try:
        data = read_regular_file(path, max_bytes)
    except (OSError, CorruptRecord):
        return None
    if b"\0" in data:
        return None
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return None


def is_regular_file(path: Path | str) -> bool:
    """Whether ``path`` is a regular file itself, not a link to one."""
    try:
        return stat.S_ISREG(os.lstat(path).st_mode)
    except OSError:
        return False


def temporary_path(path: Path) -> Path:
    """Where a writer prepares ``path``: hidden, named by its pid, ignored by git."""
    return path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}{TEMPORARY_SUFFIX}")


def write_atomic(path: Path, data: str | bytes) -> None:
    """Replace ``path`` with ``data`` so that readers see the old or the new file, never half."""
    payload = data.encode("utf-8") if isinstance(data, str) else data
    temporary = temporary_path(path)
    try:
        with open(temporary, "wb") as file:
            file.write(payload)
        os.replace(temporary, path)
    except BaseException:
        with contextlib.suppress(OSError):
            temporary.unlink()
        raise


def create_exclusive(path: Path, data: str | bytes) -> bool:
    """Create ``path`` with ``data`` unless it exists; True when this call created it.

    The file appears whole (hard link of a finished temporary file), so two
    processes racing to create it never see a half-written one.
    """
    payload = data.encode("utf-8") if isinstance(data, str) else data
    temporary = temporary_path(path)
    with open(temporary, "wb") as file:
        file.write(payload)
    try:
        os.link(temporary, path)
        return True
    except FileExistsError:
        return False
    except OSError:
        # Filesystems without hard links: a rename is still whole, if not exclusive.
        if path.exists():
            return False
        os.replace(temporary, path)
        return True
    finally:
        with contextlib.suppress(OSError):
            temporary.unlink()


def append_whole(path: Path, payload: bytes) -> None:
    """Append ``payload`` to ``path`` with O_APPEND, so concurrent appenders never interleave.

    Never through a link: a run from someone else's branch could hold ``metrics.log``
    as a link to a file of yours, and logging to that run must not write there.
    """
    try:
        descriptor = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_NOFOLLOW, 0o644)
    except OSError as error:
        if os.path.islink(path):
            raise CorruptRecord(
                f"{path} is a symbolic link; gitruns never writes through links in runs/. "
                "Remove it and log again."
            ) from error
        raise
    try:
        view = memoryview(payload)
        while view:
            view = view[os.write(descriptor, view) :]
    finally:
        os.close(descriptor)


def regular_files(root: Path) -> list[tuple[str, Path]]:
    """Every regular file under ``root`` as (relative POSIX path, path), sorted.

    Links are never followed, to a file or a folder: a run's folder may come
    from a pull request, and a link to ``../../.git/config`` must not be
    read or published. Hidden names (unfinished writes) are left out.
    """
    found: list[tuple[str, Path]] = []
    for folder, folders, names in os.walk(root):
        folders[:] = [name for name in folders if not name.startswith(".")]
        for name in names:
            if name.startswith("."):
                continue
            path = Path(folder) / name
            if is_regular_file(path):
                found.append((path.relative_to(root).as_posix(), path))
            else:
                warn_once(path, 0, "not a regular file (a link?), left out")
    return sorted(found)


def has_link_on_path(root: Path, relative: str) -> bool:
    """Whether any part of ``root/relative`` below ``root`` is a symbolic link."""
    current = root
    for part in Path(relative).parts:
        current = current / part
        if current.is_symlink():
            return True
    return False


def copy_regular_files(source: Path, destination: Path) -> list[str]:
    """Copy ``source`` (a regular file, or a folder's regular files) to ``destination``;
    links are left out, never followed. Returns what was left out."""
    if source.is_symlink():
        return [source.name]
    if not source.is_dir():
        destination.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(source, destination, follow_symlinks=False)
        return []
    left_out = []
    for folder, folders, names in os.walk(source):
        for name in [*folders, *names]:
            path = Path(folder) / name
            relative = path.relative_to(source)
            if path.is_symlink():
                left_out.append(relative.as_posix())
            elif path.is_dir():
                (destination / relative).mkdir(parents=True, exist_ok=True)
            elif is_regular_file(path):
                (destination / relative).parent.mkdir(parents=True, exist_ok=True)
                shutil.copyfile(path, destination / relative, follow_symlinks=False)
    destination.mkdir(parents=True, exist_ok=True)
    return left_out


def warn_once(path: Path | str, size: int, problem: str) -> None:
    """Log a problem with a file once per file and size (a file that changes is news)."""
    once.warn_once(
        logger, ("file", str(path), size), "%s: %s. Run 'gitruns check' for details.", path, problem
    )
