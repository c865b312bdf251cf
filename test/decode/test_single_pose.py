import math

import numpy as np
import pytest

from decode.synthetic import scene
from posenet_ros.decode import decode_single_pose
from posenet_ros.errors import ModelError
from posenet_ros.types import Pose


def _sigmoid32(x: float) -> float:
    return float(np.float32(1.0 / (1.0 + math.exp(-x))))


def test_keypoints_are_argmax_cell_times_stride_plus_offset():
    heatmap = np.full((3, 4, 17), -5.0, np.float32)
    offsets = np.zeros((3, 4, 34), np.float32)
    heatmap[2, 3, 0] = 2.0
    offsets[2, 3, 0], offsets[2, 3, 17] = 1.5, -2.25  # y, x of part 0
    heatmap[1, 0, 9] = 0.5
    offsets[1, 0, 9], offsets[1, 0, 26] = -3.0, 4.0
    pose = decode_single_pose(heatmap, offsets, 16)
    assert isinstance(pose, Pose)
    assert pose.keypoints.shape == (17, 3)
    assert pose.keypoints.dtype == np.float64
    assert pose.keypoints[0].tolist() == [3 * 16 - 2.25, 2 * 16 + 1.5, _sigmoid32(2.0)]
    assert pose.keypoints[9].tolist() == [0 + 4.0, 16 - 3.0, _sigmoid32(0.5)]
    # Parts with a flat map take the first cell, (0, 0), with a zero offset.
    assert pose.keypoints[5].tolist() == [0.0, 0.0, _sigmoid32(-5.0)]
    expected = (_sigmoid32(2.0) + _sigmoid32(0.5) + 15 * _sigmoid32(-5.0)) / 17
    assert pose.score == pytest.approx(expected, abs=1e-15)


def test_positions_are_rounded_to_float32_like_the_reference_tensor():
    heatmap = np.zeros((2, 2, 17), np.float32)
    heatmap[1, 1, :] = 1.0
    offsets = np.full((2, 2, 34), 0.1, np.float32)
    pose = decode_single_pose(heatmap, offsets, 16)
    expected = float(np.float32(16 + float(np.float32(0.1))))
    assert expected != 16 + float(np.float32(0.1))
    assert pose.keypoints[:, :2].ravel().tolist() == [expected] * 34


def test_argmax_ties_take_the_first_cell():
    heatmap = np.zeros((3, 3, 17), np.float32)
    heatmap[2, 0, :] = heatmap[0, 2, :] = 3.0
    pose = decode_single_pose(heatmap, np.zeros((3, 3, 34), np.float32), 8)
    assert pose.keypoints[:, 0].tolist() == [16.0] * 17  # x of cell (0, 2)
    assert pose.keypoints[:, 1].tolist() == [0.0] * 17


def test_finds_the_most_confident_person_in_a_scene():
    s = scene(257, 16, people=1, seed=5, noise=0.1)
    pose = decode_single_pose(s.heatmap, s.offsets, 16)
    error = np.abs(pose.keypoints[:, :2] - s.people[0]).max()
    assert error < 2.0
    assert 0.8 < pose.score <= 1.0


def test_nan_at_a_decoded_keypoint_is_a_model_error():
    heatmap = np.zeros((2, 2, 17), np.float32)
    offsets = np.zeros((2, 2, 34), np.float32)
    offsets[0, 0, 3] = np.nan
    with pytest.raises(ModelError, match="NaN"):
        decode_single_pose(heatmap, offsets, 16)
