"""Writing the site: only what changed, and nothing left over from earlier builds.

A manifest (``.gitruns-site.json``) maps each output file to the key of the
inputs it was made from and the digest of the bytes written; a file whose key
is unchanged is not made again. A run's page and history data are kept under
the run's id (one key, two digests: 100,000 runs load and save as one small
map), and each experiment's chunk layout (which run's row is kept where) is
kept with them. Files an earlier build wrote and this one did
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
from typing import Any

from gitruns.exceptions import GitrunsError, InvalidPath
from gitruns.store.names import check_relative_path
from gitruns.utils.files import has_link_on_path, read_regular_file, write_atomic

logger = logging.getLogger(__name__)

MANIFEST = ".gitruns-site.json"
MANIFEST_VERSION = 3  # 3: runs' pages by run, chunk layouts (2 is read, see below)
MAX_MANIFEST_BYTES = 64 * 1024 * 1024
# The files of one run: its page (and further artifact pages), history data, artifacts.
RUN_FILE = re.compile(r"\A(?:runs/|data/runs/|artifacts/)([0-9a-f]{32})(?:\.html\Z|\.js\Z|/)")
# A run's own two files, kept under its id in the manifest (slot 1: the page, 2: the data).
RUN_PAGE = re.compile(r"\Aruns/([0-9a-f]{32})\.html\Z")
RUN_DATA = re.compile(r"\Adata/runs/([0-9a-f]{32})\.js\Z")
RUN_ID = re.compile(r"\A[0-9a-f]{32}\Z")
MAX_PLAIN_KEY = 64  # a run's page key this short is kept as it is, not digested
KEY_LENGTH = 20  # hex digits of a key or digest: 80 bits tell versions of a file apart


class ForeignOutputFolder(GitrunsError):
    """The output folder holds files gitruns did not write."""

    error_code = "INVALID_PARAMETER_VALUE"


def _digest(content: bytes) -> str:
    return hashlib.sha1(content).hexdigest()[:KEY_LENGTH]


class SiteWriter:
    def __init__(self, output: Path, salt: str) -> None:
        self.output = output
        self.salt = salt
        self.previous: dict[str, tuple[str, str]] = {}
        self.current: dict[str, tuple[str, str]] = {}
        # run id -> [key of its page, digest of its page, digest of its history data]
        self.previous_runs: dict[str, list[str]] = {}
        self.current_runs: dict[str, list[str]] = {}
        self._previous_layouts: dict[str, Any] = {}
        self.layouts: dict[str, list[list[str | None]]] = {}  # this build's, saved at finish
        self.written_paths: list[str] = []
        self._listed: dict[str, set[str]] = {}  # folder -> the names in it, when listed
        self._by_run: dict[str, list[str]] | None = None  # run id -> its other files, last build
        self._check_output_folder()
        with contextlib.suppress(OSError, ValueError, GitrunsError):
            document = json.loads(read_regular_file(output / MANIFEST, MAX_MANIFEST_BYTES))
            if document.get("version") == MANIFEST_VERSION:
                self._read_manifest(document)
            elif document.get("version") == 2:
                self._read_manifest(_from_version_2(document))

    def _read_manifest(self, document: dict[str, Any]) -> None:
        """What the last build wrote, each part checked: the manifest is a file in a
        folder anyone could have written."""
        self.previous = {
            path: (entry[0], entry[1])
            for path, entry in dict(document.get("files", {})).items()
            if isinstance(path, str)
            and isinstance(entry, list)
            and len(entry) == 2
            and all(isinstance(part, str) for part in entry)
        }
        # Checked where each is used (100,000 runs: checking all up front is a third of a
        # second): a run's entry when its files are kept, its id before a path is made of it.
        runs = document.get("runs", {})
        self.previous_runs = runs if isinstance(runs, dict) else {}
        layouts = document.get("layouts", {})
        self._previous_layouts = layouts if isinstance(layouts, dict) else {}

    def previous_layout(self, experiment_id: str) -> list[list[str | None]]:
        """An experiment's chunk layout as the last build left it (empty when none, or
        when what the manifest holds is not one)."""
        layout = self._previous_layouts.get(experiment_id)
        # Text or nothing in each place is all that is checked: a layout only keeps the
        # places of runs the build found (an id that names no run is dropped).
        valid = isinstance(layout, list) and all(
            isinstance(chunk, list)
            and all(type(run_id) is str or run_id is None for run_id in chunk)
            for chunk in layout
        )
        return layout if valid else []  # type: ignore[return-value]

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
        return hashlib.sha1(f"{self.salt}\x00{key}".encode()).hexdigest()[:KEY_LENGTH]

    @staticmethod
    def _run_key(key: str) -> str:
        """A run's page key as the manifest keeps it: as given when short (most runs':
        comparing text is all a rebuild of 100,000 unchanged runs does), else its digest.
        The caller's key holds the build's salt (:attr:`run_salt`)."""
        return key if len(key) <= MAX_PLAIN_KEY else hashlib.sha1(key.encode()).hexdigest()

    @property
    def run_salt(self) -> str:
        """What a run's page key starts with: the build's salt, short."""
        return hashlib.sha1(self.salt.encode()).hexdigest()[:12]

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
        own = _run_slot(path)
        if own is not None:  # one of a run's own two files: kept under the run's id
            run_id, slot = own
            full = self._run_key(key)
            kept = self.previous_runs.get(run_id)
            if not (type(kept) is list and len(kept) == 3 and kept[0] == full):
                return True
            if not self._present(path):
                return True
            self.current_runs.setdefault(run_id, [full, "", ""])[slot] = kept[slot]
            return False
        full = self._full_key(key)
        previous = self.previous.get(path)
        if previous is not None and previous[0] == full and self._present(path):
            self.current[path] = previous
            return False
        self.current[path] = (full, "")
        return True

    def keep_runs(self, keys: dict[str, str]) -> set[str]:
        """Keep every file the last build made for each run (id -> the key of its page,
        which holds every input of the run's files) whose key is the same and whose files
        are all still there; the ids of the runs kept. One call for all the runs: this is
        what a rebuild of 100,000 unchanged runs costs."""
        pages, data = self._listing("runs"), self._listing("data/runs")
        if self._by_run is None:
            self._by_run = {}
            for path in self.previous:
                found = RUN_FILE.match(path)
                if found:
                    self._by_run.setdefault(found[1], []).append(path)
        previous_runs, current_runs, by_run = self.previous_runs, self.current_runs, self._by_run
        kept: set[str] = set()
        for run_id, key in keys.items():
            previous = previous_runs.get(run_id)
            if not (type(previous) is list and len(previous) == 3):
                continue
            if previous[0] != self._run_key(key):
                continue
            if f"{run_id}.html" not in pages or f"{run_id}.js" not in data:
                continue
            paths = by_run.get(run_id)
            if paths:
                if not all(self._present(path) for path in paths):
                    continue
                for path in paths:
                    self.current[path] = self.previous[path]
            current_runs[run_id] = previous
            kept.add(run_id)
        return kept

    def _present(self, path: str) -> bool:
        """Whether ``path`` is in the output (as its folder's listing says)."""
        folder, _, name = path.rpartition("/")
        return name in self._listing(folder)

    def _listing(self, folder: str) -> set[str]:
        """The names in an output folder, each folder listed once (one listing of 100,000
        pages, not 100,000 stats): what tells a page removed by hand."""
        found = self._listed.get(folder)
        if found is None:
            found = set()
            with contextlib.suppress(OSError):
                found = set(os.listdir(self.output / folder))
            self._listed[folder] = found
        return found

    def write(self, path: str, content: str | bytes, key: str) -> None:
        target = self._target(path)
        payload = content.encode("utf-8") if isinstance(content, str) else content
        target.parent.mkdir(parents=True, exist_ok=True)
        write_atomic(target, payload)
        self.written_paths.append(path)
        own = _run_slot(path)
        if own is not None:
            run_id, slot = own
            self.current.pop(path, None)
            entry = self.current_runs.setdefault(run_id, ["", "", ""])
            entry[0], entry[slot] = self._run_key(key), _digest(payload)
            return
        self.current[path] = (self._full_key(key), _digest(payload))

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
        for run_id in sorted(self.previous_runs.keys() - self.current_runs.keys()):
            entry = self.previous_runs[run_id]
            if RUN_ID.match(run_id) and isinstance(entry, list) and len(entry) == 3:
                for path, digest in (
                    (f"runs/{run_id}.html", entry[1]),
                    (f"data/runs/{run_id}.js", entry[2]),
                ):
                    if digest:  # a file that build did write
                        self._remove_stale(path, str(digest))
        self.output.mkdir(parents=True, exist_ok=True)
        manifest = {
            "version": MANIFEST_VERSION,
            "files": {path: list(entry) for path, entry in sorted(self.current.items())},
            "runs": self.current_runs,
            "layouts": self.layouts,
        }
        # One line: json's C encoder writes it; an indented one goes through Python, which
        # at 200,000 files is seconds of a rebuild.
        write_atomic(self.output / MANIFEST, json.dumps(manifest, separators=(",", ":")))
        written = len(self.written_paths)
        files = len(self.current) + 2 * len(self.current_runs)
        return files, written, files - written


def _run_slot(path: str) -> tuple[str, int] | None:
    """For a run's own page or history data: its id, and its slot in the manifest's entry
    for the run (1: the page, 2: the data); None for any other file."""
    for slot, pattern in ((1, RUN_PAGE), (2, RUN_DATA)):
        found = pattern.match(path)
        if found:
            return found[1], slot
    return None


def _from_version_2(document: dict[str, Any]) -> dict[str, Any]:
    """A version 2 manifest (every file under its path, 40-digit keys and digests) as
    version 3: nothing it lists is kept as it is (its keys differ), but what this build
    no longer makes is still removed when it is as that build wrote it."""
    files: dict[str, Any] = {}
    runs: dict[str, list[str]] = {}
    listed = document.get("files", {})
    for path, entry in (listed if isinstance(listed, dict) else {}).items():
        if not (isinstance(path, str) and isinstance(entry, list) and len(entry) == 2):
            continue
        digest = str(entry[1])[:KEY_LENGTH]
        own = _run_slot(path)
        if own is not None:
            runs.setdefault(own[0], ["", "", ""])[own[1]] = digest
        else:
            files[path] = ["", digest]
    return {"version": MANIFEST_VERSION, "files": files, "runs": runs, "layouts": {}}
