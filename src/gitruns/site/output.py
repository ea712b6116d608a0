"""Writing the site: only what changed, and nothing left over from earlier builds.

A manifest (``.gitruns-site.json``) maps each output file to the key of the
inputs it was made from and the digest of the bytes written; a file whose key
is unchanged is not made again. Files an earlier build wrote and this one did
not (a deleted run's page) are removed, but only when they are still exactly
what gitruns wrote: a manifest is a file in a folder, and a crafted one must
not delete anything else. For the same reason a build refuses an output
folder that holds files and no manifest: gitruns did not make it.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import os
import re
from pathlib import Path

from gitruns.exceptions import GitrunsError, InvalidPath
from gitruns.store.names import check_relative_path
from gitruns.utils.files import has_link_on_path, read_regular_file, write_atomic

logger = logging.getLogger(__name__)

MANIFEST = ".gitruns-site.json"
MANIFEST_VERSION = 2
MAX_MANIFEST_BYTES = 64 * 1024 * 1024
# The files of one run: its page (and further artifact pages), history data, artifacts.
RUN_FILE = re.compile(r"\A(?:runs/|data/runs/|artifacts/)([0-9a-f]{32})(?:\.html\Z|\.js\Z|/)")


class ForeignOutputFolder(GitrunsError):
    """The output folder holds files gitruns did not write."""

    error_code = "INVALID_PARAMETER_VALUE"


def _digest(content: bytes) -> str:
    return hashlib.sha1(content).hexdigest()


class SiteWriter:
    def __init__(self, output: Path, salt: str) -> None:
        self.output = output
        self.salt = salt
        self.previous: dict[str, tuple[str, str]] = {}
        self.current: dict[str, tuple[str, str]] = {}
        self.written_paths: list[str] = []
        self._listed: dict[str, set[str]] = {}  # folder -> its regular files, when listed
        self._by_run: dict[str, list[str]] | None = None  # run id -> its files, last build
        self._check_output_folder()
        with contextlib.suppress(OSError, ValueError, GitrunsError):
            document = json.loads(read_regular_file(output / MANIFEST, MAX_MANIFEST_BYTES))
            if document.get("version") == MANIFEST_VERSION:
                self.previous = {
                    path: (entry[0], entry[1])
                    for path, entry in dict(document.get("files", {})).items()
                    if isinstance(path, str)
                    and isinstance(entry, list)
                    and len(entry) == 2
                    and all(isinstance(part, str) for part in entry)
                }

    def _check_output_folder(self) -> None:
        if self.output.is_symlink():
            raise ForeignOutputFolder(
                f"the site's output folder {self.output} is a symbolic link. Pass the real "
                "folder with --output."
            )
        if not self.output.is_dir() or (self.output / MANIFEST).exists():
            return
        if any(os.scandir(self.output)):
            raise ForeignOutputFolder(
                f"{self.output} already holds files that gitruns did not write, and a build "
                "replaces and removes files in its output folder. Pass a new or empty folder "
                "with --output (e.g. --output site), or empty this one first."
            )

    def _full_key(self, key: str) -> str:
        return hashlib.sha1(f"{self.salt}\x00{key}".encode()).hexdigest()

    def _target(self, path: str) -> Path:
        """The file ``path`` names inside the output, never through a link or outside."""
        clean = check_relative_path(path, "site file")
        if has_link_on_path(self.output, clean):
            raise InvalidPath(
                f"{self.output / clean} is, or is inside, a symbolic link; gitruns writes the "
                "site only into real folders. Remove the link and build again."
            )
        return self.output / clean

    def needs(self, path: str, key: str) -> bool:
        """Whether ``path`` must be made again; either way it belongs to this build."""
        full = self._full_key(key)
        previous = self.previous.get(path)
        if previous is not None and previous[0] == full and self._present(path):
            self.current[path] = previous
            return False
        self.current[path] = (full, "")
        return True

    def keep_run_files(self, run_id: str, page: str, key: str) -> bool:
        """Keep every file the last build made for a run, as it is, when its ``page``'s key
        (which holds every input of the run's files) is the same and all are still there;
        False when they must be made again."""
        previous = self.previous.get(page)
        if previous is None or previous[0] != self._full_key(key):
            return False
        if self._by_run is None:
            self._by_run = {}
            for path in self.previous:
                found = RUN_FILE.match(path)
                if found:
                    self._by_run.setdefault(found[1], []).append(path)
        paths = self._by_run.get(run_id, [])
        if not all(self._present(path) for path in paths):
            return False
        for path in paths:
            self.current[path] = self.previous[path]
        return True

    def _present(self, path: str) -> bool:
        """Whether ``path`` is a regular file in the output: each folder is listed once
        (one scandir of 100,000 pages, not 100,000 stats)."""
        folder, _, name = path.rpartition("/")
        found = self._listed.get(folder)
        if found is None:
            found = set()
            with contextlib.suppress(OSError), os.scandir(self.output / folder) as entries:
                found = {entry.name for entry in entries if entry.is_file(follow_symlinks=False)}
            self._listed[folder] = found
        return name in found

    def write(self, path: str, content: str | bytes, key: str) -> None:
        target = self._target(path)
        payload = content.encode("utf-8") if isinstance(content, str) else content
        target.parent.mkdir(parents=True, exist_ok=True)
        write_atomic(target, payload)
        self.current[path] = (self._full_key(key), _digest(payload))
        self.written_paths.append(path)

    def write_if_changed(self, path: str, content: bytes) -> None:
        key = _digest(content)
        if self.needs(path, key):
            self.write(path, content, key)

    def _remove_stale(self, path: str, digest: str) -> None:
        """Remove a file an earlier build wrote, if it is still what that build wrote."""
        try:
            target = self._target(path)
            if _digest(read_regular_file(target, MAX_MANIFEST_BYTES * 16)) != digest:
                logger.warning("Kept %s: it changed since gitruns wrote it", target)
                return
            target.unlink()
        except (GitrunsError, OSError) as error:
            logger.warning("Kept %s, which this build no longer makes: %s", path, error)
            return
        logger.info("Removed %s, which this build no longer makes", path)

    def finish(self) -> tuple[int, int, int]:
        """Remove leftovers of earlier builds, save the manifest; (files, written, skipped)."""
        for stale in sorted(self.previous.keys() - self.current.keys()):
            self._remove_stale(stale, self.previous[stale][1])
        self.output.mkdir(parents=True, exist_ok=True)
        files = {path: list(entry) for path, entry in sorted(self.current.items())}
        manifest = {"version": MANIFEST_VERSION, "files": files}
        # One line: json's C encoder writes it; an indented one goes through Python, which
        # at 200,000 files is seconds of a rebuild.
        write_atomic(self.output / MANIFEST, json.dumps(manifest, separators=(",", ":")))
        written = len(self.written_paths)
        return len(self.current), written, len(self.current) - written
