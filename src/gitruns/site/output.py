"""Writing the site: only what changed, and nothing left over from earlier builds.

A manifest (``.gitruns-site.json``) maps each output file to the key of the
inputs it was made from; a file whose key is unchanged is not made again.
Files an earlier build wrote and this one did not (a deleted run's page) are
removed.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
from pathlib import Path

from gitruns.record import write_atomic

logger = logging.getLogger(__name__)

MANIFEST = ".gitruns-site.json"
MANIFEST_VERSION = 1


class SiteWriter:
    def __init__(self, output: Path, salt: str) -> None:
        self.output = output
        self.salt = salt
        self.previous: dict[str, str] = {}
        self.current: dict[str, str] = {}
        self.written_paths: list[str] = []
        with contextlib.suppress(OSError, ValueError):
            document = json.loads((output / MANIFEST).read_text())
            if document.get("version") == MANIFEST_VERSION:
                self.previous = dict(document.get("files", {}))

    def _full_key(self, key: str) -> str:
        return hashlib.sha1(f"{self.salt}\x00{key}".encode()).hexdigest()

    def needs(self, path: str, key: str) -> bool:
        """Whether ``path`` must be made again; either way it belongs to this build."""
        full = self._full_key(key)
        self.current[path] = full
        return self.previous.get(path) != full or not (self.output / path).exists()

    def write(self, path: str, content: str | bytes, key: str) -> None:
        target = self.output / path
        target.parent.mkdir(parents=True, exist_ok=True)
        write_atomic(target, content)
        self.current[path] = self._full_key(key)
        self.written_paths.append(path)

    def write_if_changed(self, path: str, content: bytes) -> None:
        key = hashlib.sha1(content).hexdigest()
        if self.needs(path, key):
            self.write(path, content, key)

    def finish(self) -> tuple[int, int, int]:
        """Remove leftovers of earlier builds, save the manifest; (files, written, skipped)."""
        for stale in self.previous.keys() - self.current.keys():
            with contextlib.suppress(OSError):
                (self.output / stale).unlink()
                logger.info("Removed %s, which this build no longer makes", stale)
        self.output.mkdir(parents=True, exist_ok=True)
        manifest = {"version": MANIFEST_VERSION, "files": dict(sorted(self.current.items()))}
        write_atomic(self.output / MANIFEST, json.dumps(manifest, indent=0))
        written = len(self.written_paths)
        return len(self.current), written, len(self.current) - written
