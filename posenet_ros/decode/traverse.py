"""One pose from a root part by following displacements (reference ``decodePose``).

Plain Python on floats: a pose is 16 short sequential steps, where array calls would cost
more than the arithmetic they replace.
"""

from __future__ import annotations

import math
from typing import NamedTuple

import numpy as np

from posenet_ros.keypoints import CHILD_IDS, NUM_EDGES, NUM_KEYPOINTS, PARENT_IDS

# Offset-refine steps after a displacement (the reference's ``offsetRefineStep``).
OFFSET_REFINE_STEPS = 2

# (edge, source, target) in traversal order: up the tree towards the nose along backward
# displacements (edges last to first, child -> parent), then down along forward ones
# (edges first to last, parent -> child).
_BACKWARD = tuple((e, CHILD_IDS[e], PARENT_IDS[e]) for e in range(NUM_EDGES - 1, -1, -1))
_FORWARD = tuple((e, PARENT_IDS[e], CHILD_IDS[e]) for e in range(NUM_EDGES))


class HostMaps(NamedTuple):
    """The offset and displacement maps on the host as flat float32 memoryviews.

    Reading a memoryview yields a Python float (a float64 holding the float32 value), which
    is what the reference's arithmetic on JS numbers starts from; NumPy scalars would be
    slower and, under NumPy 2's promotion rules, would keep float32 arithmetic. Scores are
    not read here: the traversal notes where each part's score is (``Keypoints``) and the
    caller computes them all at once.
    """

    height: int
    width: int
    stride: int
    offsets: memoryview  # (H, W, 34)
    displacement_fwd: memoryview  # (H, W, 32)
    displacement_bwd: memoryview  # (H, W, 32)

    @classmethod
    def from_arrays(
        cls,
        offsets: np.ndarray,
        displacement_fwd: np.ndarray,
        displacement_bwd: np.ndarray,
        stride: int,
    ) -> HostMaps:
        """Wrap C-contiguous float32 host arrays (views, no copies)."""
        height, width, _ = offsets.shape
        flat = [
            memoryview(np.ascontiguousarray(a, dtype=np.float32).reshape(-1))
            for a in (offsets, displacement_fwd, displacement_bwd)
        ]
        return cls(height, width, stride, *flat)


class Keypoints(NamedTuple):
    """The 17 keypoints of one instance as Python lists (model-input pixels).

    ``score_index[k]`` is the flat (H, W, 17) heatmap index whose score part ``k`` takes.
    """

    ys: list[float]
    xs: list[float]
    score_index: list[int]


def nearest_cell(maps: HostMaps, y: float, x: float) -> tuple[int, int]:
    """The map cell nearest (y, x) pixels: ``clamp(Math.round(position / stride))`` each.

    JS ``Math.round`` rounds halves up (2.5 -> 3, -2.5 -> -2), unlike Python's ``round``.
    ``q - floor(q)`` is exact in float64, so the test against 0.5 is exact too, where
    ``floor(q + 0.5)`` would round 0.49999999999999994 up. NaN or infinite positions raise
    ``ValueError`` / ``OverflowError`` (from ``math.floor``). Both coordinates in one
    call: this runs up to three times per edge.
    """
    stride = maps.stride
    q = y / stride
    cell_y = math.floor(q)
    if q - cell_y >= 0.5:
        cell_y += 1
    q = x / stride
    cell_x = math.floor(q)
    if q - cell_x >= 0.5:
        cell_x += 1
    if cell_y < 0:
        cell_y = 0
    elif cell_y >= maps.height:
        cell_y = maps.height - 1
    if cell_x < 0:
        cell_x = 0
    elif cell_x >= maps.width:
        cell_x = maps.width - 1
    return cell_y, cell_x


def decode_pose(
    maps: HostMaps, root_part: int, root_index: int, root_y: float, root_x: float
) -> Keypoints:
    """All 17 keypoints of the instance rooted at ``root_part`` (already in pixels).

    ``root_index`` is the root's flat heatmap index (its score's). Up the tree, then down
    it (see ``_BACKWARD`` / ``_FORWARD``); each step only fills a part that is not set yet.
    Every part gets set: the skeleton is a tree and the edges are listed parents first.

    Each step reads the displacement at the source's nearest cell (channel edge = y,
    edge + 16 = x), then snaps the displaced point and offset-refines it twice; the
    target's final nearest cell is where its score is read and where the edges leaving it
    read their displacements. A refinement that lands in the cell it read from is a fixed
    point, so the second one is skipped then. (Inline rather than one call per step: this
    is the decoder's hot path.)
    """
    width, stride, offsets = maps.width, maps.stride, maps.offsets
    ys: list[float | None] = [None] * NUM_KEYPOINTS
    xs: list[float | None] = [None] * NUM_KEYPOINTS
    cells: list[tuple[int, int] | None] = [None] * NUM_KEYPOINTS
    ys[root_part], xs[root_part] = root_y, root_x
    cells[root_part] = nearest_cell(maps, root_y, root_x)
    for steps, displacements in (
        (_BACKWARD, maps.displacement_bwd),
        (_FORWARD, maps.displacement_fwd),
    ):
        for edge, source, target in steps:
            if cells[source] is None or cells[target] is not None:
                continue
            cell_y, cell_x = cells[source]
            base = (cell_y * width + cell_x) * 2 * NUM_EDGES + edge
            y = ys[source] + displacements[base]
            x = xs[source] + displacements[base + NUM_EDGES]
            cell = nearest_cell(maps, y, x)
            for _ in range(OFFSET_REFINE_STEPS):
                cell_y, cell_x = cell
                base = (cell_y * width + cell_x) * 2 * NUM_KEYPOINTS + target
                y = cell_y * stride + offsets[base]
                x = cell_x * stride + offsets[base + NUM_KEYPOINTS]
                refined = nearest_cell(maps, y, x)
                if refined == cell:  # a fixed point: refining again changes nothing
                    break
                cell = refined
            ys[target], xs[target], cells[target] = y, x, refined
    score_index = [(y * width + x) * NUM_KEYPOINTS + part for part, (y, x) in enumerate(cells)]
    score_index[root_part] = root_index
    return Keypoints(ys, xs, score_index)
