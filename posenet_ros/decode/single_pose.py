"""Single-pose decoding (reference ``decodeSinglePose``): best cell per part, offset-refined."""

from __future__ import annotations

import functools
from types import ModuleType
from typing import Any

import numba
import numpy as np

from posenet_ros.decode.argmax2d import argmax2d_of_logits
from posenet_ros.decode.compiled import LOGITS, compiled
from posenet_ros.decode.inputs import check_known_maps, check_stride
from posenet_ros.decode.part_queue import kernel_logits
from posenet_ros.errors import ModelError
from posenet_ros.jit import compile_for
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
    xp, _, _ = check_known_maps(_HEADS, heatmap_logits, offsets)
    if xp is np:
        try:
            keypoints, score = _on_host(heatmap_logits, offsets, stride)
        except FloatingPointError:  # raised by the kernel
            raise ModelError(_NOT_FINITE) from None
    else:
        keypoints, score = _on_device(xp, heatmap_logits, offsets, stride)
        if not np.isfinite(keypoints).all():
            raise ModelError(_NOT_FINITE)
    return Pose(score=score, keypoints=keypoints)


_NOT_FINITE = "network outputs contain NaN or infinite values at the decoded keypoints"


_HEADS = ("heatmap", "offsets")


def _on_device(
    xp: ModuleType, heatmap_logits: Any, offsets: Any, stride: int
) -> tuple[np.ndarray, float]:
    from posenet_ros.gpu import decode_cuda  # CuPy maps only

    keypoints = decode_cuda.single_pose_columns(xp, heatmap_logits, offsets, stride)
    keypoints = keypoints.astype(np.float64)
    # Sum in part order in float64, as the reference accumulates its JS number.
    total = 0.0
    for score in keypoints[:, 2].tolist():
        total += score
    return keypoints, total / NUM_KEYPOINTS


def _on_host(heatmap_logits: Any, offsets: Any, stride: int) -> tuple[np.ndarray, float]:
    """``_decode_on_host`` on the maps as they come when the kernel reads them so (float32,
    C-contiguous), on converted copies otherwise."""
    try:
        return _kernel()(heatmap_logits, offsets, stride)
    except TypeError:  # no compiled signature for these arrays (numba's dispatch)
        logits, offsets = kernel_logits(heatmap_logits), np.ascontiguousarray(offsets, np.float32)
        return _kernel()(logits, offsets, stride)


@compiled
def _decode_on_host(
    logits: np.ndarray, offsets: np.ndarray, stride: int
) -> tuple[np.ndarray, float]:
    """The ``_on_device`` arithmetic in one compiled pass: (17, 3) keypoints and the score;
    ``FloatingPointError`` where a keypoint is not finite."""
    ys, xs, scores = argmax2d_of_logits(logits)
    keypoints = np.empty((NUM_KEYPOINTS, 3))
    total = 0.0
    for part in range(NUM_KEYPOINTS):
        y, x = ys[part], xs[part]
        keypoints[part, 0] = np.float32(x * stride) + offsets[y, x, part + NUM_KEYPOINTS]
        keypoints[part, 1] = np.float32(y * stride) + offsets[y, x, part]
        keypoints[part, 2] = scores[part]
        total += np.float64(scores[part])
    if not np.isfinite(keypoints).all():
        raise FloatingPointError("NaN or infinite keypoints")
    return keypoints, total / NUM_KEYPOINTS


@functools.cache
def _kernel() -> Any:
    offsets = numba.types.Array(numba.float32, 3, "C", readonly=True)
    return compile_for(_decode_on_host, [(logits, offsets, numba.int64) for logits in LOGITS])


def warm_up() -> None:
    """Compile the kernel (or load it from numba's cache) now rather than on a frame."""
    _kernel()
