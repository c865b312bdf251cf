"""Parameter ranges as data (name -> (low, high, integer?)) and one check naming the bad value.

The tracking, smoothing and depth configs publish their ranges this way so that the ROS node
can declare the same limits as parameter descriptors.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import NamedTuple

from posenet_ros.errors import InvalidConfigError


class Range(NamedTuple):
    """Closed interval [low, high]; ``integer`` fields refuse floats and bools."""

    low: float
    high: float
    integer: bool = False


def check_ranges(owner: object, ranges: Mapping[str, Range]) -> None:
    """Raise ``InvalidConfigError`` for the first attribute of ``owner`` outside its range."""
    for name, limits in ranges.items():
        check_range(name, getattr(owner, name), limits)


def check_range(name: str, value: object, limits: Range) -> None:
    """Raise ``InvalidConfigError`` naming ``value`` unless it is a number (an integer where
    ``limits.integer``; never a bool) within ``limits``."""
    low, high, integer = limits
    kind_ok = isinstance(value, int) if integer else isinstance(value, (int, float))
    if (
        isinstance(value, bool)
        or not kind_ok
        or not math.isfinite(value)
        or not low <= value <= high
    ):
        kind = "an integer" if integer else "a number"
        raise InvalidConfigError(f"invalid {name} {value!r}: expected {kind} in [{low}, {high}]")
