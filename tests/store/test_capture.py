"""What a run records about itself: git state, diff, remote, process liveness."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from gitruns.store import capture
from gitruns.store.capture import GitWatcher, strip_credentials
from gitruns.utils.processes import current_process, process_alive
from tests.conftest import git, make_repo


@pytest.fixture()
def project(tmp_path: Path) -> Path:
    return make_repo(tmp_path / "project", {"train.py": "alpha = 1\n", "src/model.py": "x = 1\n"})


def snapshot(project: Path) -> capture.GitSnapshot:
    return GitWatcher(project, project / "runs").snapshot()


def test_clean_tree(project: Path):
    state = snapshot(project)
    assert state.commit == git(project, "rev-parse", "HEAD").strip()
    assert (state.branch, state.dirty, state.diff) == ("main", False, "")


def test_modified_staged_and_untracked_files_are_in_the_diff(project: Path):
    (project / "train.py").write_text("alpha = 2\n")
    (project / "src" / "model.py").write_text("x = 2\n")
    git(project, "add", "src/model.py")
    (project / "notes.md").write_text("idea\n")
    (project / "runs" / "exp").mkdir(parents=True)
    (project / "runs" / "exp" / "run.yaml").write_text("not part of the code\n")
    state = snapshot(project)
    assert state.dirty
    assert "-alpha = 1\n+alpha = 2" in state.diff
    assert "+x = 2" in state.diff
    assert "+++ b/notes.md" in state.diff and "+idea" in state.diff
    assert "runs/" not in state.diff
    applied = subprocess.run(
        ["git", "apply", "--check", "-R"], cwd=project, input=state.diff.encode()
    )
    assert applied.returncode == 0, "the diff is a real patch of the work tree"


def test_big_and_binary_untracked_files_are_named_not_copied(project: Path):
    (project / "data.csv").write_text("x\n" * 100_000)
    (project / "model.bin").write_bytes(b"\x00\x01" * 10)
    state = snapshot(project)
    assert "2 untracked file(s) left out" in state.diff
    assert "data.csv" in state.diff and "model.bin" in state.diff
    assert len(state.diff) < 2_000


def test_a_huge_diff_is_cut_with_a_note(project: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setattr(capture, "MAX_DIFF_BYTES", 1000)
    (project / "train.py").write_text("".join(f"line {i}\n" for i in range(500)))
    state = snapshot(project)
    assert "# gitruns: diff cut at" in state.diff
    assert len(state.diff.encode()) < 1200


def test_snapshot_is_reused_until_something_changes(project: Path):
    watcher = GitWatcher(project, project / "runs")
    first = watcher.snapshot()
    assert watcher.snapshot() is first
    (project / "train.py").write_text("alpha = 3\n")
    edited = watcher.snapshot()
    assert edited.dirty and "+alpha = 3" in edited.diff
    (project / "new_module.py").write_text("y = 1\n")
    assert "new_module.py" in watcher.snapshot().diff
    git(project, "add", ".")
    git(project, "commit", "--quiet", "-m", "more")
    committed = watcher.snapshot()
    assert not committed.dirty and committed.commit == git(project, "rev-parse", "HEAD").strip()
    git(project, "checkout", "--quiet", "-b", "feature")
    assert watcher.snapshot().branch == "feature"


def test_the_diff_of_the_changed_paths_is_the_diff_of_the_whole_tree(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    """The diff names the paths status found changed (secret files left out by name);
    past a command line's length git is given the secret patterns and the whole tree
    instead. Both record the same diff, whatever the names and kinds of change."""
    files = {
        "train.py": "alpha = 1\n",
        "src/deep/er/model.py": "x = 1\n",
        "gone.py": "bye\n",
        "old name.py": "moved\n" * 20,
        "[abc].py": "glob = 1\n",
        "*.txt": "star\n",
        "données/table.csv": "a,b\n",
        "config/.env": "TOKEN_NAME = 'tracked secret'\n",
        "home/.aws/config": "region = 'tracked secret'\n",
        "runs/exp/old/run.yaml": "committed run\n",
        "tool.sh": "echo hi\n",
    }
    project = make_repo(tmp_path / "project", files)
    (project / "train.py").write_text("alpha = 2\n")
    (project / "src" / "deep" / "er" / "model.py").write_text("x = 2\n")
    (project / "gone.py").unlink()
    git(project, "mv", "old name.py", "new name.py")
    (project / "[abc].py").write_text("glob = 2\n")
    (project / "a.py").write_text("not [abc].py\n")  # untracked: a glob would match it
    git(project, "add", "a.py")
    (project / "*.txt").write_text("star 2\n")
    (project / "données" / "table.csv").write_text("a,b\n1,2\n")
    (project / "config" / ".env").write_text("TOKEN_NAME = 'changed secret'\n")
    (project / "home" / ".aws" / "config").write_text("region = 'changed secret'\n")
    (project / "runs" / "exp" / "old" / "run.yaml").write_text("edited run\n")
    os.chmod(project / "tool.sh", 0o755)

    named = GitWatcher(project, project / "runs").snapshot().diff
    monkeypatch.setattr(capture, "MAX_NAMED_PATHS_LENGTH", 0)
    patterns = GitWatcher(project, project / "runs").snapshot().diff
    assert named == patterns
    for shown in ("+alpha = 2", "+x = 2", "deleted file mode", "rename to new name.py",
                  "+glob = 2", "+not [abc].py", "+star 2", "+1,2", "new mode 100755"):  # fmt: skip
        assert shown in named, shown
    assert "secret" not in named and "run" not in named.replace("runs", "")
    applied = subprocess.run(["git", "apply", "--check", "-R"], cwd=project, input=named.encode())
    assert applied.returncode == 0, applied


@pytest.mark.parametrize("runs_folder", ["runs", "my runs [1]", "out/runs#2"])
def test_the_untracked_files_are_those_git_status_lists(tmp_path: Path, runs_folder: str):
    """Untracked files are listed apart from the status (an ignore pattern keeps git out of
    the runs folder): the same files as ``git status`` finds with the folder excluded."""
    project = make_repo(
        tmp_path / "project",
        {"train.py": "a = 1\n", ".gitignore": "*.log\n!keep.log\nbuild/\n"},
    )
    (project / ".git" / "info").mkdir(exist_ok=True)
    (project / ".git" / "info" / "exclude").write_text("scratch/\n")
    (tmp_path / "global-ignore").write_text("*.tmp\n")
    git(project, "config", "core.excludesFile", str(tmp_path / "global-ignore"))
    for name in [
        "notes.md", "deep/er/still/new.py", "with space é.txt", "[1].py", "a.log", "keep.log",
        "build/out.bin", "scratch/try.py", "x.tmp", "runs/not the runs folder.txt",
        f"{runs_folder}/exp/0123/run.yaml", f"{runs_folder}/loose.txt", "out/other.txt",
    ]:  # fmt: skip
        (project / name).parent.mkdir(parents=True, exist_ok=True)
        (project / name).write_text("x\n")
    nested = make_repo(project / "vendored", {"lib.py": "b = 1\n", "pkg/deep.py": "c = 1\n"})
    assert nested.is_dir()

    (project / "empty" / "too").mkdir(parents=True)

    watcher = GitWatcher(project, project / runs_folder)
    _, untracked, unlisted = watcher._ask_git()
    status = git(
        project, "status", "--porcelain=v2", "-z", "--untracked-files=all",
        "--", ".", f":(top,exclude){runs_folder}",
    )  # fmt: skip
    said = [entry[2:] for entry in status.split("\0") if entry.startswith("? ")]
    assert sorted(untracked) == sorted(said)
    assert "keep.log" in untracked and "vendored/" in untracked
    assert not any(name.startswith(f"{runs_folder}/") for name in untracked)
    # The folders a watch looks in besides those of listed files: never ignored ones.
    assert {"empty/", "deep/", "vendored/"} <= set(unlisted)
    assert not {"build/", "scratch/", f"{runs_folder}/"} & set(unlisted)
    below = capture._folders_below(project, unlisted, watcher.runs_dir)
    assert below is not None and str(project / "empty" / "too") in below
    assert not [folder for folder in below if runs_folder in folder or ".git" in folder]
    assert str(project / "vendored") in below  # a nested repository: git names it whole
    assert str(project / "vendored" / "pkg") not in below


@pytest.fixture(params=[2, 5_000], ids=["small", "5000-files"])
def tree(request: pytest.FixtureRequest, tmp_path: Path) -> Path:
    """A repository of 2 tracked files, or of 5,000 (fifty packages of small modules)."""
    files = {"train.py": "alpha = 1\n", "src/model.py": "x = 1\n"}
    for index in range(request.param - 2):
        files[f"src/package_{index // 100}/module_{index}.py"] = f"VALUE = {index}\n"
    return make_repo(tmp_path / "project", files)


@pytest.mark.parametrize("looking", ["kernel", "fingerprint", "git"])
def test_every_way_of_looking_records_what_git_says(
    tree: Path, looking: str, monkeypatch: pytest.MonkeyPatch
):
    """Whether the kernel says the tree changed, a fingerprint does, or git is asked each
    time, a run records the same as a fresh look would, after each kind of change."""
    if looking != "kernel":
        monkeypatch.setattr(capture.ChangeWatch, "start", classmethod(lambda cls, *a, **k: None))
    if looking == "git":
        monkeypatch.setattr(capture, "MAX_FINGERPRINTED_FILES", 0)
    watcher = GitWatcher(tree, tree / "runs")
    if looking == "kernel" and sys.platform.startswith("linux"):
        watcher.snapshot()
        assert watcher._changes is not None  # the kernel watches: nothing is stat'ed
    fresh = lambda: GitWatcher(tree, tree / "runs").snapshot()  # noqa: E731

    def same() -> capture.GitSnapshot:
        seen = watcher.snapshot()
        assert seen == fresh()
        return seen

    assert not same().dirty  # clean
    (tree / "train.py").write_text("alpha = 2\n")  # a tracked file edited in place
    assert "+alpha = 2" in same().diff
    if looking == "kernel":  # nothing changed: nothing asked (after the index git refreshed)
        first = watcher.snapshot()
        assert watcher.snapshot() is first
    (tree / "notes.md").write_text("idea\n")  # an untracked file
    assert "+idea" in same().diff
    git(tree, "add", "src/model.py", "notes.md")  # staged: the diff is against the commit
    same()
    (tree / "src" / "model.py").write_text("x = 2\n")  # staged, then edited again
    assert "+x = 2" in same().diff
    (tree / "fresh" / "deep").mkdir(parents=True)  # a new folder, then a file in it
    (tree / "fresh" / "deep" / "a.txt").write_text("one\n")
    assert "+one" in same().diff
    (tree / "fresh" / "deep" / "a.txt").write_text("two\n")  # in a folder made since
    assert "+two" in same().diff
    (tree / ".git" / "info").mkdir(exist_ok=True)
    with (tree / ".git" / "info" / "exclude").open("a") as excludes:
        excludes.write("fresh/\n")  # excluded now: out of the diff
    assert "fresh/deep" not in same().diff
    (tree / "runs" / "exp").mkdir(parents=True)  # the runs folder: never part of the code
    (tree / "runs" / "exp" / "run.yaml").write_text("x\n")
    assert "runs/" not in same().diff
    git(tree, "add", "-A")
    git(tree, "commit", "--quiet", "-m", "more")
    committed = same()
    assert not committed.dirty and committed.commit == git(tree, "rev-parse", "HEAD").strip()
    git(tree, "checkout", "--quiet", "-b", "feature")
    assert same().branch == "feature"
    git(tree, "remote", "add", "origin", "https://example.org/team/project.git")
    assert same().remote == "https://example.org/team/project.git"
    os.chmod(tree / "train.py", 0o755)  # the mode git tracks
    assert same().dirty


def test_a_process_watches_a_few_trees_at_most(tmp_path: Path):
    """A user has 128 inotify instances: a process logging to many repositories keeps
    watching the most recent few, and still captures the others."""
    projects = [make_repo(tmp_path / f"p{n}", {"train.py": f"n = {n}\n"}) for n in range(10)]
    for project in projects:
        assert capture.capture_git(project, project / "runs") is not None
    assert len(capture._watchers) == capture.MAX_WATCHED_TREES
    (projects[0] / "train.py").write_text("n = 100\n")
    again = capture.capture_git(projects[0], projects[0] / "runs")
    assert again is not None and "+n = 100" in again.diff


def test_untracked_files_inside_a_submodule_make_the_tree_dirty(tmp_path: Path):
    library = make_repo(tmp_path / "library", {"lib.py": "a = 1\n"})
    project = make_repo(tmp_path / "project", {"train.py": "a = 1\n"})
    git(project, "-c", "protocol.file.allow=always", "submodule", "add", "--quiet",
        str(library), "library")  # fmt: skip
    git(project, "commit", "--quiet", "-m", "the library")
    assert not snapshot(project).dirty
    (project / "library" / "scratch.py").write_text("b = 2\n")
    status = git(project, "status", "--porcelain=v2", "--untracked-files=all")
    assert status.startswith("1 .M S..U")  # what git says: the submodule changed
    assert snapshot(project).dirty


@pytest.mark.parametrize("looking", ["kernel", "fingerprint"])
def test_a_file_in_a_folder_git_lists_nothing_in_is_seen_by_the_next_run(
    project: Path, looking: str, monkeypatch: pytest.MonkeyPatch
):
    """Folders that hold no file git lists (empty, or only ignored files) are looked at
    too: a file made in one between two runs of a process is in the second run's diff."""
    if looking != "kernel":
        monkeypatch.setattr(capture.ChangeWatch, "start", classmethod(lambda cls, *a, **k: None))
    (project / ".gitignore").write_text("*.log\n")
    (project / "logs").mkdir()
    (project / "logs" / "train.log").write_text("epoch 1\n")  # ignored: git lists nothing
    (project / "src" / "empty" / "deeper").mkdir(parents=True)
    watcher = GitWatcher(project, project / "runs")

    def same() -> capture.GitSnapshot:
        seen = watcher.snapshot()
        assert seen == GitWatcher(project, project / "runs").snapshot()
        return seen

    same()
    (project / "logs" / "notes.md").write_text("first\n")  # beside ignored files only
    assert "+first" in same().diff
    (project / "src" / "empty" / "deeper" / "idea.py").write_text("idea = 1\n")  # nested
    assert "+idea = 1" in same().diff
    (project / "logs" / "more.md").write_text("second\n")  # a second file, same folder
    assert "+second" in same().diff
    (project / "data" / "raw").mkdir(parents=True)  # made between runs, empty
    same()
    (project / "data" / "raw" / "rows.csv").write_text("a,b\n")
    assert "+a,b" in same().diff


def test_a_tree_of_many_empty_folders_is_asked_of_git_each_run(
    project: Path, monkeypatch: pytest.MonkeyPatch
):
    monkeypatch.setattr(capture, "MAX_UNLISTED_FOLDERS", 2)
    for name in ("a", "b", "c"):
        (project / "empty" / name).mkdir(parents=True)
    watcher = GitWatcher(project, project / "runs")
    assert not watcher.snapshot().dirty
    assert watcher._changes is None and not watcher._watched  # nothing to trust: ask git
    (project / "empty" / "b" / "new.txt").write_text("seen\n")
    assert "+seen" in watcher.snapshot().diff


@pytest.mark.parametrize("looking", ["kernel", "fingerprint"])
def test_a_change_inside_a_submodule_is_seen_by_the_next_run(
    tmp_path: Path, looking: str, monkeypatch: pytest.MonkeyPatch
):
    """A submodule's files are not the superproject's: no watch of the superproject sees
    them change, so the second run of a process records what a fresh look would."""
    if looking != "kernel":
        monkeypatch.setattr(capture.ChangeWatch, "start", classmethod(lambda cls, *a, **k: None))
    library = make_repo(tmp_path / "library", {"lib.py": "a = 1\n", "pkg/deep.py": "b = 1\n"})
    project = make_repo(tmp_path / "project", {"train.py": "a = 1\n"})
    git(project, "-c", "protocol.file.allow=always", "submodule", "add", "--quiet",
        str(library), "library")  # fmt: skip
    git(project, "commit", "--quiet", "-m", "the library")
    watcher = GitWatcher(project, project / "runs")
    assert not watcher.snapshot().dirty

    def same() -> capture.GitSnapshot:
        seen = watcher.snapshot()
        assert seen == GitWatcher(project, project / "runs").snapshot()
        return seen

    (project / "library" / "pkg" / "deep.py").write_text("b = 2\n")  # edited in place
    assert same().dirty
    git(project / "library", "commit", "--quiet", "-am", "deeper")  # a new commit in it
    assert "Subproject commit" in same().diff
    git(project, "add", "library")
    git(project, "commit", "--quiet", "-m", "the library, moved on")
    assert not same().dirty


def test_git_commands_side_by_side_answer_in_order_and_a_failure_says_which(project: Path):
    from gitruns.utils.git import GitUnavailable, run_git_together

    head, listed = run_git_together([["rev-parse", "HEAD"], ["ls-files"]], project)
    assert head.decode().strip() == git(project, "rev-parse", "HEAD").strip()
    assert listed.decode().split() == ["src/model.py", "train.py"]
    with pytest.raises(GitUnavailable, match="git rev-parse no-such-ref failed"):
        run_git_together([["ls-files"], ["rev-parse", "no-such-ref"]], project)


def test_repository_without_commits(tmp_path: Path):
    project = tmp_path / "fresh"
    project.mkdir()
    git(project, "init", "--quiet")
    (project / "train.py").write_text("print()\n")
    state = snapshot(project)
    assert state.commit is None and state.dirty and "+++ b/train.py" in state.diff


def test_remote_is_recorded_without_credentials(project: Path):
    git(project, "remote", "add", "origin", "https://user:ghp_secret@github.com/org/repo.git")
    assert snapshot(project).remote == "https://github.com/org/repo.git"


def test_the_remote_is_the_branchs_own_when_it_has_one(project: Path):
    git(project, "remote", "add", "origin", "https://example.org/mine.git")
    git(project, "remote", "add", "upstream", "https://example.org/team.git")
    assert snapshot(project).remote == "https://example.org/mine.git"
    git(project, "config", "branch.main.remote", "upstream")
    assert snapshot(project).remote == "https://example.org/team.git"


def test_the_package_list_is_what_importlib_metadata_says():
    """Package names and versions read from the metadata's fields alone are those
    ``importlib.metadata`` gives when it parses each file whole."""
    import importlib.metadata

    expected: dict[str, str] = {}
    for distribution in importlib.metadata.distributions():
        name = distribution.metadata["Name"]
        if name:
            canonical = name.lower().replace("_", "-").replace(".", "-")
            expected.setdefault(canonical, f"{name}=={distribution.version}")
    captured = capture._read_environment().requirements.splitlines()
    assert sorted(captured) == sorted(expected.values())
    assert any(line.startswith(("PyYAML==", "pyyaml==")) for line in captured)


def test_a_package_installed_between_two_runs_is_in_the_second_runs_list(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    """A process reads the package list again once a package folder changed, as a
    notebook's ``%pip install`` changes it; while nothing changed it reads it once."""
    packages = tmp_path / "venv" / "site-packages"
    packages.mkdir(parents=True)
    monkeypatch.syspath_prepend(str(packages))
    before = capture.capture_environment()
    assert capture.capture_environment() is before  # nothing installed: not read again
    assert "demo-package==" not in before.requirements
    info = packages / "demo_package-1.2.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: demo-package\nVersion: 1.2\n")
    assert "demo-package==1.2\n" in capture.capture_environment().requirements
    (info / "METADATA").unlink()
    info.rmdir()  # uninstalled
    assert "demo-package==" not in capture.capture_environment().requirements


@pytest.mark.parametrize(
    ("url", "clean"),
    [
        ("https://x-access-token:abc@github.com/o/r.git", "https://github.com/o/r.git"),
        ("https://token@github.com/o/r", "https://github.com/o/r"),
        ("ssh://git@github.com/o/r.git", "ssh://git@github.com/o/r.git"),
        ("ssh://git:pw@host/o/r.git", "ssh://host/o/r.git"),
        ("git@github.com:o/r.git", "git@github.com:o/r.git"),
        ("https://github.com/o/r.git", "https://github.com/o/r.git"),
        ("ftps://TOKEN@host.example/r.git", "ftps://host.example/r.git"),
        ("http://host.example/r.git?access_token=abc#frag", "http://host.example/r.git"),
        ("git://user@host.example/r.git", "git://host.example/r.git"),
    ],
)
def test_strip_credentials(url: str, clean: str):
    assert strip_credentials(url) == clean


def test_this_process_is_alive_and_a_finished_one_is_not():
    assert process_alive(current_process()) is True
    child = subprocess.Popen(
        [sys.executable, "-c", "import os; print(os.getpid())"], stdout=subprocess.PIPE
    )
    pid = int(child.communicate()[0])
    identity = {**current_process(), "pid": pid}
    identity.pop("instance", None)
    assert process_alive(identity) is False
    assert process_alive({**current_process(), "instance": "00000000-1"}) is False  # pid reused
    assert process_alive({"host": "another-machine", "pid": os.getpid()}) is None
