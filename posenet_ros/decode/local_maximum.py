"""Whether a part's score is the maximum of its window (reference
``scoreIsMaximumInLocalWindow``), on host logits."""

from __future__ import annotations

import numpy as np

from posenet_ros.decode.compiled import compiled
from posenet_ros.decode.scores import sigmoid32

# The reference's ``kLocalMaximumRadius``: the window is 3x3 cells.
LOCAL_MAXIMUM_RADIUS = 1


@compiled
def is_window_maximum(
    logits: np.ndarray, y: int, x: int, part: int, logit: float, score: np.float32
) -> bool:
    """Whether ``score`` (that of ``logit``, at (y, x, part)) is >= every score of its
    window, clipped at the borders; False at a NaN. Only neighbours with a greater logit
    (or NaN) need their score (the sigmoid is monotonic): a saturated score can still tie."""
    height, width, _ = logits.shape
    for wy in range(max(y - LOCAL_MAXIMUM_RADIUS, 0), min(y + LOCAL_MAXIMUM_RADIUS + 1, height)):
        for wx in range(max(x - LOCAL_MAXIMUM_RADIUS, 0), min(x + LOCAL_MAXIMUM_RADIUS + 1, width)):
            neighbour = logits[wy, wx, part]
            if not neighbour <= logit and not sigmoid32(neighbour) <= score:
                return False  # a greater score, or NaN
    return True
