import math

import numpy as np
import pytest

from decode.synthetic import scene
from posenet_ros.decode import decode_single_pose
from posenet_ros.errors import ModelError
from posenet_ros.types import Pose


def _sigmoid32(x: float) -> float:
    return float(np.float32(1.0 / (1.0 + math.exp(-x))))


def test_keypoints_are_argmax_cell_times_stride_plus_offset(xp):
    heatmap = np.full((3, 4, 17), -5.0, np.float32)
    offsets = np.zeros((3, 4, 34), np.float32)
    heatmap[2, 3, 0] = 2.0
    offsets[2, 3, 0], offsets[2, 3, 17] = 1.5, -2.25  # y, x of part 0
    heatmap[1, 0, 9] = 0.5
    offsets[1, 0, 9], offsets[1, 0, 26] = -3.0, 4.0
    pose = decode_single_pose(xp.asarray(heatmap), xp.asarray(offsets), 16)
    assert isinstance(pose, Pose)
    assert pose.keypoints.shape == (17, 3)
    assert pose.keypoints.dtype == np.float64
    assert pose.keypoints[0].tolist() == [3 * 16 - 2.25, 2 * 16 + 1.5, _sigmoid32(2.0)]
    assert pose.keypoints[9].tolist() == [0 + 4.0, 16 - 3.0, _sigmoid32(0.5)]
    # Parts with a flat map take the first cell, (0, 0), with a zero offset.
    assert pose.keypoints[5].tolist() == [0.0, 0.0, _sigmoid32(-5.0)]
    expected = (_sigmoid32(2.0) + _sigmoid32(0.5) + 15 * _sigmoid32(-5.0)) / 17
    assert pose.score == pytest.approx(expected, abs=1e-15)


def test_positions_are_rounded_to_float32_like_the_reference_tensor(xp):
    heatmap = np.zeros((2, 2, 17), np.float32)
    heatmap[1, 1, :] = 1.0
    offsets = np.full((2, 2, 34), 0.1, np.float32)
    pose = decode_single_pose(xp.asarray(heatmap), xp.asarray(offsets), 16)
    expected = float(np.float32(16 + float(np.float32(0.1))))
    assert expected != 16 + float(np.float32(0.1))
    assert pose.keypoints[:, :2].ravel().tolist() == [expected] * 34


def test_argmax_ties_take_the_first_cell(xp):
    heatmap = np.zeros((3, 3, 17), np.float32)
    heatmap[2, 0, :] = heatmap[0, 2, :] = 3.0
    pose = decode_single_pose(xp.asarray(heatmap), xp.zeros((3, 3, 34), np.float32), 8)
    assert pose.keypoints[:, 0].tolist() == [16.0] * 17  # x of cell (0, 2)
    assert pose.keypoints[:, 1].tolist() == [0.0] * 17


def test_finds_the_most_confident_person_in_a_scene(xp):
    s = scene(257, 16, people=1, seed=5, noise=0.1)
    pose = decode_single_pose(xp.asarray(s.heatmap), xp.asarray(s.offsets), 16)
    error = np.abs(pose.keypoints[:, :2] - s.people[0]).max()
    assert error < 2.0
    assert 0.8 < pose.score <= 1.0


def test_nan_at_a_decoded_keypoint_is_a_model_error(xp):
    heatmap = np.zeros((2, 2, 17), np.float32)
    offsets = np.zeros((2, 2, 34), np.float32)
    offsets[0, 0, 3] = np.nan
    with pytest.raises(ModelError, match="NaN"):
        decode_single_pose(xp.asarray(heatmap), xp.asarray(offsets), 16)


def _expected(heatmap: np.ndarray, offsets: np.ndarray, stride: int) -> np.ndarray:
    """The reference's arithmetic in plain NumPy: float64 sigmoid stored as float32, the first
    maximum of each flattened channel, float32 cell position plus offset."""
    height, width, parts = heatmap.shape
    scores = (1.0 / (1.0 + np.exp(-heatmap.astype(np.float64)))).astype(np.float32)
    ys, xs = np.divmod(scores.reshape(height * width, parts).argmax(axis=0), width)
    index = np.arange(parts)
    offsets = offsets.astype(np.float32)
    x = (xs * stride).astype(np.float32) + offsets[ys, xs, index + parts]
    y = (ys * stride).astype(np.float32) + offsets[ys, xs, index]
    return np.stack([x, y, scores[ys, xs, index]], axis=1).astype(np.float64)


@pytest.mark.parametrize("dtype", [np.float16, np.float32, np.float64])
@pytest.mark.parametrize("seed", range(4))
def test_equals_plain_numpy_on_maps_with_ties_and_saturated_scores(xp, seed, dtype):
    # Rounded logits tie; widely spread ones saturate to scores of 1.0 that tie although
    # their logits differ; an all -inf channel ties everywhere (first cell).
    rng = np.random.default_rng(seed)
    heatmap = rng.normal(0.0, 10.0, (9, 7, 17)) * (1, 3)[seed % 2]
    if seed % 2 == 0:
        heatmap = np.round(heatmap)
    heatmap[..., 5] = -np.inf
    heatmap = heatmap.astype(dtype)
    offsets = rng.normal(0.0, 5.0, (9, 7, 34)).astype(dtype)
    pose = decode_single_pose(xp.asarray(heatmap), xp.asarray(offsets), 8)
    np.testing.assert_array_equal(pose.keypoints, _expected(heatmap, offsets, 8))


def test_nan_logit_wins_its_part_and_is_a_model_error(xp):
    heatmap = np.zeros((3, 3, 17), np.float32)
    heatmap[2, 2, 4] = np.nan
    with pytest.raises(ModelError, match="NaN"):
        decode_single_pose(xp.asarray(heatmap), xp.zeros((3, 3, 34), np.float32), 16)
