"""A daemon thread that runs one function until told to stop: the background readers' lifecycle in one place."""

from __future__ import annotations

import threading
from collections.abc import Callable


class Worker:
    """Runs ``target`` on a daemon thread named ``name``; ``target`` watches :attr:`stopping` (an Event) and
    returns once it is set. :meth:`start` (again after a stop) and :meth:`stop` are idempotent."""

    def __init__(self, target: Callable[[], None], name: str) -> None:
        self._target, self.name = target, name
        self.stopping = threading.Event()
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        with self._lock:
            if self._thread is None or not self._thread.is_alive():
                self.stopping.clear()
                self._thread = threading.Thread(target=self._target, name=self.name, daemon=True)
                self._thread.start()

    def stop(self, timeout: float = 10.0) -> None:
        self.stopping.set()
        thread = self._thread
        if thread is not None and thread is not threading.current_thread():
            thread.join(timeout)
