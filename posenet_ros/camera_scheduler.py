"""Frames of several cameras handed to one inference thread, fairly (no ROS imports).

Each camera has a latest-frame slot: a frame put over an untaken one replaces it and counts a
drop for that camera, so memory and latency stay bounded when inference is slower than the
cameras (never a queue). The taker is served round-robin among the cameras with a frame
waiting, starting after the camera served last: a camera that floods cannot starve one that
sends rarely, whose frame waits at most one turn of the others.
"""

from __future__ import annotations

import threading
from collections.abc import Hashable, Sequence
from typing import Generic, TypeVar

T = TypeVar("T")
K = TypeVar("K", bound=Hashable)


class CameraScheduler(Generic[K, T]):
    """Latest-frame slots of the cameras ``cameras`` (distinct keys, in round-robin order)."""

    def __init__(self, cameras: Sequence[K]) -> None:
        cameras = list(cameras)
        if not cameras:
            raise ValueError("a camera scheduler needs at least one camera")
        if len(set(cameras)) != len(cameras):
            raise ValueError(f"camera keys must be distinct, got {cameras!r}")
        self._cameras = cameras
        self._cond = threading.Condition()
        self._waiting: dict[K, T] = {}
        self._dropped: dict[K, int] = dict.fromkeys(cameras, 0)
        self._next = 0  # index in ``cameras`` where the next round-robin turn starts
        self._closed = False

    @property
    def cameras(self) -> list[K]:
        return list(self._cameras)

    def put(self, camera: K, item: T) -> None:
        """Make ``item`` the camera's waiting frame (replacing an untaken one: a drop)."""
        with self._cond:
            if camera not in self._dropped:
                raise KeyError(f"unknown camera {camera!r}: expected one of {self._cameras!r}")
            if camera in self._waiting:
                self._dropped[camera] += 1
            self._waiting[camera] = item
            self._cond.notify()

    def take(self, max_items: int = 1, timeout: float | None = None) -> list[tuple[K, T]]:
        """Up to ``max_items`` (camera, frame) pairs, one per camera, in round-robin order.

        Waits up to ``timeout`` s for a first frame (None: until one comes or ``close``).
        Returns [] on timeout and once closed.
        """
        if max_items < 1:
            raise ValueError(f"max_items must be >= 1, got {max_items!r}")
        with self._cond:
            self._cond.wait_for(lambda: bool(self._waiting) or self._closed, timeout)
            if self._closed:
                return []
            taken: list[tuple[K, T]] = []
            count, start = len(self._cameras), self._next
            for step in range(count):
                index = (start + step) % count
                camera = self._cameras[index]
                if camera in self._waiting:
                    taken.append((camera, self._waiting.pop(camera)))
                    self._next = (index + 1) % count
                    if len(taken) == max_items:
                        break
            return taken

    def dropped(self, camera: K) -> int:
        """Frames of ``camera`` replaced before they were taken."""
        with self._cond:
            return self._dropped[camera]

    def close(self) -> None:
        """Wake and release every waiter; later takes return [] at once (waiting frames are
        dropped uncounted: nobody will serve them)."""
        with self._cond:
            self._closed = True
            self._waiting.clear()
            self._cond.notify_all()
