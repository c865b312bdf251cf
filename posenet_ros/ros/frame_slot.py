"""A one-item hand-over between the subscription callback and the inference thread."""

from __future__ import annotations

import threading
from typing import Generic, TypeVar

T = TypeVar("T")


class LatestSlot(Generic[T]):
    """Keeps only the newest item: a put over an untaken item replaces it and counts a drop.

    This bounds memory and latency when inference is slower than the camera (never a queue).
    """

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._item: T | None = None
        self._closed = False
        self.dropped = 0

    def put(self, item: T) -> None:
        with self._cond:
            if self._item is not None:
                self.dropped += 1
            self._item = item
            self._cond.notify()

    def take(self, timeout: float | None = None) -> T | None:
        """The newest item, waiting up to ``timeout`` s; None on timeout or once closed."""
        with self._cond:
            self._cond.wait_for(lambda: self._item is not None or self._closed, timeout)
            if self._closed:
                return None
            item, self._item = self._item, None
            return item

    def close(self) -> None:
        """Wake and release every waiter; later takes return None at once."""
        with self._cond:
            self._closed = True
            self._cond.notify_all()
