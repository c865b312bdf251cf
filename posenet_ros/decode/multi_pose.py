"""Multi-pose decoding (reference ``decodeMultiplePoses``): greedy, root candidates best first."""

from __future__ import annotations

import functools
import math
from typing import Any

import numba
import numpy as np

from posenet_ros.arrays import to_host
from posenet_ros.decode.compiled import LOGITS, compiled
from posenet_ros.decode.inputs import check_known_maps, check_multi_pose_params, check_stride
from posenet_ros.decode.max_heap import heap_pop, heap_push
from posenet_ros.decode.nms import instance_score, within_nms_radius
from posenet_ros.decode.part_queue import (
    candidates,
    kernel_logits,
    thresholds,
)
from posenet_ros.decode.scores import sigmoid32
from posenet_ros.decode.traverse import HostMaps, decode_pose
from posenet_ros.errors import ModelError
from posenet_ros.jit import compile_for
from posenet_ros.keypoints import NUM_KEYPOINTS
from posenet_ros.types import Pose


def decode_multiple_poses(
    heatmap_logits: Any,
    offsets: Any,
    displacement_fwd: Any,
    displacement_bwd: Any,
    output_stride: int,
    max_pose_detections: int,
    score_threshold: float,
    nms_radius: float,
) -> list[Pose]:
    """Up to ``max_pose_detections`` poses in model-input pixels, in root-score order.

    Root candidates (local maxima with score >= ``score_threshold``) are taken best first;
    a root within ``nms_radius`` pixels of the same part of an accepted pose is skipped,
    otherwise its pose is traversed and scored by the parts no earlier pose claims, in
    float64 like the reference's JS numbers. Keypoint scores only feed the output, so they
    are computed once all poses are found. CuPy maps come to the host in one copy and are
    decoded there: the compiled scan judges only cells that can pass the threshold, and on an
    H200 it beat a candidate kernel plus the copy of its mask at every size measured.
    """
    stride, max_poses, squared_radius = _checked_params(
        output_stride, max_pose_detections, score_threshold, nms_radius
    )
    xp, _, _ = check_known_maps(_HEADS, heatmap_logits, offsets, displacement_fwd, displacement_bwd)
    try:
        if xp is np:
            keypoints, scores = _on_host(
                heatmap_logits,
                offsets,
                displacement_fwd,
                displacement_bwd,
                stride,
                score_threshold,
                max_poses,
                squared_radius,
            )
        else:  # the maps in one device-to-host copy, decoded on the host
            keypoints, scores = _on_host(
                *to_host(heatmap_logits, offsets, displacement_fwd, displacement_bwd),
                stride,
                score_threshold,
                max_poses,
                squared_radius,
            )
    except (ValueError, OverflowError):  # a NaN / infinite position (``nearest_cell``)
        raise ModelError("network outputs contain NaN or infinite values") from None
    except FloatingPointError:  # a NaN / infinite pose score (``_greedy_poses``)
        raise ModelError("network outputs contain NaN or infinite scores") from None
    return [
        Pose(score=score, keypoints=k) for score, k in zip(scores.tolist(), keypoints, strict=True)
    ]


_HEADS = ("heatmap", "offsets", "displacement_fwd", "displacement_bwd")


def _checked_params(
    output_stride: object, max_pose_detections: object, score_threshold: object, nms_radius: object
) -> tuple[int, int, float]:
    """(stride, max poses, squared NMS radius), checked once per set of parameters."""
    try:
        return _checked_params_cached(
            output_stride, max_pose_detections, score_threshold, nms_radius
        )
    except TypeError:  # an unhashable parameter: the check names it
        return _checked_params_cached.__wrapped__(
            output_stride, max_pose_detections, score_threshold, nms_radius
        )


@functools.lru_cache(maxsize=16, typed=True)  # typed: True is not the valid 1
def _checked_params_cached(
    output_stride: object, max_pose_detections: object, score_threshold: object, nms_radius: object
) -> tuple[int, int, float]:
    stride = check_stride(output_stride)
    check_multi_pose_params(max_pose_detections, score_threshold, nms_radius)
    return stride, int(max_pose_detections), float(nms_radius) ** 2


def _on_host(
    heatmap_logits: np.ndarray,
    offsets: np.ndarray,
    displacement_fwd: np.ndarray,
    displacement_bwd: np.ndarray,
    stride: int,
    score_threshold: float,
    max_poses: int,
    squared_radius: float,
) -> tuple[np.ndarray, np.ndarray]:
    """``_decode_on_host`` on the maps as they come when the kernel reads them so (float32,
    C-contiguous: what the backends return), on converted copies otherwise."""
    maps = (heatmap_logits, offsets, displacement_fwd, displacement_bwd)
    try:
        return _host_kernel()(
            *maps,
            stride,
            *thresholds(score_threshold, heatmap_logits.dtype),
            max_poses,
            squared_radius,
        )
    except TypeError:  # no compiled signature for these arrays (numba's dispatch)
        pass
    logits = kernel_logits(heatmap_logits)
    maps = (logits, *[np.ascontiguousarray(a, np.float32) for a in maps[1:]])
    floor, threshold = thresholds(score_threshold, logits.dtype)
    return _host_kernel()(*maps, stride, floor, threshold, max_poses, squared_radius)


@compiled
def _decode_on_host(
    logits: np.ndarray,
    offsets: np.ndarray,
    displacement_fwd: np.ndarray,
    displacement_bwd: np.ndarray,
    stride: int,
    floor: float,
    threshold: np.float32,
    max_poses: int,
    squared_radius: float,
) -> tuple[np.ndarray, np.ndarray]:
    """The whole host decode of (H, W, C) maps in one call: candidates, then greedy poses."""
    flat, root_scores = candidates(logits, floor, threshold)
    height, width, _ = logits.shape
    maps = HostMaps(
        height,
        width,
        stride,
        offsets.reshape(-1),
        displacement_fwd.reshape(-1),
        displacement_bwd.reshape(-1),
    )
    return _greedy_poses(maps, logits.reshape(-1), flat, root_scores, max_poses, squared_radius)


@compiled
def _greedy_poses(
    maps: HostMaps,
    logits: np.ndarray,
    flat: np.ndarray,
    root_scores: np.ndarray,
    max_poses: int,
    squared_radius: float,
) -> tuple[np.ndarray, np.ndarray]:
    """Keypoints (poses, 17, 3: x, y, score) and scores of the accepted poses.

    Roots (``flat`` indices into the flat ``logits``, in scan order, with their scores)
    are dequeued from the reference's heap, lazily: most fall to the NMS check. Keypoint
    scores only feed the output, so they are computed once all poses are found. Each
    pose's keypoints is a C-contiguous (17, 3) view of the one array.
    """
    count = flat.size
    keys, items = np.empty(count, np.float32), np.empty(count, np.int64)
    size = 0
    for i in range(count):
        size = heap_push(keys, items, size, root_scores[i], flat[i])
    capacity = min(max_poses, count)
    ys, xs = np.empty((capacity, NUM_KEYPOINTS)), np.empty((capacity, NUM_KEYPOINTS))
    score_index = np.empty((capacity, NUM_KEYPOINTS), np.int64)
    poses = 0
    while size > 0 and poses < max_poses:
        size = heap_pop(keys, items, size)
        root = items[size]
        cell, part = divmod(root, NUM_KEYPOINTS)
        cell_y, cell_x = divmod(cell, maps.width)
        # The root in pixels: its cell times the stride plus its offset there.
        base = cell * 2 * NUM_KEYPOINTS + part
        root_y = np.float64(cell_y * maps.stride) + np.float64(maps.offsets[base])
        root_x = np.float64(cell_x * maps.stride) + np.float64(maps.offsets[base + NUM_KEYPOINTS])
        if within_nms_radius(ys[:poses], xs[:poses], squared_radius, root_y, root_x, part):
            continue
        pose = decode_pose(maps, part, root, root_y, root_x)
        ys[poses], xs[poses], score_index[poses] = pose.ys, pose.xs, pose.score_index
        poses += 1
    keypoints = np.empty((poses, NUM_KEYPOINTS, 3))
    scores = np.empty(poses)
    part_scores = np.empty(NUM_KEYPOINTS, np.float32)
    for n in range(poses):
        for part in range(NUM_KEYPOINTS):
            part_scores[part] = sigmoid32(logits[score_index[n, part]])
        scores[n] = instance_score(ys[:n], xs[:n], squared_radius, ys[n], xs[n], part_scores)
        if not math.isfinite(scores[n]):
            raise FloatingPointError("a NaN or infinite pose score")
        keypoints[n, :, 0], keypoints[n, :, 1], keypoints[n, :, 2] = xs[n], ys[n], part_scores
    return keypoints, scores


@functools.cache
def _host_kernel() -> Any:
    maps = numba.types.Array(numba.float32, 3, "C", readonly=True)
    return compile_for(
        _decode_on_host,
        [
            (
                logits,
                maps,
                maps,
                maps,
                numba.int64,
                logits.dtype,
                numba.float32,
                numba.int64,
                numba.float64,
            )
            for logits in LOGITS
        ],
    )


def warm_up() -> None:
    """Compile the host kernel (or load it from numba's cache) now rather than on a frame."""
    _host_kernel()
