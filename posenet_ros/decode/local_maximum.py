"""Local maxima of a part's scores (reference ``scoreIsMaximumInLocalWindow``), per cell.

Only a few cells can be root candidates, so rather than a maximum filter over the whole map
the decoder reads the windows of those cells alone, through a table of flat indices.
"""

from __future__ import annotations

import functools
from types import ModuleType
from typing import Any

import numpy as np

from posenet_ros.arrays import array_namespace

# The reference's ``kLocalMaximumRadius``: the window is 3x3 cells.
LOCAL_MAXIMUM_RADIUS = 1
# Position of the cell itself in its window (the middle of the row-major 3x3).
CENTRE = (2 * LOCAL_MAXIMUM_RADIUS + 1) ** 2 // 2


def window_index(xp: ModuleType, height: int, width: int, channels: int) -> Any:
    """Flat (H, W, C) indices of every cell's window: shape (H * W * C, (2r + 1) ** 2).

    Row ``(y * W + x) * C + c`` lists the cells of channel ``c`` within ``r`` rows and
    columns of (y, x), row-major, ``CENTRE`` being the cell itself. At the borders the
    coordinates are clamped, which repeats in-map cells of the window: the window's maximum
    stays that of the reference's clipped window. Built once per map shape and namespace
    and device (an index per cell and window position: 5 MB for the largest maps, 513 at
    stride 8).
    """
    device = None if xp is np else xp.cuda.Device().id  # a GPU table serves its own GPU
    return _window_index(xp.__name__, device, height, width, channels)


@functools.lru_cache(maxsize=4)
def _window_index(
    namespace: str, device: int | None, height: int, width: int, channels: int
) -> Any:
    steps = np.arange(-LOCAL_MAXIMUM_RADIUS, LOCAL_MAXIMUM_RADIUS + 1)
    rows = np.clip(np.arange(height)[:, None] + steps, 0, height - 1)  # (H, 2r+1)
    columns = np.clip(np.arange(width)[:, None] + steps, 0, width - 1)  # (W, 2r+1)
    cells = rows[:, None, :, None] * width + columns[None, :, None, :]  # (H, W, 2r+1, 2r+1)
    side = 2 * LOCAL_MAXIMUM_RADIUS + 1
    cells = cells.reshape(height, width, 1, side * side)
    table = (cells * channels + np.arange(channels)[:, None]).reshape(-1, side * side)
    if namespace == "numpy":
        return table
    import cupy  # optional dependency, only for GPU maps

    return cupy.asarray(table)


def is_local_maximum(window_scores: Any, floor: Any) -> Any:
    """Boolean (N,) from ((2r + 1) ** 2, N) window scores (one window per column): the
    centre is >= its whole window and >= ``floor``.

    Equal neighbours do not disqualify a cell, as in the reference. A NaN anywhere in the
    window gives False (the maximum propagates it). Windows are columns so that their
    maximum is an elementwise maximum of rows, much faster than one over short rows.
    """
    xp = array_namespace(window_scores)
    ceiling = xp.maximum(window_scores.max(axis=0), floor)
    return window_scores[CENTRE] >= ceiling
