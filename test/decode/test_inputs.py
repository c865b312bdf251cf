import math

import numpy as np
import pytest

from posenet_ros.decode import decode_multiple_poses, decode_single_pose
from posenet_ros.errors import InvalidConfigError, ModelError


def _outputs(h: int = 5, w: int = 5) -> list[np.ndarray]:
    return [np.zeros((h, w, c), np.float32) for c in (17, 34, 32, 32)]


def _multi(outputs=None, stride=16, max_poses=5, threshold=0.5, radius=20.0):
    return decode_multiple_poses(*(outputs or _outputs()), stride, max_poses, threshold, radius)


@pytest.mark.parametrize("stride", [0, -16, 16.0, True, "16", None])
def test_bad_output_stride(stride):
    with pytest.raises(InvalidConfigError, match="output_stride"):
        decode_single_pose(*_outputs()[:2], stride)
    with pytest.raises(InvalidConfigError, match="output_stride"):
        _multi(stride=stride)


def test_numpy_integer_stride_is_accepted():
    outputs = _outputs()
    outputs[0][1, 2] = 3.0  # every part's best cell: row 1, column 2 (no offsets)
    at_cell = [[2 * 8, 1 * 8]] * 17  # x, y in pixels at stride 8
    pose = decode_single_pose(*outputs[:2], np.int64(8))
    np.testing.assert_array_equal(pose.keypoints[:, :2], at_cell)
    (pose,) = _multi(outputs, stride=np.int64(8), threshold=0.6)
    np.testing.assert_array_equal(pose.keypoints[:, :2], at_cell)


@pytest.mark.parametrize("value", [0, -1, 2.0, True, None])
def test_bad_max_pose_detections(value):
    with pytest.raises(InvalidConfigError, match="max_pose_detections"):
        _multi(max_poses=value)


@pytest.mark.parametrize("value", [-0.1, 1.5, math.nan, math.inf, "0.5", None])
def test_bad_score_threshold(value):
    with pytest.raises(InvalidConfigError, match="score_threshold"):
        _multi(threshold=value)


@pytest.mark.parametrize("value", [0, -5.0, math.nan, math.inf, "20"])
def test_bad_nms_radius(value):
    with pytest.raises(InvalidConfigError, match="nms_radius"):
        _multi(radius=value)


@pytest.mark.parametrize(
    ("index", "bad", "message"),
    [
        (0, np.zeros((5, 5, 16), np.float32), "heatmap"),
        (0, np.zeros((1, 5, 5, 17), np.float32), "heatmap"),
        (0, np.zeros((5, 5, 17), np.int32), "heatmap"),
        (0, [[0.0] * 17], "heatmap"),
        (0, np.zeros((0, 5, 17), np.float32), "empty"),
        (1, np.zeros((5, 5, 17), np.float32), "offsets"),
        (1, np.zeros((5, 4, 34), np.float32), "offsets"),
        (2, np.zeros((5, 5, 34), np.float32), "displacement_fwd"),
        (3, np.zeros((6, 5, 32), np.float32), "displacement_bwd"),
    ],
)
def test_malformed_outputs_are_model_errors(index, bad, message):
    outputs = _outputs()
    outputs[index] = bad
    with pytest.raises(ModelError, match=message):
        _multi(outputs)
    if index < 2:
        with pytest.raises(ModelError, match=message):
            decode_single_pose(*outputs[:2], 16)


def test_float64_and_float16_outputs_are_decoded_as_float32():
    outputs = _outputs(3, 3)
    outputs[0][:] = -10.0
    outputs[0][1, 1, 0] = 4.0
    outputs[1][1, 1, 0] = 0.1  # y offset, not exact in float32
    for dtype in (np.float64, np.float16):
        cast = [a.astype(dtype) for a in outputs]
        (pose,) = _multi(cast)
        assert pose.keypoints[0, 1] == 16 + float(np.float32(dtype(0.1)))
