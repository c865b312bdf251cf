"""Single-pose decoding (reference ``decodeSinglePose``): best cell per part, offset-refined."""

from __future__ import annotations

from typing import Any

import numpy as np

from posenet_ros.arrays import to_host
from posenet_ros.decode.argmax2d import argmax2d
from posenet_ros.decode.inputs import check_maps, check_stride
from posenet_ros.decode.scores import heatmap_scores
from posenet_ros.errors import ModelError
from posenet_ros.keypoints import NUM_KEYPOINTS
from posenet_ros.types import Pose


def decode_single_pose(heatmap_logits: Any, offsets: Any, output_stride: int) -> Pose:
    """The one pose of the image, in model-input pixels.

    Each keypoint sits at its part's argmax cell times ``output_stride`` plus the cell's
    offset (channel k = y, k + 17 = x); its score is the sigmoid there, and the pose score is
    the mean of the 17. Positions are float32 as in the reference, which adds the offsets to
    the scaled cell indices in a float32 tensor. Works on NumPy and CuPy arrays alike.
    """
    stride = check_stride(output_stride)
    xp, _, _ = check_maps(heatmap=heatmap_logits, offsets=offsets)
    scores = heatmap_scores(heatmap_logits)
    ys, xs = argmax2d(scores)
    parts = xp.arange(NUM_KEYPOINTS)
    offsets32 = offsets.astype(xp.float32, copy=False)
    y = (ys * stride).astype(xp.float32) + offsets32[ys, xs, parts]
    x = (xs * stride).astype(xp.float32) + offsets32[ys, xs, parts + NUM_KEYPOINTS]
    (columns,) = to_host(xp.stack([x, y, scores[ys, xs, parts]], axis=1))
    keypoints = columns.astype(np.float64)
    if not np.isfinite(keypoints).all():
        raise ModelError("network outputs contain NaN or infinite values at the decoded keypoints")
    # Sum in part order in float64, as the reference accumulates its JS number.
    total = 0.0
    for score in keypoints[:, 2].tolist():
        total += score
    return Pose(score=total / NUM_KEYPOINTS, keypoints=keypoints)
