"""Whether anything changed in a set of folders since last asked, without looking at them.

Knowing that a work tree is as it was costs git a ``stat`` of every file it tracks
(50,000 files: tens of milliseconds); the kernel can say it for nothing. On Linux a
:class:`ChangeWatch` asks inotify to note every change in the folders given (a file
written, made, removed, renamed, its mode changed); asking it whether anything
changed is one read that returns at once. Elsewhere, or when the kernel refuses
more watches, :meth:`ChangeWatch.start` returns None and the caller looks itself.

The three system calls are reached through ``ctypes``: the standard library has no
binding, and the calls are all this needs.
"""

from __future__ import annotations

import contextlib
import ctypes
import ctypes.util
import errno
import logging
import os
import struct
import sys
from collections.abc import Iterable

logger = logging.getLogger(__name__)

# From <sys/inotify.h>: what counts as a change of a folder's entries or of a file in it.
_IN_MODIFY = 0x002
_IN_ATTRIB = 0x004
_IN_CLOSE_WRITE = 0x008
_IN_MOVED_FROM = 0x040
_IN_MOVED_TO = 0x080
_IN_CREATE = 0x100
_IN_DELETE = 0x200
_IN_DELETE_SELF = 0x400
_IN_MOVE_SELF = 0x800
_IN_Q_OVERFLOW = 0x4000
_IN_ONLYDIR = 0x01000000
_IN_NONBLOCK = os.O_NONBLOCK
_IN_CLOEXEC = os.O_CLOEXEC
_CHANGES = (
    _IN_MODIFY
    | _IN_ATTRIB
    | _IN_CLOSE_WRITE
    | _IN_MOVED_FROM
    | _IN_MOVED_TO
    | _IN_CREATE
    | _IN_DELETE
    | _IN_DELETE_SELF
    | _IN_MOVE_SELF
)
_EVENT = struct.Struct("iIII")  # watch, mask, cookie, length of the name that follows
MAX_FOLDERS = 50_000  # past this many folders, watching costs more than it saves


def _libc() -> ctypes.CDLL | None:
    if not sys.platform.startswith("linux"):
        return None
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
        libc.inotify_init1.argtypes = [ctypes.c_int]
        libc.inotify_add_watch.argtypes = [ctypes.c_int, ctypes.c_char_p, ctypes.c_uint32]
    except (OSError, AttributeError):
        return None
    return libc


class ChangeWatch:
    """The folders given, watched for changes.

    Example::

        watch = ChangeWatch.start(["/repo", "/repo/src"])
        if watch is None or watch.changed():
            ...  # look again
    """

    def __init__(self, libc: ctypes.CDLL, descriptor: int):
        self._libc = libc
        self._descriptor = descriptor
        self._folders: dict[int, str] = {}  # watch -> folder
        self._known: set[str] = set()
        self._changed = False

    @classmethod
    def start(cls, folders: Iterable[str]) -> ChangeWatch | None:
        """Watch ``folders`` (not what is below them: give each folder); None where the
        system cannot (not Linux, or more folders than the kernel lets a user watch)."""
        libc = _libc()
        wanted = list(dict.fromkeys(folders))
        if libc is None or len(wanted) > MAX_FOLDERS:
            return None
        descriptor = libc.inotify_init1(_IN_NONBLOCK | _IN_CLOEXEC)
        if descriptor < 0:
            return None
        watch = cls(libc, descriptor)
        if not watch.add(wanted):
            watch.close()
            return None
        return watch

    def add(self, folders: Iterable[str]) -> bool:
        """Watch more folders; False when the kernel refused one (the watch is then no
        longer to be trusted: close it and look each time)."""
        for folder in folders:
            if folder in self._known:
                continue
            number = self._libc.inotify_add_watch(
                self._descriptor, os.fsencode(folder), _CHANGES | _IN_ONLYDIR
            )
            if number >= 0:
                self._folders[number] = folder
                self._known.add(folder)
                continue
            error = ctypes.get_errno()
            if error in (errno.ENOENT, errno.ENOTDIR):  # gone: its parent's watch sees it again
                continue
            logger.debug("Cannot watch %s (%s): looking each time instead", folder, error)
            return False
        return len(self._known) <= MAX_FOLDERS

    def changed(self) -> bool:
        """Whether anything changed since the watch started (once True, it stays True)."""
        return self._read(frozenset())

    def settle(self, ours: Iterable[tuple[str, str]]) -> bool:
        """Forget the changes made so far to the files ``ours`` names (by folder and name:
        what the caller itself just wrote, such as the index ``git status`` refreshes);
        whether anything else changed."""
        return self._read(frozenset(ours))

    def _read(self, ignored: frozenset[tuple[str, str]]) -> bool:
        if self._changed or self._descriptor < 0:
            return True
        while True:
            try:
                data = os.read(self._descriptor, 64 * 1024)
            except BlockingIOError:
                return False
            except OSError:
                self._changed = True
                return True
            if self._counts(data, ignored):
                self._changed = True
                return True

    def _counts(self, data: bytes, ignored: frozenset[tuple[str, str]]) -> bool:
        """Whether any event in ``data`` is a change that counts."""
        position = 0
        while position + _EVENT.size <= len(data):
            watch, mask, _cookie, length = _EVENT.unpack_from(data, position)
            name = data[position + _EVENT.size : position + _EVENT.size + length].rstrip(b"\0")
            position += _EVENT.size + length
            if mask & _IN_Q_OVERFLOW:
                return True
            folder = self._folders.get(watch)
            if folder is None or (folder, os.fsdecode(name)) not in ignored:
                logger.debug("Changed: %s/%s (event %#x)", folder, os.fsdecode(name), mask)
                return True
        return False

    def close(self) -> None:
        descriptor, self._descriptor = self._descriptor, -1
        if descriptor >= 0:  # once: the number may be another file's after
            with contextlib.suppress(OSError):
                os.close(descriptor)

    def __del__(self) -> None:
        self.close()
