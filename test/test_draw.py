"""Drawing: what is drawn, what is skipped, copies versus in place, colours by id and side."""

from __future__ import annotations

import numpy as np
import pytest

from posenet_ros.draw import POSE_COLOURS, UNTRACKED_COLOUR, draw_poses
from posenet_ros.keypoints import PART_IDS
from posenet_ros.types import Pose


def pose_with(points: dict[str, tuple[float, float, float]], score: float = 0.9) -> Pose:
    keypoints = np.zeros((17, 3))
    keypoints[:, :2] = -100.0  # off-image, score 0
    for name, point in points.items():
        keypoints[PART_IDS[name]] = point
    return Pose(score, keypoints)


BLANK = np.zeros((100, 120, 3), np.uint8)


def test_draws_confident_keypoints_and_edges_on_a_copy() -> None:
    pose = pose_with({"leftShoulder": (20, 50, 0.9), "rightShoulder": (100, 50, 0.8)})
    drawn = draw_poses(BLANK, [pose], radius=3, line_width=1)
    assert drawn is not BLANK and not BLANK.any()
    assert drawn.dtype == np.uint8 and drawn.shape == BLANK.shape
    assert tuple(drawn[50, 60]) == POSE_COLOURS[0]  # on the shoulder-shoulder (centre) edge
    assert drawn[50, 20].any() and drawn[50, 100].any()  # keypoint centres
    assert not drawn[10, 10].any()


def test_left_parts_are_lighter_and_right_parts_darker_than_the_centre() -> None:
    pose = pose_with(
        {
            "nose": (60, 10, 0.9),
            "leftShoulder": (90, 40, 0.9),
            "leftElbow": (90, 90, 0.9),
            "rightShoulder": (30, 40, 0.9),
            "rightElbow": (30, 90, 0.9),
        }
    )
    drawn = draw_poses(BLANK, [pose], radius=3, line_width=1).astype(int)
    centre = np.array(POSE_COLOURS[0])
    for left, right in (((90, 40), (30, 40)), ((90, 65), (30, 65))):  # joints, then limbs
        lighter, darker = drawn[left[1], left[0]], drawn[right[1], right[0]]
        assert (lighter >= centre).all() and lighter.sum() > centre.sum() + 60
        assert (darker <= centre).all() and darker.sum() < centre.sum() - 60
    assert tuple(drawn[10, 60]) == POSE_COLOURS[0]  # the nose is on the centre line


def test_low_scores_hide_keypoints_and_their_edges() -> None:
    pose = pose_with({"leftShoulder": (20, 50, 0.9), "rightShoulder": (100, 50, 0.05)})
    drawn = draw_poses(BLANK, [pose], min_keypoint_score=0.1, radius=3, line_width=1)
    assert drawn[50, 20].any()
    assert not drawn[50, 60].any() and not drawn[50, 100].any()
    everything = draw_poses(BLANK, [pose], min_keypoint_score=0.0, radius=3, line_width=1)
    assert everything[50, 60].any()


def test_each_pose_gets_its_own_colour() -> None:
    poses = [pose_with({"nose": (20.0 + 30 * i, 30, 0.9)}) for i in range(2)]
    drawn = draw_poses(BLANK, poses, radius=3)
    assert tuple(drawn[30, 20]) == POSE_COLOURS[0]
    assert tuple(drawn[30, 50]) == POSE_COLOURS[1]


def test_track_ids_give_each_person_a_stable_colour() -> None:
    first, second = (pose_with({"nose": (20.0 + 30 * i, 30, 0.9)}) for i in range(2))
    drawn = draw_poses(BLANK, [first, second], [7, 3], radius=3)
    swapped = draw_poses(BLANK, [second, first], [3, 7], radius=3)
    np.testing.assert_array_equal(drawn, swapped)  # colour follows the id, not the order
    assert tuple(drawn[30, 20]) != tuple(drawn[30, 50])
    again = draw_poses(BLANK, [first], [7], radius=3)
    assert tuple(again[30, 20]) == tuple(drawn[30, 20])
    untracked = draw_poses(BLANK, [first], [0], radius=3)
    assert tuple(untracked[30, 20]) == UNTRACKED_COLOUR


def test_ids_must_match_the_poses() -> None:
    with pytest.raises(ValueError, match="2 poses but 1 ids"):
        draw_poses(BLANK, [pose_with({}), pose_with({})], [1])


def test_in_place_draws_on_the_given_array() -> None:
    image = BLANK.copy()
    result = draw_poses(image, [pose_with({"nose": (60, 50, 1.0)})], in_place=True)
    assert result is image and image[50, 60].any()


def test_no_poses_and_non_finite_points_leave_the_image_alone() -> None:
    pose = pose_with({"nose": (np.nan, 50, 1.0), "leftEye": (np.inf, 10, 1.0)})
    np.testing.assert_array_equal(draw_poses(BLANK, [pose]), BLANK)
    np.testing.assert_array_equal(draw_poses(BLANK, []), BLANK)
