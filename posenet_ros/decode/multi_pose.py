"""Multi-pose decoding (reference ``decodeMultiplePoses``): greedy, root candidates best first."""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from posenet_ros.arrays import to_host
from posenet_ros.decode.inputs import check_maps, check_multi_pose_params, check_stride
from posenet_ros.decode.nms import instance_score, within_nms_radius
from posenet_ros.decode.part_queue import part_candidates, root_order
from posenet_ros.decode.scores import heatmap_scores
from posenet_ros.decode.traverse import HostMaps, Keypoints, decode_pose, image_coords
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
    """
    stride = check_stride(output_stride)
    check_multi_pose_params(max_pose_detections, score_threshold, nms_radius)
    xp, _, width = check_maps(
        heatmap=heatmap_logits,
        offsets=offsets,
        displacement_fwd=displacement_fwd,
        displacement_bwd=displacement_bwd,
    )
    scores = heatmap_scores(heatmap_logits)
    candidate_scores, candidate_index = part_candidates(scores, score_threshold)
    f32 = xp.float32
    host = to_host(
        scores,
        offsets.astype(f32, copy=False),
        displacement_fwd.astype(f32, copy=False),
        displacement_bwd.astype(f32, copy=False),
        candidate_scores,
        candidate_index,
    )
    maps = HostMaps.from_arrays(*host[:4], stride=stride)
    roots = root_order(host[4].tolist(), host[5].tolist())
    try:
        poses = _greedy_poses(maps, roots, max_pose_detections, float(nms_radius) ** 2, width)
    except (ValueError, OverflowError):  # math.floor of a NaN / infinite position
        raise ModelError("network outputs contain NaN or infinite values") from None
    return [
        Pose(score=score, keypoints=np.array([k.xs, k.ys, k.scores], dtype=np.float64).T.copy())
        for k, score in poses
    ]


def _greedy_poses(
    maps: HostMaps, roots: Any, max_poses: int, squared_radius: float, width: int
) -> list[tuple[Keypoints, float]]:
    accepted: list[Keypoints] = []
    scored: list[tuple[Keypoints, float]] = []
    for root_score, flat in roots:
        if len(accepted) >= max_poses:
            break
        cell, part = divmod(flat, NUM_KEYPOINTS)
        root_y, root_x = image_coords(maps, part, *divmod(cell, width))
        if within_nms_radius(accepted, squared_radius, root_y, root_x, part):
            continue
        keypoints = decode_pose(maps, part, root_score, root_y, root_x)
        score = instance_score(accepted, squared_radius, keypoints)
        if not math.isfinite(score):
            raise ModelError("network outputs contain NaN or infinite scores")
        accepted.append(keypoints)
        scored.append((keypoints, score))
    return scored
