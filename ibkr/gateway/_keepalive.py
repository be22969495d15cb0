"""The manager's thread: a private ``schedule.Scheduler`` runs the keep-alive jobs, a ``threading.Event`` stops it.

Everything the manager does to the gateway runs on this one thread: the scheduled jobs (tickle, supervise,
validate) and the actions a person asks for (``take_over()`` and friends are handed over with :meth:`submit`),
so prompt callbacks always run here too. A job that raises is logged and the thread lives on. The thread never
calls Streamlit and never touches signals.
"""

from __future__ import annotations

import logging
import queue
import threading
from collections.abc import Callable
from concurrent.futures import Future
from typing import Any, TypeVar

import schedule

log = logging.getLogger(__name__)

T = TypeVar("T")
_Job = tuple[Callable[[], Any], Future]

MAX_WAIT = 0.5  # how long the loop sleeps at most between looks at the scheduler


class KeepAliveThread:
    """A daemon thread running scheduled jobs and submitted calls until :meth:`stop`."""

    def __init__(self, name: str = "ibkr-gateway-manager") -> None:
        self.name = name
        self._scheduler = schedule.Scheduler()
        self._stop = threading.Event()
        self._jobs: queue.SimpleQueue[_Job | None] = queue.SimpleQueue()
        self._thread: threading.Thread | None = None
        self._first: list[Callable[[], Any]] = []
        self._last_failure: dict[str, str] = {}

    def every(self, seconds: float, fn: Callable[[], Any], name: str, *, at_start: bool = False) -> None:
        """Run ``fn`` every ``seconds`` (and once when the thread starts, if ``at_start``)."""
        self._scheduler.every(seconds).seconds.do(self._safe, fn, name)  # type: ignore[arg-type]  # floats work
        if at_start:
            self._first.append(lambda: self._safe(fn, name))

    def start(self) -> None:
        if self.alive:
            return
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, name=self.name, daemon=True)
        self._thread.start()

    @property
    def alive(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    @property
    def stopping(self) -> bool:
        return self._stop.is_set()

    def on_thread(self) -> bool:
        return threading.current_thread() is self._thread

    def wait(self, seconds: float) -> bool:
        """Sleep up to ``seconds``; False when the thread is being stopped (the caller should return)."""
        return not self._stop.wait(max(0.0, seconds))

    def submit(self, fn: Callable[[], T], timeout: float = 60.0) -> T:
        """Run ``fn`` on the thread and return its result (inline when the thread is not running or is the caller)."""
        if not self.alive or self.on_thread():
            return fn()
        future: Future[T] = Future()
        self._jobs.put((fn, future))
        return future.result(timeout)

    def post(self, fn: Callable[[], Any]) -> None:
        """Run ``fn`` on the thread soon, without waiting for it (inline when the thread is not running)."""
        if not self.alive or self.on_thread():
            self._safe(fn, getattr(fn, "__name__", "job"))
            return
        future: Future[Any] = Future()
        future.add_done_callback(_log_failure)
        self._jobs.put((fn, future))

    def stop(self, timeout: float = 2.0) -> bool:
        """Ask the thread to stop and join it for up to ``timeout`` seconds; True when it has ended. Idempotent."""
        self._stop.set()
        self._jobs.put(None)
        thread = self._thread
        if thread is not None and thread is not threading.current_thread():
            thread.join(timeout)
        ended = thread is None or not thread.is_alive()
        if ended:
            self._scheduler.clear()
            self._fail_pending()
        return ended

    # ---- the loop -----------------------------------------------------------------------------------------------
    def _run(self) -> None:
        log.debug("%s started", self.name)
        for first in self._first:
            if self._stop.is_set():
                break
            first()
        while not self._stop.is_set():
            self._scheduler.run_pending()
            idle = self._scheduler.idle_seconds
            wait = MAX_WAIT if idle is None else max(0.0, min(idle, MAX_WAIT))
            try:
                job = self._jobs.get(timeout=wait)
            except queue.Empty:
                continue
            if job is not None and not self._stop.is_set():
                self._run_job(job)
        self._fail_pending()
        log.debug("%s stopped", self.name)

    @staticmethod
    def _run_job(job: _Job) -> None:
        fn, future = job
        if not future.set_running_or_notify_cancel():
            return
        try:
            future.set_result(fn())
        except BaseException as exc:  # noqa: BLE001 - handed to the caller
            future.set_exception(exc)

    def _fail_pending(self) -> None:
        while True:
            try:
                job = self._jobs.get_nowait()
            except queue.Empty:
                return
            if job is not None and job[1].set_running_or_notify_cancel():
                job[1].set_exception(RuntimeError("the gateway manager was stopped"))

    def _safe(self, fn: Callable[[], Any], name: str) -> None:
        """Run a scheduled job; an exception is logged (with a traceback the first time) and swallowed."""
        try:
            fn()
        except Exception as exc:  # noqa: BLE001 - a failing tick must not end the keep-alive
            text = f"{type(exc).__name__}: {exc}"
            if self._last_failure.get(name) == text:
                log.warning("gateway manager: %s failed again (%s); carrying on", name, text)
            else:
                log.exception("gateway manager: %s failed; carrying on", name)
            self._last_failure[name] = text
        else:
            self._last_failure.pop(name, None)


def _log_failure(future: Future[Any]) -> None:
    if future.exception() is not None:
        log.error("gateway manager job failed: %s", future.exception())
