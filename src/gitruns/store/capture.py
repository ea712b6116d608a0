"""What a run records about itself: code version, uncommitted diff, environment, source.

What cannot change within a process (Python, platform, user, host) is captured
once per process; the installed packages are read again when a folder they are
installed in changed (a notebook's ``%pip install``). Git state can change
between two runs of one process (a notebook edits and commits), so it is
captured per run; but ``git status`` costs milliseconds, growing with the tree,
so a snapshot is reused while nothing changed: on Linux the kernel says so (inotify on the
tree's folders and git's refs: one read a run, whatever the tree's size),
elsewhere a fingerprint of the work tree (the ``stat`` of every tracked file
and folder, HEAD, the index and refs), the same signal git itself trusts. Both
look at every folder git looks in, empty ones and those of ignored files only
among them, since a file can appear in any of them. A tree with submodules is
asked of git each run: their files are not this repository's.

A fresh look costs what git's own ``status`` costs, not more: the runs folder is kept
out of git's walk for untracked files, and the diff compares only the paths git found
changed.
"""

from __future__ import annotations

import contextlib
import functools
import getpass
import logging
import os
import platform
import shlex
import sys
import threading
from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from gitruns.redact import (
    NOTE_PREFIX,
    is_secret_file,
    public_text,
    redact_command,
    redact_lines,
    strip_credentials,
)
from gitruns.store.reads import own_reads
from gitruns.utils.changes import ChangeWatch
from gitruns.utils.files import read_small_text
from gitruns.utils.git import GitUnavailable, run_git, run_git_together
from gitruns.utils.processes import forget_process_identity

if TYPE_CHECKING:
    import email.message
    import importlib.metadata

logger = logging.getLogger(__name__)

MAX_DIFF_BYTES = 1024 * 1024
MAX_UNTRACKED_FILE_BYTES = 64 * 1024
MAX_UNTRACKED_FILES = 200
# Past this many tracked files, stat-ing them all costs more than asking git.
MAX_FINGERPRINTED_FILES = 3000
# Folders git lists no file in (empty, or of ignored files only) a process looks at; a tree
# with more is asked of git each run.
MAX_UNLISTED_FOLDERS = 2000
# A folder holding this file is a built site (gitruns' own output): never part of a diff.
SITE_MANIFEST = ".gitruns-site.json"
# The diff names the changed paths to git while they fit on a command line (Windows allows
# 32,767 characters); past that, it covers the whole tree but the secret files changed.
MAX_NAMED_PATHS_LENGTH = 16_000


@functools.lru_cache(maxsize=1)
def current_user() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "unknown"


# -- environment ----------------------------------------------------------------


@dataclass(frozen=True)
class Environment:
    python: str
    platform: str
    requirements: str  # ``name==version`` lines, sorted, the body of requirements.txt


_environment: tuple[tuple[tuple[str, int], ...], Environment] | None = None


def capture_environment() -> Environment:
    """Python, platform and installed packages. The packages are read again only when a
    folder they are installed in changed (a notebook's ``%pip install`` between two
    runs): a loop of runs reads every package's metadata once."""
    global _environment
    stamp = _package_folders_stamp()
    if _environment is None or _environment[0] != stamp:
        _environment = (stamp, _read_environment())
    return _environment[1]


def _package_folders_stamp() -> tuple[tuple[str, int], ...]:
    """The modification time of each package folder on ``sys.path`` (``site-packages``,
    Debian's ``dist-packages``): installing, upgrading or removing a package makes or
    removes a ``.dist-info`` folder there. The other entries (the script's own folder,
    whose files change with every run) are left out."""
    stamp = []
    for entry in sys.path:
        if os.path.basename(entry.rstrip("/\\")) in ("site-packages", "dist-packages"):
            try:
                stamp.append((entry, os.stat(entry).st_mtime_ns))
            except OSError:
                stamp.append((entry, -1))
    return tuple(stamp)


def _read_environment() -> Environment:
    packages: dict[str, tuple[str, str]] = {}
    import importlib.metadata  # here: importing it costs every process 17 ms, most never ask

    for distribution in importlib.metadata.distributions():
        headers = _metadata_headers(distribution)
        name = headers["Name"]
        if not name:
            continue
        canonical = name.lower().replace("_", "-").replace(".", "-")
        # The first on sys.path wins, as it does for import.
        packages.setdefault(canonical, (name, headers["Version"]))
    lines = [f"{name}=={version}\n" for name, version in sorted(packages.values(), key=_lower)]
    return Environment(
        python=platform.python_version(),
        platform=platform.platform(),
        requirements="".join(lines),
    )


def _metadata_headers(distribution: importlib.metadata.Distribution) -> email.message.Message:
    """A distribution's metadata fields, read from the files ``importlib.metadata`` reads,
    without its long description: the body after the first blank line, most of the text,
    which ``distribution.metadata`` parses whole (once for the name and again for the
    version: 75 ms for 75 packages, against 12 ms here)."""
    import email.parser

    text = (
        distribution.read_text("METADATA")
        or distribution.read_text("PKG-INFO")
        or distribution.read_text("")
        or ""
    )
    return email.parser.HeaderParser().parsestr(text.split("\n\n", 1)[0])


def _lower(pair: tuple[str, str]) -> str:
    return pair[0].lower()


# -- source ---------------------------------------------------------------------


def capture_source(repo_top: Path | None) -> dict[str, Any]:
    """Entry point and command line, relative to the repository where possible."""
    if "ipykernel" in sys.modules:
        notebook = os.environ.get("JPY_SESSION_NAME") or os.environ.get("__vsc_ipynb_file__")
        source: dict[str, Any] = {"type": "NOTEBOOK"}
        if notebook:
            source["entry_point"] = _relative_to(Path(notebook), repo_top)
        return source
    argv = list(sys.argv)
    if not argv or argv[0] in ("", "-", "-c", "-m"):
        return _with_command({"type": "LOCAL"}, ["python"], argv)
    entry_point = _relative_to(Path(argv[0]), repo_top)
    launcher = ["python"] if entry_point.endswith(".py") else []
    script: dict[str, Any] = {"type": "LOCAL", "entry_point": entry_point}
    working = _working_directory(repo_top)
    if working:
        script["cwd"] = working
    return _with_command(script, [*launcher, entry_point], argv[1:])


def _working_directory(repo_top: Path | None) -> str | None:
    """The working directory relative to the repository's top, when it is below it (a
    command run again must start there: its relative paths are relative to it)."""
    if repo_top is None:
        return None
    try:
        relative = Path.cwd().resolve().relative_to(repo_top.resolve())
    except (ValueError, OSError):
        return None
    return None if relative == Path(".") else relative.as_posix()


def _with_command(
    source: dict[str, Any], program: list[str], arguments: list[str]
) -> dict[str, Any]:
    """The command line: the program as the record names it anyway (the launcher and the
    entry point), then the arguments with their secrets (``--api-key=...``, tokens)
    replaced and counted. A script run without arguments loads no secret scanner."""
    command, count = _redacted_command(tuple(program), tuple(arguments))
    source["command"] = command
    if count:
        source["redacted"] = count
    return source


@functools.lru_cache(maxsize=8)
def _redacted_command(program: tuple[str, ...], arguments: tuple[str, ...]) -> tuple[str, int]:
    # A process's command line rarely changes: scanned once, not once per run.
    redacted, count = redact_command(list(arguments)) if arguments else ([], 0)
    if count:
        logger.warning("Left %d secret(s) out of the recorded command line", count)
    # A record is committed and published: /home/ana/data.csv is recorded as ~/data.csv
    # (a reproduction expands it again on the machine that runs it).
    return public_text(shlex.join([*program, *redacted])), count


def _relative_to(path: Path, repo_top: Path | None) -> str:
    absolute = path if path.is_absolute() else Path.cwd() / path
    if repo_top is not None:
        with contextlib.suppress(ValueError):
            return absolute.resolve().relative_to(repo_top).as_posix()
    return path.name


# -- git ------------------------------------------------------------------------


@dataclass(frozen=True)
class GitSnapshot:
    """The code version a run starts from."""

    commit: str | None
    branch: str | None
    dirty: bool
    remote: str | None
    diff: str  # empty when the tree is clean

    def to_record(self) -> dict[str, Any]:
        return {
            "commit": self.commit,
            "branch": self.branch,
            "dirty": self.dirty,
            "remote": self.remote,
        }


Fingerprint = tuple[tuple[int, int, int, int] | None, ...]  # mtime, size, inode, mode


class GitWatcher:
    """Snapshots of one work tree, leaving out the runs folder, reused while nothing changed.

    Whether anything changed is asked of the kernel where it can tell (Linux: a
    :class:`ChangeWatch` on the tree's folders and git's refs), which costs one read
    whatever the size of the tree; elsewhere, of a fingerprint of the tree (the
    ``stat`` of every tracked file and folder) while it is small, else of git.
    """

    def __init__(self, top: Path, runs_dir: Path) -> None:
        self.top = top
        self.pathspec = ["--", "."]
        # Untracked files are listed apart: git walks every folder of an excluded
        # pathspec looking for them (0.25 s for a runs folder of 25,000 runs), but
        # never enters a folder an ignore pattern names.
        self.untracked_command = ["ls-files", "--others", "--exclude-standard", "-z"]
        # The runs folder as a walk of the tree from ``top`` names it, for the walk to
        # leave it out (outside the tree, nothing names it).
        self.runs_dir = str(runs_dir.resolve())
        with contextlib.suppress(ValueError):
            relative = runs_dir.resolve().relative_to(top).as_posix()
            if relative != ".":
                self.runs_dir = os.path.join(top, *relative.split("/"))
                self.pathspec.append(f":(top,exclude){relative}")
                self.untracked_command.append(f"--exclude={_anchored_pattern(relative)}")
        git_dir, common_dir = (
            run_git(["rev-parse", "--absolute-git-dir", "--git-common-dir"], top)
            .decode()
            .splitlines()
        )
        self.git_dir = Path(git_dir)
        self.common_dir = (top / common_dir).resolve()
        self._watched: list[str] = []
        self._fingerprint: Fingerprint | None = None
        self._changes: ChangeWatch | None = None
        self._snapshot: GitSnapshot | None = None
        self._lock = threading.Lock()

    def snapshot(self) -> GitSnapshot:
        with self._lock:
            if self._snapshot is not None and not self._may_have_changed():
                return self._snapshot
            self.forget()
            if self._has_submodules():
                # A submodule's files are listed, and change, in its own repository: no
                # watch of this one sees them. Such a tree is asked of git every time.
                self._snapshot = self._ask_git()[0]
                return self._snapshot
            tracked = self._tracked_files()
            # Watched before git is asked, so a change made meanwhile is seen next time.
            self._changes = ChangeWatch.start(
                [*self._git_folders(), *_folders_of(self.top, tracked)]
            )
            watched = self._refs_and_index()
            before = self._take_fingerprint(watched)
            snapshot, untracked, unlisted = self._ask_git()
            # A file can appear in any folder git looks in, not only those holding a file
            # it listed: an empty folder, or one of ignored files only, is looked at too.
            below = _folders_below(self.top, unlisted, self.runs_dir)
            if below is None:  # too many to look at: git is asked each time
                self.forget()
                self._snapshot = snapshot
                return snapshot
            folders = [*_folders_of(self.top, untracked), *below]
            if self._changes is not None:
                # git refreshes its index as it looks: that write is ours, not a change.
                index = (str(self.git_dir), "index")
                if self._changes.settle([index, (index[0], "index.lock")]) or not (
                    self._changes.add(folders)
                ):
                    self.forget()  # something else changed meanwhile: ask again next time
            if self._changes is None:
                paths = sorted(
                    {*(str(self.top / name) for name in (*tracked, *untracked))}
                    | {*_folders_of(self.top, tracked), *folders}
                )
                if len(paths) <= MAX_FINGERPRINTED_FILES:
                    self._watched = watched + paths
                    self._fingerprint = before + self._take_fingerprint(paths)
            self._snapshot = snapshot
            return snapshot

    def _has_submodules(self) -> bool:
        """Whether the tree has submodules, as ``git submodule add`` records them. (A
        repository committed inside another without it, which git warns against, is not
        seen as one.)"""
        return os.path.lexists(self.top / ".gitmodules")

    def _may_have_changed(self) -> bool:
        if self._changes is not None:
            return self._changes.changed()
        if self._watched:
            return self._take_fingerprint(self._watched) != self._fingerprint
        return True

    def forget(self) -> None:
        """Stop watching (the next snapshot asks git)."""
        if self._changes is not None:
            self._changes.close()
        self._changes, self._watched, self._fingerprint = None, [], None

    def _git_folders(self) -> list[str]:
        """Where git keeps what a snapshot reads besides the tree: HEAD, the config and
        packed refs, the branches, the excludes."""
        folders = {str(self.git_dir), str(self.common_dir)}
        for refs in {self.git_dir / "refs" / "heads", self.common_dir / "refs" / "heads"}:
            folders.add(str(refs))
            folders.update(str(folder) for folder in refs.rglob("*") if folder.is_dir())
        folders.add(str(self.common_dir / "info"))
        return sorted(folders)

    def _refs_and_index(self) -> list[str]:
        files = [self.git_dir / "HEAD", self.git_dir / "index", self.common_dir / "packed-refs"]
        files += [self.common_dir / "config", self.common_dir / "info" / "exclude"]
        with contextlib.suppress(OSError):
            head = (self.git_dir / "HEAD").read_text().strip()
            if head.startswith("ref: "):
                files.append(self.common_dir / head[5:])
        return [str(path) for path in files]

    @staticmethod
    def _take_fingerprint(paths: list[str]) -> Fingerprint:
        signatures: list[tuple[int, int, int, int] | None] = []
        for path in paths:
            try:
                stat = os.stat(path, follow_symlinks=False)
            except OSError:
                signatures.append(None)
            else:
                signatures.append((stat.st_mtime_ns, stat.st_size, stat.st_ino, stat.st_mode))
        return tuple(signatures)

    def _tracked_files(self) -> list[str]:
        # Decoded whole, then split: 50,000 names cost one decode, not 50,000.
        listed = os.fsdecode(run_git(["ls-files", "-z", *self.pathspec], self.top))
        return [name for name in listed.split("\0") if name]

    def _ask_git(self) -> tuple[GitSnapshot, list[str], list[str]]:
        """The snapshot, the untracked files it found, and the folders git collapsed as it
        listed them (relative, each ending with "/"): folders holding no tracked file,
        among them those a watch must look in though git lists no file in them (empty,
        or of ignored files only)."""
        # Tracked changes and untracked files, asked of git processes side by side. A
        # submodule holding untracked files is a change only when status looks for them.
        looks = "all" if self._has_submodules() else "no"
        status_command = ["status", "--porcelain=v2", "--branch", "-z", "-u" + looks]
        status, listed = run_git_together(
            [[*status_command, *self.pathspec], [*self.untracked_command, "--directory"]],
            self.top,
        )
        names = [name for name in os.fsdecode(listed).split("\0") if name]
        unlisted = [name for name in names if name.endswith("/")]
        untracked = [name for name in names if not name.endswith("/")]
        if unlisted:  # the files inside the collapsed folders: git walks only those
            pathspec = [f":(literal){name}" for name in unlisted]
            if sum(len(item) + 1 for item in pathspec) > MAX_NAMED_PATHS_LENGTH:
                pathspec = []  # too long a command line: list the whole tree again
            inside = run_git([*self.untracked_command, "--", *pathspec], self.top)
            found = {name for name in os.fsdecode(inside).split("\0") if name}
            untracked = sorted(found.union(untracked))
        commit, branch, changed = _parse_status(status)
        diff = ""
        if changed or untracked:
            diff = self._diff(commit, changed, untracked)
        snapshot = GitSnapshot(
            commit=commit,
            branch=branch,
            dirty=bool(changed or untracked),
            remote=self._remote(branch),
            diff=diff,
        )
        return snapshot, untracked, unlisted

    def _diff(self, commit: str | None, changed: list[str], untracked: list[str]) -> str:
        """The uncommitted changes, with secret files left out and secrets redacted.

        Untracked files are read without following links; a file whose name or
        content says it holds a secret is left out whole (named in a note), and
        what detect-secrets finds in the rest is replaced by ``[REDACTED]``.
        """
        pathspec = self._diff_pathspec(changed)
        tracked = ""
        if pathspec is not None:
            empty_tree = ["hash-object", "-t", "tree", "/dev/null"]
            base = commit or run_git(empty_tree, self.top).decode().strip()
            tracked = run_git(
                ["diff", base, "--no-color", "--no-ext-diff", *pathspec], self.top
            ).decode("utf-8", errors="replace")
        redaction = redact_lines(tracked)
        parts = [redaction.text]
        left_out: list[str] = []
        secret_files = [name for name in untracked if is_secret_file(name)]
        site_folders = tuple(
            name[: -len(SITE_MANIFEST)] for name in untracked if name.endswith(SITE_MANIFEST)
        )
        candidates = [
            name
            for name in untracked
            if not is_secret_file(name) and not (site_folders and name.startswith(site_folders))
        ]
        for name in candidates[:MAX_UNTRACKED_FILES]:
            with own_reads():  # read for the diff, not data the run was given
                text = read_small_text(self.top / name, MAX_UNTRACKED_FILE_BYTES)
            if text is None:
                left_out.append(name)
                continue
            scan = redact_lines(text, filename=name)
            if scan.removed:
                secret_files.append(name)
            else:
                parts.append(_new_file_diff(name, text))
        left_out += candidates[MAX_UNTRACKED_FILES:]
        # Untracked files were scanned one by one above (any secret leaves one out whole),
        # so only the tracked changes needed redacting.
        diff = "".join(parts)
        notes: list[str] = []
        if redaction.note:
            notes.append(redaction.note)
        if secret_files:
            notes.append(
                f"{NOTE_PREFIX} {len(secret_files)} untracked file(s) left out because their "
                f"name or content looks secret: {_shown(secret_files)}\n"
            )
        if site_folders:
            notes.append(
                f"{NOTE_PREFIX} built site output left out: {_shown(list(site_folders))} "
                "(add it to .gitignore, as 'gitruns init' does)\n"
            )
        encoded = diff.encode("utf-8")
        if len(encoded) > MAX_DIFF_BYTES:
            cut = encoded[:MAX_DIFF_BYTES].decode("utf-8", errors="ignore")
            diff = cut[: cut.rfind("\n") + 1]
            notes.append(
                f"{NOTE_PREFIX} diff cut at {MAX_DIFF_BYTES // 1024} KiB "
                f"of {len(encoded) // 1024} KiB\n"
            )
        if left_out:
            notes.append(
                f"{NOTE_PREFIX} {len(left_out)} untracked file(s) left out (links, binary, "
                f"over {MAX_UNTRACKED_FILE_BYTES // 1024} KiB, or too many): "
                f"{_shown(left_out)}\n"
            )
        for note in notes:
            logger.warning("%s", note.removeprefix(NOTE_PREFIX).strip())
        return diff + "".join(notes)

    def _diff_pathspec(self, changed: list[str]) -> list[str] | None:
        """What the diff covers: the tracked paths ``git status`` found changed, but secret
        files (None: nothing to compare). Named one by one, git compares a few files; past
        :data:`MAX_NAMED_PATHS_LENGTH`, the whole tree with the secret ones named out."""
        named = [f":(top,literal){path}" for path in changed if not is_secret_file(path)]
        if sum(len(item) + 1 for item in named) <= MAX_NAMED_PATHS_LENGTH:
            return ["--", *named] if named else None
        secret = [path for path in changed if is_secret_file(path)]
        return [*self.pathspec, *(f":(top,exclude,literal){path}" for path in secret)]

    def _remote(self, branch: str | None) -> str | None:
        """The URL of the branch's remote (else origin's), without credentials; one git
        process reads both settings."""
        listed = run_git(
            ["config", "-z", "--get-regexp", r"^(branch\..*\.remote|remote\..*\.url)$"],
            self.top,
            check=False,
        )
        settings: dict[str, str] = {}
        for item in listed.split(b"\0"):
            key, _, value = os.fsdecode(item).partition("\n")
            settings[key] = value  # a key set twice: the last, as 'git config --get' says
        remote_name = (branch and settings.get(f"branch.{branch}.remote")) or "origin"
        url_text = settings.get(f"remote.{remote_name}.url", "").strip()
        if not url_text:
            return None
        return strip_credentials(url_text)


def _folders_of(top: Path, files: list[str]) -> list[str]:
    """The top and every folder holding one of ``files`` (relative to it), up to the top."""
    found = {""}
    # git names paths with "/" on every system; a folder holds many files, so the
    # distinct folders are found first and only they are walked up.
    for folder in {name.rpartition("/")[0] for name in files}:
        while folder not in found:
            found.add(folder)
            folder = folder.rpartition("/")[0]
    return [str(top / folder) if folder else str(top) for folder in sorted(found)]


def _folders_below(top: Path, folders: list[str], runs_dir: str) -> list[str] | None:
    """``folders`` (relative to ``top``) and every folder below them, links not followed,
    the runs folder and what is inside a nested repository left out (git names such a
    repository, never its files); None past :data:`MAX_UNLISTED_FOLDERS`."""
    found: list[str] = []
    for folder in folders:
        for below, subfolders, files in os.walk(top / folder):
            found.append(below)
            if len(found) > MAX_UNLISTED_FOLDERS:
                return None
            if ".git" in subfolders or ".git" in files:
                subfolders[:] = []
            else:
                subfolders[:] = [n for n in subfolders if os.path.join(below, n) != runs_dir]
    return found


def _anchored_pattern(folder: str) -> str:
    """An ignore pattern naming ``folder`` (relative to the top) and nothing else: anchored,
    with the characters git's patterns read specially escaped."""
    escaped = "".join(f"\\{char}" if char in "\\*?[]!# " else char for char in folder)
    return f"/{escaped}/"


def _parse_status(output: bytes) -> tuple[str | None, str | None, list[str]]:
    """Commit, branch and changed tracked paths (both ends of a rename) from
    ``git status --porcelain=v2 --branch -z``."""
    commit: str | None = None
    branch: str | None = None
    changed: list[str] = []
    entries = iter(output.split(b"\0"))
    for raw in entries:
        if not raw:
            continue
        entry = os.fsdecode(raw)
        if entry.startswith("# branch.oid "):
            oid = entry[len("# branch.oid ") :]
            commit = None if oid == "(initial)" else oid
        elif entry.startswith("# branch.head "):
            head = entry[len("# branch.head ") :]
            branch = None if head == "(detached)" else head
        elif entry.startswith(("1 ", "u ")):
            changed.append(entry.split(" ", 8 if entry[0] == "1" else 10)[-1])
        elif entry.startswith("2 "):
            changed.append(entry.split(" ", 9)[-1])
            renamed_from = next(entries, b"")  # the diff shows both ends of a rename
            if renamed_from:
                changed.append(os.fsdecode(renamed_from))
    return commit, branch, changed


def _shown(names: list[str]) -> str:
    return ", ".join(names[:20]) + (" ..." if len(names) > 20 else "")


def _new_file_diff(name: str, text: str) -> str:
    lines = text.splitlines(keepends=True)
    body = "".join("+" + line for line in lines)
    if lines and not lines[-1].endswith("\n"):
        body += "\n\\ No newline at end of file\n"
    return (
        f"diff --git a/{name} b/{name}\nnew file mode 100644\n--- /dev/null\n+++ b/{name}\n"
        f"@@ -0,0 +1,{len(lines)} @@\n{body}"
    )


# Trees a process keeps watching, the most recently used: a user has 128 inotify
# instances in all (a server logging to many repositories must not take them all).
MAX_WATCHED_TREES = 8
_watchers: OrderedDict[tuple[Path, Path], GitWatcher | None] = OrderedDict()
_watchers_lock = threading.Lock()


def capture_git(repo_top: Path, runs_dir: Path) -> GitSnapshot | None:
    """The git state of ``repo_top``, leaving ``runs_dir`` out; None when git can't tell."""
    key = (repo_top, runs_dir)
    with _watchers_lock:
        if key not in _watchers:
            try:
                _watchers[key] = GitWatcher(repo_top, runs_dir)
            except GitUnavailable as error:
                logger.warning("No code version is captured: %s.", error)
                _watchers[key] = None
            while len(_watchers) > MAX_WATCHED_TREES:
                _, oldest = _watchers.popitem(last=False)
                if oldest is not None:
                    oldest.forget()
        _watchers.move_to_end(key)
        watcher = _watchers[key]
    if watcher is None:
        return None
    try:
        return watcher.snapshot()
    except GitUnavailable as error:
        logger.warning("No code version is captured for this run: %s.", error)
        return None


def forget_process_state() -> None:
    """Drop per-process caches; called in a child after ``fork``."""
    forget_process_identity()
    with _watchers_lock:
        for watcher in _watchers.values():
            if watcher is not None:
                watcher.forget()  # the parent's watch: this process starts its own
        _watchers.clear()


os.register_at_fork(after_in_child=forget_process_state)
