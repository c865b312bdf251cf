"""Part-based non-maximum suppression and the instance score (reference ``decodeMultiplePoses``).

Compiled (``decode.compiled``); earlier poses are rows of (poses, 17) float64 arrays.
"""

from __future__ import annotations

import numpy as np

from posenet_ros.decode.compiled import compiled
from posenet_ros.keypoints import NUM_KEYPOINTS


@compiled
def within_nms_radius(
    ys: np.ndarray, xs: np.ndarray, squared_radius: float, y: float, x: float, part: int
) -> bool:
    """True when ``part`` of some earlier pose (rows of ``ys``, ``xs``) lies at squared
    distance <= ``squared_radius`` of (y, x).

    A point exactly ``nms_radius`` away is suppressed (the reference compares with ``<=``).
    """
    for pose in range(ys.shape[0]):
        dy = ys[pose, part] - y
        dx = xs[pose, part] - x
        if dy * dy + dx * dx <= squared_radius:
            return True
    return False


@compiled
def instance_score(
    ys: np.ndarray,
    xs: np.ndarray,
    squared_radius: float,
    pose_ys: np.ndarray,
    pose_xs: np.ndarray,
    scores: np.ndarray,
) -> float:
    """Sum of the ``scores`` of the parts no earlier pose (rows of ``ys``, ``xs``) claims,
    in part order, divided by all 17 parts."""
    total = 0.0
    for part in range(NUM_KEYPOINTS):
        if not within_nms_radius(ys, xs, squared_radius, pose_ys[part], pose_xs[part], part):
            total += np.float64(scores[part])
    return total / NUM_KEYPOINTS
