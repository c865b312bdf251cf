"""Draw keypoints and the skeleton of poses on an RGB image.

Each person gets one colour: by track id when ids are given (stable from frame to frame, grey
while untracked), else by position in the list. Left limbs and keypoints are drawn in a lighter
shade of it, right ones in a darker shade, the centre (nose, shoulder and hip lines) in the
colour itself.

Pillow, not OpenCV: Pillow is already needed to decode images and its ``ImageDraw`` draws the
filled circles and wide lines an overlay needs; OpenCV would add a ~50 MB wheel for that.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from PIL import Image, ImageDraw

from posenet_ros.keypoints import CONNECTED_PART_IDS, PART_NAMES
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
UNTRACKED_COLOUR = (160, 160, 160)
# Shades of a person's colour: left side blended towards white, right side towards black.
LEFT_TOWARDS_WHITE = 0.5
RIGHT_TOWARDS_BLACK = 0.45
# Side of each part (-1 left, +1 right, 0 centre) and of each edge (its ends' shared side).
PART_SIDES: tuple[int, ...] = tuple(
    -1 if name.startswith("left") else 1 if name.startswith("right") else 0 for name in PART_NAMES
)
EDGE_SIDES: tuple[int, ...] = tuple(
    PART_SIDES[a] if PART_SIDES[a] == PART_SIDES[b] else 0 for a, b in CONNECTED_PART_IDS
)


def track_colour(track_id: int) -> tuple[int, int, int]:
    """The same colour for the same track id; grey for 0 (untracked)."""
    return UNTRACKED_COLOUR if track_id == 0 else POSE_COLOURS[track_id % len(POSE_COLOURS)]


def side_shades(colour: tuple[int, int, int]) -> dict[int, tuple[int, int, int]]:
    """Colour per side (-1 left, 0 centre, +1 right) for one person's ``colour``."""
    return {
        -1: tuple(round(c + (255 - c) * LEFT_TOWARDS_WHITE) for c in colour),
        0: tuple(colour),
        1: tuple(round(c * (1.0 - RIGHT_TOWARDS_BLACK)) for c in colour),
    }


def draw_poses(
    image: np.ndarray,
    poses: Sequence[Pose],
    ids: Sequence[int] | None = None,
    *,
    min_keypoint_score: float = DEFAULT_MIN_KEYPOINT_SCORE,
    radius: int | None = None,
    line_width: int | None = None,
    in_place: bool = False,
) -> np.ndarray:
    """Draw each pose's keypoints and skeleton edges with score >= ``min_keypoint_score``.

    An edge is drawn when both its ends are (as the reference ``getAdjacentKeyPoints``).
    ``ids`` (one track id per pose) colours each person by id instead of by position.
    ``radius`` and ``line_width`` default to sizes that scale with the image. Returns a new
    (H, W, 3) uint8 array, or ``image`` itself, drawn on, with ``in_place=True``.
    """
    height, width = image.shape[:2]
    radius = radius if radius is not None else max(3, round(min(height, width) / 100))
    line_width = line_width if line_width is not None else max(2, radius // 2)
    canvas = Image.fromarray(np.ascontiguousarray(image, dtype=np.uint8))
    pen = ImageDraw.Draw(canvas)
    if ids is not None and len(ids) != len(poses):
        raise ValueError(f"{len(poses)} poses but {len(ids)} ids")
    for index, pose in enumerate(poses):
        colour = (
            POSE_COLOURS[index % len(POSE_COLOURS)] if ids is None else track_colour(ids[index])
        )
        shades = side_shades(colour)
        keypoints = np.asarray(pose.keypoints, dtype=np.float64)
        shown = (keypoints[:, 2] >= min_keypoint_score) & np.isfinite(keypoints).all(axis=1)
        for (a, b), side in zip(CONNECTED_PART_IDS, EDGE_SIDES, strict=True):
            if shown[a] and shown[b]:
                ends = [tuple(keypoints[a, :2]), tuple(keypoints[b, :2])]
                pen.line(ends, shades[side], line_width)
        for part in np.flatnonzero(shown):
            x, y = keypoints[part, :2]
            box = (x - radius, y - radius, x + radius, y + radius)
            pen.ellipse(box, fill=shades[PART_SIDES[part]], outline=(255, 255, 255))
    drawn = np.asarray(canvas)
    if in_place:
        image[...] = drawn
        return image
    return np.array(drawn)
