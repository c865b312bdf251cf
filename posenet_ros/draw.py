"""Draw keypoints and the skeleton of poses on an RGB image.

Pillow, not OpenCV: Pillow is already needed to decode images and its ``ImageDraw`` draws the
filled circles and wide lines an overlay needs; OpenCV would add a ~50 MB wheel for that.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from PIL import Image, ImageDraw

from posenet_ros.keypoints import CONNECTED_PART_IDS
from posenet_ros.types import Pose

# The reference demo's default minPartConfidence.
DEFAULT_MIN_KEYPOINT_SCORE = 0.1
# One colour per pose, cycled (high-contrast, colour-blind-friendly Okabe-Ito palette).
POSE_COLOURS: tuple[tuple[int, int, int], ...] = (
    (230, 159, 0),
    (86, 180, 233),
    (0, 158, 115),
    (240, 228, 66),
    (0, 114, 178),
    (213, 94, 0),
    (204, 121, 167),
)


def draw_poses(
    image: np.ndarray,
    poses: Sequence[Pose],
    *,
    min_keypoint_score: float = DEFAULT_MIN_KEYPOINT_SCORE,
    radius: int | None = None,
    line_width: int | None = None,
    in_place: bool = False,
) -> np.ndarray:
    """Draw each pose's keypoints and skeleton edges with score >= ``min_keypoint_score``.

    An edge is drawn when both its ends are (as the reference ``getAdjacentKeyPoints``).
    ``radius`` and ``line_width`` default to sizes that scale with the image. Returns a new
    (H, W, 3) uint8 array, or ``image`` itself, drawn on, with ``in_place=True``.
    """
    height, width = image.shape[:2]
    radius = radius if radius is not None else max(3, round(min(height, width) / 100))
    line_width = line_width if line_width is not None else max(2, radius // 2)
    canvas = Image.fromarray(np.ascontiguousarray(image, dtype=np.uint8))
    pen = ImageDraw.Draw(canvas)
    for index, pose in enumerate(poses):
        colour = POSE_COLOURS[index % len(POSE_COLOURS)]
        keypoints = np.asarray(pose.keypoints, dtype=np.float64)
        shown = (keypoints[:, 2] >= min_keypoint_score) & np.isfinite(keypoints).all(axis=1)
        for a, b in CONNECTED_PART_IDS:
            if shown[a] and shown[b]:
                pen.line([tuple(keypoints[a, :2]), tuple(keypoints[b, :2])], colour, line_width)
        for x, y, _ in keypoints[shown]:
            box = (x - radius, y - radius, x + radius, y + radius)
            pen.ellipse(box, fill=colour, outline=(255, 255, 255))
    drawn = np.asarray(canvas)
    if in_place:
        image[...] = drawn
        return image
    return np.array(drawn)
