"""One pose from a root part by following displacements (reference ``decodePose``).

Compiled (``decode.compiled``): a pose is 16 short sequential steps of scalar arithmetic. Map
values are float32, widened to float64 before any arithmetic, as the reference's JS numbers.
"""

from __future__ import annotations

import math
from typing import NamedTuple

import numpy as np

from posenet_ros.decode.compiled import compiled
from posenet_ros.keypoints import CHILD_IDS, NUM_EDGES, NUM_KEYPOINTS, PARENT_IDS

# Offset-refine steps after a displacement (the reference's ``offsetRefineStep``).
OFFSET_REFINE_STEPS = 2

# (edge, source, target) in traversal order: up the tree towards the nose along backward
# displacements (edges last to first, child -> parent), then down along forward ones
# (edges first to last, parent -> child). Rows of int64 arrays, which compiled code reads.
_BACKWARD = np.array([(e, CHILD_IDS[e], PARENT_IDS[e]) for e in range(NUM_EDGES - 1, -1, -1)])
_FORWARD = np.array([(e, PARENT_IDS[e], CHILD_IDS[e]) for e in range(NUM_EDGES)])


class HostMaps(NamedTuple):
    """The offset and displacement maps on the host as flat C-contiguous float32 arrays.

    Scores are not read here: the traversal notes where each part's score is
    (``Keypoints.score_index``) and the caller computes them all at once.
    """

    height: int
    width: int
    stride: int
    offsets: np.ndarray  # (H * W * 34,)
    displacement_fwd: np.ndarray  # (H * W * 32,)
    displacement_bwd: np.ndarray  # (H * W * 32,)

    @classmethod
    def from_arrays(
        cls,
        offsets: np.ndarray,
        displacement_fwd: np.ndarray,
        displacement_bwd: np.ndarray,
        stride: int,
    ) -> HostMaps:
        """Wrap (H, W, C) host arrays: views of writable C-contiguous float32 ones (the
        kernels' signature), copies of others."""
        height, width, _ = offsets.shape
        flat = [
            np.require(a, np.float32, ["C", "W"]).reshape(-1)
            for a in (offsets, displacement_fwd, displacement_bwd)
        ]
        return cls(int(height), int(width), int(stride), *flat)


class Keypoints(NamedTuple):
    """The 17 keypoints of one instance (model-input pixels), float64 (17,) ``ys`` and ``xs``.

    ``score_index[k]`` is the flat (H, W, 17) heatmap index whose score part ``k`` takes.
    """

    ys: np.ndarray
    xs: np.ndarray
    score_index: np.ndarray


@compiled
def _js_round_clamped(position: float, stride: int, size: int) -> int:
    """``clamp(Math.round(position / stride), 0, size - 1)``.

    JS ``Math.round`` rounds halves up (2.5 -> 3, -2.5 -> -2). ``q - floor(q)`` is exact in
    float64, so the test against 0.5 is exact too, where ``floor(q + 0.5)`` would round
    0.49999999999999994 up. Clamped while still a float, so huge positions stay exact.
    """
    q = position / stride
    cell = np.floor(q)
    if q - cell >= 0.5:
        cell += 1.0
    return int(min(max(cell, 0.0), size - 1.0))


@compiled
def nearest_cell(maps: HostMaps, y: float, x: float) -> tuple[int, int]:
    """The map cell nearest (y, x) pixels: ``clamp(Math.round(position / stride))`` each.

    A NaN position raises ``ValueError``, an infinite one ``OverflowError`` (y first), as
    Python's ``math.floor`` does.
    """
    for value in (y, x):
        if math.isnan(value):
            raise ValueError("cannot convert float NaN to integer")
        if math.isinf(value):
            raise OverflowError("cannot convert float infinity to integer")
    return (
        _js_round_clamped(y, maps.stride, maps.height),
        _js_round_clamped(x, maps.stride, maps.width),
    )


@compiled
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
    point, so the second one is skipped then.
    """
    width, stride, offsets = maps.width, maps.stride, maps.offsets
    ys = np.zeros(NUM_KEYPOINTS)
    xs = np.zeros(NUM_KEYPOINTS)
    cell_ys = np.full(NUM_KEYPOINTS, -1)  # -1: the part is not set yet
    cell_xs = np.full(NUM_KEYPOINTS, -1)
    ys[root_part], xs[root_part] = root_y, root_x
    cell_ys[root_part], cell_xs[root_part] = nearest_cell(maps, root_y, root_x)
    for backward in (True, False):
        steps = _BACKWARD if backward else _FORWARD
        displacements = maps.displacement_bwd if backward else maps.displacement_fwd
        for i in range(steps.shape[0]):
            edge, source, target = steps[i, 0], steps[i, 1], steps[i, 2]
            if cell_ys[source] < 0 or cell_ys[target] >= 0:
                continue
            base = (cell_ys[source] * width + cell_xs[source]) * 2 * NUM_EDGES + edge
            y = ys[source] + np.float64(displacements[base])
            x = xs[source] + np.float64(displacements[base + NUM_EDGES])
            cell_y, cell_x = nearest_cell(maps, y, x)
            for _ in range(OFFSET_REFINE_STEPS):
                base = (cell_y * width + cell_x) * 2 * NUM_KEYPOINTS + target
                y = np.float64(cell_y * stride) + np.float64(offsets[base])
                x = np.float64(cell_x * stride) + np.float64(offsets[base + NUM_KEYPOINTS])
                refined_y, refined_x = nearest_cell(maps, y, x)
                fixed = refined_y == cell_y and refined_x == cell_x
                cell_y, cell_x = refined_y, refined_x
                if fixed:  # a fixed point: refining again changes nothing
                    break
            ys[target], xs[target] = y, x
            cell_ys[target], cell_xs[target] = cell_y, cell_x
    score_index = (cell_ys * width + cell_xs) * NUM_KEYPOINTS + np.arange(NUM_KEYPOINTS)
    score_index[root_part] = root_index
    return Keypoints(ys, xs, score_index)
