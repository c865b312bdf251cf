"""Part-based non-maximum suppression and the instance score (reference ``decodeMultiplePoses``)."""

from __future__ import annotations

from collections.abc import Sequence

from posenet_ros.decode.traverse import Keypoints
from posenet_ros.keypoints import NUM_KEYPOINTS


def within_nms_radius(
    poses: Sequence[Keypoints], squared_radius: float, y: float, x: float, part: int
) -> bool:
    """True when ``part`` of some earlier pose lies at squared distance <= ``squared_radius``.

    A point exactly ``nms_radius`` away is suppressed (the reference compares with ``<=``).
    """
    for pose in poses:
        dy = pose.ys[part] - y
        dx = pose.xs[part] - x
        if dy * dy + dx * dx <= squared_radius:
            return True
    return False


def instance_score(
    poses: Sequence[Keypoints], squared_radius: float, keypoints: Keypoints, scores: list[float]
) -> float:
    """Sum of the ``scores`` of the parts no earlier pose claims, divided by all 17 parts.

    ``within_nms_radius`` for each part, unrolled: this runs for all 17 parts of every pose.
    """
    total = 0.0
    for part, (y, x, score) in enumerate(zip(keypoints.ys, keypoints.xs, scores, strict=True)):
        for pose in poses:
            dy = pose.ys[part] - y
            dx = pose.xs[part] - x
            if dy * dy + dx * dx <= squared_radius:
                break
        else:
            total += score
    return total / NUM_KEYPOINTS
