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
    for name, (low, high, integer) in ranges.items():
        value = getattr(owner, name)
        kind_ok = isinstance(value, int) if integer else isinstance(value, (int, float))
        if (
            isinstance(value, bool)
            or not kind_ok
            or not math.isfinite(value)
            or not low <= value <= high
        ):
            kind = "an integer" if integer else "a number"
            raise InvalidConfigError(
                f"invalid {name} {value!r}: expected {kind} in [{low}, {high}]"
            )
