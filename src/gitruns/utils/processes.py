"""This process and this machine, as records name them, and whether a recorded process
still runs (a run whose writer died reads as killed, not running).

Example::

    record.process = current_process()        # {"host": "host-…", "pid": …, "instance": …}
    process_alive(record.process)              # True, False, or None (another machine)
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import os
import platform
from pathlib import Path
from typing import Any


@functools.lru_cache(maxsize=1)
def _boot_id() -> str | None:
    try:
        return Path("/proc/sys/kernel/random/boot_id").read_text().strip()[:8]
    except OSError:
        return None


def _process_instance(pid: int) -> str | None:
    """A token naming one process for its whole life: boot id and start tick.

    A pid can be reused by a later process; this token cannot, which is how a
    reader tells a run's dead process from a stranger that got its pid.
    """
    boot = _boot_id()
    if boot is None:
        return None
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    # The command name (field 2) may hold spaces and parentheses; fields after it don't.
    fields = stat[stat.rfind(")") + 2 :].split()
    return f"{boot}-{fields[19]}"


_process_cache: dict[int, dict[str, Any]] = {}


@functools.lru_cache(maxsize=1)
def host_token() -> str:
    """This machine, as records name it: a digest of its host name and machine id. A
    record is committed and published, and a host name tells the world about the
    network it ran in; the digest only lets a reader on the same machine know it."""
    machine_id = ""
    for path in ("/etc/machine-id", "/var/lib/dbus/machine-id"):
        with contextlib.suppress(OSError):
            machine_id = Path(path).read_text().strip()
            break
    # platform.node() is the host name (gethostname), without importing socket.
    seed = f"{platform.node()}\0{machine_id}".encode()
    return "host-" + hashlib.sha256(seed).hexdigest()[:16]


def current_process() -> dict[str, Any]:
    """``{host, pid, instance}`` of this process, recorded so readers can test liveness."""
    pid = os.getpid()
    identity = _process_cache.get(pid)
    if identity is None:
        identity = {"host": host_token(), "pid": pid}
        instance = _process_instance(pid)
        if instance is not None:
            identity["instance"] = instance
        _process_cache.clear()
        _process_cache[pid] = identity
    return identity


def process_alive(process: dict[str, Any] | None) -> bool | None:
    """True or False when it can tell whether the recorded process still runs; else None.

    Only a process on this host can be checked (records before host tokens named the
    host itself).
    """
    if not process or process.get("host") not in (host_token(), platform.node()):
        return None
    pid = process.get("pid")
    if not isinstance(pid, int) or pid <= 0:
        return None
    recorded = process.get("instance")
    if recorded is not None and _boot_id() is not None:
        return _process_instance(pid) == recorded
    return pid_alive(pid)


def pid_alive(pid: int) -> bool:
    """Whether a process with this pid runs on this machine (perhaps another's, reused:
    :func:`process_alive` tells them apart where the kernel says when it started)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OverflowError):
        return True
    return True


def forget_process_identity() -> None:
    """Drop the cached identity: a forked child is another process."""
    _process_cache.clear()
