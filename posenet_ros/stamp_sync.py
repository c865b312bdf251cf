"""Pair each frame with the buffered item (a depth image) of nearest stamp, never waiting.

Not ``message_filters``: it is not on PyPI (the node must run from the PyPI ROS wheels too)
and its ``ApproximateTimeSynchronizer`` emits a set only once every topic has a partner in its
queue, so a colour frame without depth would be held back or dropped. Here each colour frame
asks once for the nearest depth within a slop and goes on without one: ``/poses`` never stalls.
A depth image arriving after its colour frame was processed is not paired with it.
"""

from __future__ import annotations

import math
import threading
from collections import deque
from typing import Generic, TypeVar

from posenet_ros.errors import InvalidConfigError

T = TypeVar("T")


class NearestStamp(Generic[T]):
    """The last ``capacity`` items by stamp (seconds); thread-safe, bounded memory."""

    def __init__(self, capacity: int = 30) -> None:
        if isinstance(capacity, bool) or not isinstance(capacity, int) or capacity < 1:
            raise InvalidConfigError(f"invalid capacity {capacity!r}: expected an integer >= 1")
        self._items: deque[tuple[float, T]] = deque(maxlen=capacity)
        self._lock = threading.Lock()

    def add(self, stamp_s: float, item: T) -> None:
        """Keep ``item``; the oldest added is dropped once ``capacity`` are held."""
        _check_finite("stamp_s", stamp_s)
        with self._lock:
            self._items.append((stamp_s, item))

    def match(self, stamp_s: float, slop_s: float) -> T | None:
        """The item whose stamp is nearest ``stamp_s`` and at most ``slop_s`` away, else None.

        Of two equally near, the later-stamped wins (the fresher reading).
        """
        _check_finite("stamp_s", stamp_s)
        if not (isinstance(slop_s, (int, float)) and 0.0 <= slop_s < math.inf):
            raise InvalidConfigError(f"invalid slop_s {slop_s!r}: expected a number >= 0")
        best: tuple[float, float, T] | None = None
        with self._lock:
            for stamp, item in self._items:
                gap = abs(stamp - stamp_s)
                if gap <= slop_s and (best is None or (gap, -stamp) < (best[0], -best[1])):
                    best = (gap, stamp, item)
        return None if best is None else best[2]

    def clear(self) -> None:
        with self._lock:
            self._items.clear()

    def __len__(self) -> int:
        with self._lock:
            return len(self._items)


def _check_finite(name: str, value: float) -> None:
    if not (isinstance(value, (int, float)) and math.isfinite(value)):
        raise InvalidConfigError(f"invalid {name} {value!r}: expected a finite number")
