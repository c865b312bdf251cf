"""Multi-pose decoding (reference ``decodeMultiplePoses``): greedy, root candidates best first."""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from posenet_ros.arrays import to_host
from posenet_ros.decode.inputs import check_maps, check_multi_pose_params, check_stride
from posenet_ros.decode.nms import instance_score, within_nms_radius
from posenet_ros.decode.part_queue import candidate_mask, root_order
from posenet_ros.decode.scores import heatmap_scores
from posenet_ros.decode.traverse import HostMaps, Keypoints, decode_pose
from posenet_ros.errors import ModelError
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
    otherwise its pose is traversed and scored by the parts no earlier pose claims. The
    per-pixel work runs in the inputs' namespace (NumPy or CuPy); the greedy traversal runs
    on the host after one device-to-host copy, in float64 like the reference's JS numbers.
    Keypoint scores only feed the output, so they are computed once all poses are found.
    """
    stride = check_stride(output_stride)
    check_multi_pose_params(max_pose_detections, score_threshold, nms_radius)
    _, _, width = check_maps(
        heatmap=heatmap_logits,
        offsets=offsets,
        displacement_fwd=displacement_fwd,
        displacement_bwd=displacement_bwd,
    )
    # Everything the host needs, in one device-to-host copy for CuPy maps.
    host = to_host(
        heatmap_logits,
        offsets,
        displacement_fwd,
        displacement_bwd,
        candidate_mask(heatmap_logits, score_threshold),
    )
    maps = HostMaps.from_arrays(*host[1:4], stride=stride)
    flat = np.flatnonzero(host[4])
    roots = root_order(heatmap_scores(host[0].take(flat)), flat)
    squared_radius = float(nms_radius) ** 2
    try:
        poses = _greedy_poses(maps, roots, max_pose_detections, squared_radius, width)
    except (ValueError, OverflowError):  # math.floor of a NaN / infinite position
        raise ModelError("network outputs contain NaN or infinite values") from None
    if not poses:
        return []
    index = [i for keypoints in poses for i in keypoints.score_index]
    scores = heatmap_scores(host[0].take(index)).tolist()
    rows = []
    for n, keypoints in enumerate(poses):
        part_scores = scores[n * NUM_KEYPOINTS : (n + 1) * NUM_KEYPOINTS]
        score = instance_score(poses[:n], squared_radius, keypoints, part_scores)
        if not math.isfinite(score):
            raise ModelError("network outputs contain NaN or infinite scores")
        rows.append((score, [keypoints.xs, keypoints.ys, part_scores]))
    # (poses, 17, 3) in one C-contiguous array: each pose's keypoints is a contiguous view.
    keypoints = np.array([columns for _, columns in rows], dtype=np.float64)
    keypoints = keypoints.transpose(0, 2, 1).copy()
    return [Pose(score=score, keypoints=k) for (score, _), k in zip(rows, keypoints, strict=True)]


def _greedy_poses(
    maps: HostMaps, roots: Any, max_poses: int, squared_radius: float, width: int
) -> list[Keypoints]:
    """The accepted poses, root by root (most roots fall to the NMS check: few calls)."""
    offsets, stride = maps.offsets, maps.stride
    accepted: list[Keypoints] = []
    for _, flat in roots:
        if len(accepted) >= max_poses:
            break
        cell, part = divmod(flat, NUM_KEYPOINTS)
        cell_y, cell_x = divmod(cell, width)
        # The root in pixels: its cell times the stride plus its offset there.
        base = cell * 2 * NUM_KEYPOINTS + part
        root_y = cell_y * stride + offsets[base]
        root_x = cell_x * stride + offsets[base + NUM_KEYPOINTS]
        if within_nms_radius(accepted, squared_radius, root_y, root_x, part):
            continue
        accepted.append(decode_pose(maps, part, flat, root_y, root_x))
    return accepted
