"""The runs open in this process: their metrics flushed twice a second by one thread,
and each ended truthfully however the process ends (normal exit, uncaught exception,
SIGTERM); a forked child forgets its parent's runs."""

from __future__ import annotations

import atexit
import functools
import logging
import os
import signal
import sys
import threading
import time
import types
from typing import Protocol

from gitruns import once
from gitruns.store.record import FAILED, FINISHED, KILLED

logger = logging.getLogger(__name__)

FLUSH_INTERVAL_SECONDS = 0.5


class OpenRun(Protocol):
    """What the session asks of a run it holds (a :class:`gitruns.store.writer.LiveRun`)."""

    @property
    def run_id(self) -> str: ...

    def flush(self) -> None: ...

    def finish(self, status: str, error: BaseException | None = None) -> None: ...


live_runs: set[OpenRun] = set()


class _Flusher:
    """One daemon thread that flushes every live run's metrics twice a second."""

    def __init__(self) -> None:
        self.thread: threading.Thread | None = None

    def ensure_running(self) -> None:
        if self.thread is None:
            _forget_runs_in_forked_children()
            self.thread = threading.Thread(target=self._loop, name="gitruns-flusher", daemon=True)
            self.thread.start()

    def _loop(self) -> None:
        while True:
            time.sleep(FLUSH_INTERVAL_SECONDS)
            for run in list(live_runs):
                _flush_or_warn(run)


flusher = _Flusher()


def flush_open_runs() -> None:
    """Write what this process's open runs hold in memory (metric lines, a record to
    save), so that a read here sees every value logged here, as MLflow's reads do.

    A run that cannot be written (its folder removed under it, a full disk) does not stop
    the read: it answers from what is on disk, and the run's own next write or its end
    raises the error."""
    for run in list(live_runs):
        _flush_or_warn(run)


def _flush_or_warn(run: OpenRun) -> None:
    """Flush ``run``; a failure is said once per run, not at every try (the flusher tries
    again twice a second, in case the disk has room again)."""
    try:
        run.flush()
    except Exception as error:
        once.warn_once(
            logger,
            ("flush", run.run_id),
            "Could not write run %s's latest values (%s); reads show what is on disk, and "
            "the run cannot end until they are written. Check that its folder is still "
            "there and the disk has room.",
            run.run_id,
            error,
        )


def status_for_exception(error: BaseException | None) -> tuple[str, BaseException | None]:
    """How a run ends when its block (or the process) ends with ``error``."""
    if error is None:
        return FINISHED, None
    if isinstance(error, KeyboardInterrupt):
        return KILLED, error
    if isinstance(error, SystemExit) and error.code in (None, 0):
        return FINISHED, None
    return FAILED, error


def end_all(status: str, error: BaseException | None) -> None:
    """End every run open in this process, children before parents."""
    for run in sorted(live_runs, key=lambda live: live.run_id, reverse=True):
        try:
            run.finish(status, error)
        except Exception as failure:
            logger.error(
                "Could not end run %s as %s (%s). Its record may still say RUNNING; readers "
                "on this host show it as KILLED once this process is gone. Check that its "
                "folder is still there and the disk has room.",
                run.run_id,
                status,
                failure,
                exc_info=logger.isEnabledFor(logging.DEBUG),
            )


def _at_exit() -> None:
    end_all(FINISHED, None)


def _on_uncaught(
    kind: type[BaseException], error: BaseException, traceback: types.TracebackType | None
) -> None:
    end_all(*status_for_exception(error))
    _previous_excepthook(kind, error, traceback)


def _on_sigterm(signum: int, frame: types.FrameType | None) -> None:
    end_all(KILLED, InterruptedError(f"terminated by signal {signal.Signals(signum).name}"))
    signal.signal(signum, signal.SIG_DFL)
    os.kill(os.getpid(), signum)


_previous_excepthook = sys.excepthook
_hooks_installed = False


def install_exit_hooks() -> None:
    """End open runs truthfully however the process ends (installed once per process).

    SIGTERM is only taken over when nobody else handles it.
    """
    global _previous_excepthook, _hooks_installed
    if _hooks_installed:
        return
    _hooks_installed = True
    _forget_runs_in_forked_children()
    atexit.register(_at_exit)
    _previous_excepthook = sys.excepthook
    sys.excepthook = _on_uncaught
    if (
        threading.current_thread() is threading.main_thread()
        and signal.getsignal(signal.SIGTERM) is signal.SIG_DFL
    ):
        signal.signal(signal.SIGTERM, _on_sigterm)


def _forget_parent_runs() -> None:
    # A forked child must not end or rewrite its parent's runs.
    live_runs.clear()
    flusher.thread = None


@functools.cache
def _forget_runs_in_forked_children() -> None:
    # Registered once this process holds a run, not at import: registered at import, it
    # cost a process that only reads runs back 5.5 million instructions at exit (none
    # when that process left with os._exit), half a percent of the whole read.
    os.register_at_fork(after_in_child=_forget_parent_runs)
