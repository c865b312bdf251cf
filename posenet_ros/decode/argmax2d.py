"""Per-part position of the best score over the 2-D map (reference ``argmax2d``)."""

from __future__ import annotations

from typing import Any

from posenet_ros.arrays import array_namespace


def argmax2d(scores: Any) -> tuple[Any, Any]:
    """Row and column indices (each of shape (C,)) of the maximum of every (H, W) channel.

    On ties the first cell in row-major order wins, as with tfjs ``argMax`` over the
    flattened map (its loop keeps the first of equal values; NumPy and CuPy do the same).
    """
    xp = array_namespace(scores)
    height, width, channels = scores.shape
    flat = xp.argmax(scores.reshape(height * width, channels), axis=0)
    return flat // width, flat % width
