import numpy as np
import pytest

from posenet_ros.decode.nms import instance_score, within_nms_radius
from posenet_ros.decode.traverse import Keypoints


def _pose(y: float, x: float) -> Keypoints:
    return Keypoints(np.full(17, y), np.full(17, x), np.arange(17))


def _rows(poses: list[Keypoints]) -> tuple[np.ndarray, np.ndarray]:
    """Earlier poses as the kernels hold them: rows of (poses, 17) arrays."""
    ys = np.array([p.ys for p in poses]).reshape(-1, 17)
    return ys, np.array([p.xs for p in poses]).reshape(-1, 17)


def _within(poses: list[Keypoints], squared_radius: float, y: float, x: float, part: int):
    return within_nms_radius(*_rows(poses), squared_radius, y, x, part)


def _instance(poses: list[Keypoints], squared_radius: float, pose: Keypoints, scores: list):
    return instance_score(*_rows(poses), squared_radius, pose.ys, pose.xs, np.array(scores))


def test_exactly_the_radius_is_suppressed():
    poses = [_pose(10.0, 10.0)]
    assert _within(poses, 5.0**2, 13.0, 14.0, part=3)  # 3-4-5: distance 5
    assert not _within(poses, 5.0**2, 13.0, 14.000001, part=3)


def test_only_the_same_part_of_any_earlier_pose_counts():
    far, near = _pose(100.0, 100.0), _pose(0.0, 0.0)
    near.ys[7] = 500.0
    assert not _within([far, near], 20.0**2, 0.0, 0.0, part=7)
    assert _within([far, near], 20.0**2, 0.0, 0.0, part=6)


def test_no_earlier_pose_suppresses_nothing():
    assert not _within([], 400.0, 0.0, 0.0, part=0)


def test_instance_score_drops_parts_claimed_by_earlier_poses():
    earlier = _pose(0.0, 0.0)
    new = _pose(100.0, 100.0)
    for part in (0, 3, 16):  # these three sit on the earlier pose's parts
        new.ys[part], new.xs[part] = 3.0, 4.0
    scores = [0.5] * 16 + [0.25]
    assert _instance([earlier], 5.0**2, new, scores) == pytest.approx(14 * 0.5 / 17)
    assert _instance([], 5.0**2, new, scores) == pytest.approx((16 * 0.5 + 0.25) / 17)


def test_instance_score_sums_in_part_order_like_the_reference():
    scores = [0.1, 0.2, 0.3] + [1e-17] * 14
    total = 0.0
    for score in scores:
        total += score
    assert _instance([], 1.0, _pose(0.0, 0.0), scores) == total / 17
