"""A job the app runs in a daemon thread, one at a time, again at most every ``every_s``:
the columnar cache build and the Athena start-up field-order check. Pages never wait for
it longer than they choose (``wait``); they read its fields as of their run."""

from __future__ import annotations

import threading
import time


class BackgroundJob:
    thread_name = "flowscope-job"

    def __init__(self):
        self.finished_at = 0.0
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def refresh(self, every_s: float, *args) -> bool:
        """Start the job unless it runs or ended less than ``every_s`` ago."""
        with self._lock:
            if self.running or (self.finished_at
                                and time.monotonic() - self.finished_at < every_s):
                return False
            self._starting()
            self._thread = threading.Thread(target=self._run, args=args, daemon=True,
                                            name=self.thread_name)
            self._thread.start()
            return True

    def wait(self, seconds: float) -> None:
        """Wait up to ``seconds`` for a running job to end."""
        thread = self._thread
        if thread is not None:
            thread.join(seconds)

    def _run(self, *args) -> None:
        try:
            self._work(*args)
        finally:
            self.finished_at = time.monotonic()

    def _starting(self) -> None:
        """Reset what a run reports (under the lock, before the thread starts)."""

    def _work(self, *args) -> None:
        raise NotImplementedError
