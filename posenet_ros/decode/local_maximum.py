"""Cells holding a local maximum of their part (reference ``scoreIsMaximumInLocalWindow``)."""

from __future__ import annotations

from typing import Any

from posenet_ros.arrays import array_namespace

# The reference's ``kLocalMaximumRadius``: the window is 3x3 cells.
LOCAL_MAXIMUM_RADIUS = 1


def local_maximum_mask(scores: Any, radius: int = LOCAL_MAXIMUM_RADIUS) -> Any:
    """Boolean (H, W, C): no cell of the same channel within ``radius`` (Chebyshev) is greater.

    The window is clipped at the map borders and equal neighbours do not disqualify a cell,
    as in the reference. The window maximum is separable (rows, then columns) over a copy
    padded with -inf, so each cell costs 4r comparisons of whole arrays instead of a Python
    loop; ``scipy.ndimage.maximum_filter`` would do the same but is not a core dependency.
    """
    xp = array_namespace(scores)
    height, width, _ = scores.shape
    padded = xp.pad(scores, ((radius, radius), (radius, radius), (0, 0)), constant_values=-xp.inf)
    rows = padded[0:height]
    for dy in range(1, 2 * radius + 1):
        rows = xp.maximum(rows, padded[dy : dy + height])
    window = rows[:, 0:width]
    for dx in range(1, 2 * radius + 1):
        window = xp.maximum(window, rows[:, dx : dx + width])
    return scores >= window
