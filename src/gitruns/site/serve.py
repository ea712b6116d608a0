"""``gitruns ui``: build the site, serve it on localhost, rebuild when runs change."""

from __future__ import annotations

import errno
import functools
import http.server
import logging
import os
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from gitruns.exceptions import GitrunsError
from gitruns.site import build_site

logger = logging.getLogger(__name__)


def _fingerprint(runs_dir: Path) -> tuple[int, int]:
    """How many files and the newest mtime under runs/ (the index cache left out)."""
    count, newest = 0, 0
    for folder, dirs, files in os.walk(runs_dir):
        dirs[:] = [d for d in dirs if not d.startswith(".")]
        for name in files:
            try:
                newest = max(newest, os.stat(os.path.join(folder, name)).st_mtime_ns)
            except OSError:
                continue
            count += 1
    return count, newest


LOCAL_HOST_NAMES = frozenset({"localhost", "127.0.0.1", "[::1]", "::1"})


def _host_name(header: str) -> str:
    """The name in a Host header, without its port."""
    if header.startswith("["):
        return header[: header.find("]") + 1]
    return header.rsplit(":", 1)[0] if header.count(":") == 1 else header


class _LocalHandler(http.server.SimpleHTTPRequestHandler):
    """Serves the built site to this machine's browser only.

    A page on another site can point its own name at 127.0.0.1 (DNS rebinding)
    and read what a local server answers; its requests carry its own name in
    the Host header, so only local names are answered.
    """

    allowed_hosts: frozenset[str] = LOCAL_HOST_NAMES

    def parse_request(self) -> bool:
        if not super().parse_request():
            return False
        host = _host_name((self.headers.get("Host") or "").strip().lower())
        if host not in self.allowed_hosts:
            self.send_error(
                403, "gitruns ui answers only requests for localhost (see 'gitruns ui --help')"
            )
            return False
        return True

    def end_headers(self) -> None:
        self.send_header("X-Content-Type-Options", "nosniff")
        self.send_header("Cache-Control", "no-store")
        super().end_headers()

    def log_message(self, format: str, *args: object) -> None:
        logger.debug(format, *args)


DEFAULT_PORT = 8765  # not 5000: mlflow ui's, and macOS AirPlay's


class PortInUse(GitrunsError):
    """The port is taken; ``free_port`` is the next one that is not (or None)."""

    error_code = "RESOURCE_ALREADY_EXISTS"

    def __init__(self, host: str, port: int, free_port: int | None) -> None:
        self.port, self.free_port = port, free_port
        offer = (
            f" The next free port is {free_port}: gitruns ui --port {free_port}"
            if free_port
            else " Pass another with --port."
        )
        super().__init__(f"port {port} on {host} is in use by another program.{offer}")


def next_free_port(host: str, start: int, tries: int = 50) -> int | None:
    """The first port from ``start`` that ``host`` can listen on, or None."""
    for port in range(start, min(start + tries, 65536)):
        with socket.socket(_family(host), socket.SOCK_STREAM) as probe:
            try:
                probe.bind((host, port))
            except OSError:
                continue
            return port
    return None


def _family(host: str) -> socket.AddressFamily:
    return socket.AF_INET6 if ":" in host else socket.AF_INET


@dataclass
class Rebuilds:
    """What the site's rebuilds did since they were last reported."""

    times: int = 0
    written: int = 0


def serve(
    runs_dir: Path,
    output: Path,
    port: int = DEFAULT_PORT,
    host: str = "127.0.0.1",
    interval: float = 1.0,
    on_rebuild: Callable[[Rebuilds], None] | None = None,
    on_progress: Callable[[int, int], None] | None = None,
    report_every: float = 5.0,
) -> http.server.ThreadingHTTPServer:
    """Build once (reporting to ``on_progress``), then serve ``output`` and rebuild in the
    background when runs change (checked every ``interval`` seconds). Rebuilds are
    reported to ``on_rebuild`` together, at most once every ``report_every`` seconds: a
    training run that writes for a minute is a few lines, not one per file.

    Returns the running server; call ``shutdown()`` to stop it.
    """
    allowed = LOCAL_HOST_NAMES | {host.lower(), f"[{host.lower()}]"}
    handler_class = type("Handler", (_LocalHandler,), {"allowed_hosts": allowed})
    handler = functools.partial(handler_class, directory=str(output))
    server_class = type(
        "Server", (http.server.ThreadingHTTPServer,), {"address_family": _family(host)}
    )
    try:  # the port first: a taken one is known before a long build
        server = server_class((host, port), handler)
    except OSError as error:
        if error.errno != errno.EADDRINUSE:
            raise
        raise PortInUse(host, port, next_free_port(host, port + 1)) from None
    try:
        build_site(runs_dir, output, on_progress=on_progress)
    except BaseException:
        server.server_close()
        raise
    stop = threading.Event()

    def watch() -> None:
        seen = _fingerprint(runs_dir)
        pending = Rebuilds()
        reported = time.monotonic()
        while not stop.wait(interval):
            now = _fingerprint(runs_dir)
            if now != seen:
                seen = now
                try:
                    report = build_site(runs_dir, output)
                except Exception:
                    logger.exception("Rebuilding the site failed")
                    continue
                pending.times += 1
                pending.written += report.written
            if pending.times and time.monotonic() - reported >= report_every:
                if on_rebuild is not None:
                    on_rebuild(pending)
                pending, reported = Rebuilds(), time.monotonic()

    threading.Thread(target=server.serve_forever, name="gitruns-ui", daemon=True).start()
    threading.Thread(target=watch, name="gitruns-ui-watch", daemon=True).start()
    original_shutdown = server.shutdown

    def shutdown() -> None:
        stop.set()
        original_shutdown()

    server.shutdown = shutdown  # type: ignore[method-assign]
    return server


def wait_forever() -> None:
    while True:
        time.sleep(3600)
