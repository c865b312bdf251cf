"""One Euro smoothing: less jitter on a still point, follows a step, leaves what it must alone."""

from __future__ import annotations

import math

import numpy as np
import pytest

from posenet_ros.errors import InvalidConfigError
from posenet_ros.smoothing import KeypointSmoother, SmoothingConfig
from posenet_ros.types import Pose

FRAME_S = 1 / 30


def pose_at(xy: np.ndarray, score: float = 0.9) -> Pose:
    keypoints = np.empty((17, 3))
    keypoints[:, :2] = xy
    keypoints[:, 2] = score
    return Pose(0.7, keypoints)


def test_jitter_on_a_still_point_is_reduced() -> None:
    rng = np.random.default_rng(3)
    smoother = KeypointSmoother()
    raw, smoothed = [], []
    for f in range(120):
        pose = pose_at(np.array([320.0, 240.0]) + rng.normal(0.0, 3.0, size=(17, 2)))
        raw.append(pose.keypoints[:, :2])
        smoothed.append(smoother.smooth([pose], [4], f * FRAME_S)[0].keypoints[:, :2])
    raw_spread = np.std(np.array(raw[30:]), axis=0).mean()
    smoothed_spread = np.std(np.array(smoothed[30:]), axis=0).mean()
    assert smoothed_spread < 0.5 * raw_spread
    assert np.abs(np.array(smoothed[30:]).mean(axis=0) - (320.0, 240.0)).max() < 1.5


def test_a_step_is_followed() -> None:
    smoother = KeypointSmoother()
    for f in range(30):
        smoother.smooth([pose_at(np.array([100.0, 100.0]))], [1], f * FRAME_S)
    after = [
        smoother.smooth([pose_at(np.array([180.0, 130.0]))], [1], (30 + f) * FRAME_S)[0]
        for f in range(10)
    ]
    positions = np.array([pose.keypoints[0, :2] for pose in after])
    assert (np.diff(positions[:, 0]) >= 0).all() and positions[0, 0] > 120.0
    np.testing.assert_allclose(positions[-1], (180.0, 130.0), atol=1.0)


def test_still_point_matches_a_first_order_low_pass_at_min_cutoff() -> None:
    # With beta 0 the filter is a low-pass at min_cutoff: alpha = 1 / (1 + 1 / (2 pi fc dt)).
    config = SmoothingConfig(min_cutoff=2.0, beta=0.0)
    smoother = KeypointSmoother(config)
    smoother.smooth([pose_at(np.array([0.0, 0.0]))], [1], 0.0)
    out = smoother.smooth([pose_at(np.array([10.0, 0.0]))], [1], 0.05)[0]
    alpha = 1.0 / (1.0 + 1.0 / (2.0 * math.pi * 2.0 * 0.05))
    np.testing.assert_allclose(out.keypoints[:, 0], 10.0 * alpha)


def test_untracked_poses_scores_and_inputs_are_left_alone() -> None:
    smoother = KeypointSmoother()
    smoother.smooth([pose_at(np.array([0.0, 0.0]))], [2], 0.0)
    untracked = pose_at(np.array([5.0, 5.0]))
    tracked = pose_at(np.array([50.0, 0.0]), score=0.6)
    before = tracked.keypoints.copy()
    out = smoother.smooth([untracked, tracked], [0, 2], FRAME_S)
    assert out[0] is untracked
    np.testing.assert_array_equal(tracked.keypoints, before)
    assert out[1].score == tracked.score
    np.testing.assert_array_equal(out[1].keypoints[:, 2], before[:, 2])
    assert (out[1].keypoints[:, 0] < 50.0).all()


def test_a_track_unseen_for_a_while_starts_afresh() -> None:
    smoother = KeypointSmoother(SmoothingConfig(forget_after_s=0.5))
    smoother.smooth([pose_at(np.array([0.0, 0.0]))], [3], 0.0)
    soon = smoother.smooth([pose_at(np.array([40.0, 0.0]))], [3], 0.4)[0]
    assert soon.keypoints[0, 0] < 40.0
    later = smoother.smooth([pose_at(np.array([80.0, 0.0]))], [3], 1.0)[0]
    assert later.keypoints[0, 0] == 80.0
    smoother.reset()
    again = smoother.smooth([pose_at(np.array([0.0, 0.0]))], [3], 1.1)[0]
    assert again.keypoints[0, 0] == 0.0


def test_hidden_and_non_finite_keypoints_pass_through_and_restart() -> None:
    smoother = KeypointSmoother()
    smoother.smooth([pose_at(np.array([0.0, 0.0]))], [1], 0.0)
    pose = pose_at(np.array([30.0, 0.0]))
    pose.keypoints[0, 2] = 0.0  # below min_keypoint_score
    pose.keypoints[1, 0] = np.nan
    out = smoother.smooth([pose], [1], FRAME_S)[0].keypoints
    assert out[0, 0] == 30.0 and np.isnan(out[1, 0]) and 0.0 < out[2, 0] < 30.0
    follow = smoother.smooth([pose_at(np.array([30.0, 0.0]))], [1], 2 * FRAME_S)[0].keypoints
    assert follow[0, 0] == 30.0 and follow[1, 0] == 30.0  # restarted, not poisoned by NaN
    assert np.isfinite(follow).all()


def test_time_not_moving_forward_restarts_the_track() -> None:
    smoother = KeypointSmoother()
    smoother.smooth([pose_at(np.array([0.0, 0.0]))], [1], 1.0)
    same = smoother.smooth([pose_at(np.array([9.0, 0.0]))], [1], 1.0)[0]
    back = smoother.smooth([pose_at(np.array([5.0, 0.0]))], [1], 0.5)[0]
    assert same.keypoints[0, 0] == 9.0 and back.keypoints[0, 0] == 5.0


def test_bad_calls_are_refused() -> None:
    smoother = KeypointSmoother()
    with pytest.raises(InvalidConfigError, match="2 poses but 1 ids"):
        smoother.smooth([pose_at(np.zeros(2)), pose_at(np.zeros(2))], [1], 0.0)
    with pytest.raises(InvalidConfigError, match="timestamp_s"):
        smoother.smooth([], [], float("inf"))


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"min_cutoff": 0.0}, "min_cutoff"),
        ({"beta": -0.1}, "beta"),
        ({"d_cutoff": float("nan")}, "d_cutoff"),
        ({"forget_after_s": 100.0}, "forget_after_s"),
        ({"beta": "0.1"}, "beta"),
    ],
)
def test_bad_smoothing_config_is_refused(changes: dict, message: str) -> None:
    with pytest.raises(InvalidConfigError, match=message):
        SmoothingConfig(**changes)
