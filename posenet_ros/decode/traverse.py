"""One pose from a root part by following displacements (reference ``decodePose``)."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import NamedTuple

import numpy as np

from posenet_ros.keypoints import CHILD_IDS, NUM_EDGES, NUM_KEYPOINTS, PARENT_IDS

# Offset-refine steps after a displacement (the reference's ``offsetRefineStep``).
OFFSET_REFINE_STEPS = 2


@dataclass(frozen=True, slots=True)
class HostMaps:
    """The four maps on the host as flat float32 memoryviews, for cheap scalar reads.

    Reading a memoryview yields a Python float (a float64 holding the float32 value), which
    is what the reference's arithmetic on JS numbers starts from; NumPy scalars would be
    slower and, under NumPy 2's promotion rules, would keep float32 arithmetic.
    """

    height: int
    width: int
    stride: int
    scores: memoryview  # (H, W, 17)
    offsets: memoryview  # (H, W, 34)
    displacement_fwd: memoryview  # (H, W, 32)
    displacement_bwd: memoryview  # (H, W, 32)

    @classmethod
    def from_arrays(
        cls,
        scores: np.ndarray,
        offsets: np.ndarray,
        displacement_fwd: np.ndarray,
        displacement_bwd: np.ndarray,
        stride: int,
    ) -> HostMaps:
        """Wrap C-contiguous float32 host arrays (views, no copies)."""
        height, width, _ = scores.shape
        flat = [
            memoryview(np.ascontiguousarray(a, dtype=np.float32).reshape(-1))
            for a in (scores, offsets, displacement_fwd, displacement_bwd)
        ]
        return cls(height, width, stride, *flat)


class Keypoints(NamedTuple):
    """The 17 keypoints of one instance as Python lists (model-input pixels)."""

    ys: list[float]
    xs: list[float]
    scores: list[float]


def strided_index(position: float, stride: int, size: int) -> int:
    """The map cell nearest ``position`` pixels: ``clamp(Math.round(position / stride))``.

    JS ``Math.round`` rounds halves up (2.5 -> 3, -2.5 -> -2), unlike Python's ``round``.
    ``q - floor(q)`` is exact in float64, so the test against 0.5 is exact too, where
    ``floor(q + 0.5)`` would round 0.49999999999999994 up. NaN or infinite positions raise
    ``ValueError`` / ``OverflowError`` (from ``math.floor``).
    """
    q = position / stride
    cell = math.floor(q)
    if q - cell >= 0.5:
        cell += 1
    if cell < 0:
        return 0
    if cell >= size:
        return size - 1
    return cell


def image_coords(maps: HostMaps, part: int, cell_y: int, cell_x: int) -> tuple[float, float]:
    """(y, x) pixels of ``part`` at a cell: cell * stride + the part's offset there."""
    base = (cell_y * maps.width + cell_x) * 2 * NUM_KEYPOINTS + part
    offsets = maps.offsets
    return (
        cell_y * maps.stride + offsets[base],
        cell_x * maps.stride + offsets[base + NUM_KEYPOINTS],
    )


def traverse_to_target(
    maps: HostMaps,
    edge: int,
    source_y: float,
    source_x: float,
    target: int,
    displacements: memoryview,
) -> tuple[float, float, float]:
    """(y, x, score) of ``target`` reached from a source keypoint along ``edge``.

    The displacement is read at the source's nearest cell (channel edge = y, edge + 16 = x);
    the displaced point is then snapped and offset-refined twice, and the score is read at
    the cell nearest the final position.
    """
    height, width, stride = maps.height, maps.width, maps.stride
    cell_y = strided_index(source_y, stride, height)
    cell_x = strided_index(source_x, stride, width)
    base = (cell_y * width + cell_x) * 2 * NUM_EDGES + edge
    y = source_y + displacements[base]
    x = source_x + displacements[base + NUM_EDGES]
    for _ in range(OFFSET_REFINE_STEPS):
        y, x = image_coords(
            maps,
            target,
            strided_index(y, stride, height),
            strided_index(x, stride, width),
        )
    cell = strided_index(y, stride, height) * width + strided_index(x, stride, width)
    return y, x, maps.scores[cell * NUM_KEYPOINTS + target]


def decode_pose(
    maps: HostMaps, root_part: int, root_score: float, root_y: float, root_x: float
) -> Keypoints:
    """All 17 keypoints of the instance rooted at ``root_part`` (already in pixels).

    First up the tree towards the nose along backward displacements (edges last to first,
    child -> parent), then down along forward ones (edges first to last, parent -> child);
    each step only fills a part that is not set yet. Every part gets set: the skeleton is
    a tree and the edges are listed parents first.
    """
    ys: list[float | None] = [None] * NUM_KEYPOINTS
    xs: list[float | None] = [None] * NUM_KEYPOINTS
    scores: list[float | None] = [None] * NUM_KEYPOINTS
    ys[root_part], xs[root_part], scores[root_part] = root_y, root_x, root_score
    passes = (
        (range(NUM_EDGES - 1, -1, -1), CHILD_IDS, PARENT_IDS, maps.displacement_bwd),
        (range(NUM_EDGES), PARENT_IDS, CHILD_IDS, maps.displacement_fwd),
    )
    for edges, sources, targets, displacements in passes:
        for edge in edges:
            source, target = sources[edge], targets[edge]
            if scores[source] is not None and scores[target] is None:
                ys[target], xs[target], scores[target] = traverse_to_target(
                    maps, edge, ys[source], xs[source], target, displacements
                )
    return Keypoints(ys, xs, scores)
