"""Core poses -> Poses messages: every keypoint from the table, numbers carried over."""

import numpy as np

from .requirements import require_ros_build

require_ros_build()

from posenet_ros.msg import Keypoint  # noqa: E402
from std_msgs.msg import Header  # noqa: E402

from posenet_ros.keypoints import NUM_KEYPOINTS, PART_NAMES  # noqa: E402
from posenet_ros.ros.pose_messages import poses_3d_to_msg, poses_to_msg  # noqa: E402
from posenet_ros.types import Pose  # noqa: E402


def test_keypoint_constants_follow_the_table():
    for part_id, name in enumerate(PART_NAMES):
        constant = "".join("_" + c if c.isupper() else c.upper() for c in name)
        assert getattr(Keypoint, constant) == part_id


def test_poses_message_carries_everything():
    keypoints = np.column_stack([np.arange(17) * 1.5, np.arange(17) * 2.25, np.linspace(0, 1, 17)])
    header = Header(frame_id="camera_optical")
    header.stamp.sec, header.stamp.nanosec = 5, 123
    msg = poses_to_msg([Pose(0.75, keypoints), Pose(0.5, keypoints[::-1].copy())], header, 640, 480)
    assert (msg.header.frame_id, msg.header.stamp.sec, msg.header.stamp.nanosec) == (
        "camera_optical",
        5,
        123,
    )
    assert (msg.image_width, msg.image_height, len(msg.poses)) == (640, 480, 2)
    first = msg.poses[0]
    assert first.score == 0.75
    assert len(first.keypoints) == NUM_KEYPOINTS
    for part_id, kp in enumerate(first.keypoints):
        assert (kp.id, kp.name) == (part_id, PART_NAMES[part_id])
        np.testing.assert_allclose([kp.x, kp.y, kp.score], keypoints[part_id], rtol=1e-6)


def test_no_poses_gives_an_empty_list():
    assert poses_to_msg([], Header(), 1, 1).poses == []


def test_track_ids_go_on_the_poses_and_default_to_untracked():
    keypoints = np.zeros((17, 3))
    header = Header()
    msg = poses_to_msg([Pose(0.5, keypoints), Pose(0.4, keypoints)], header, 2, 2, [7, 0])
    assert [pose.id for pose in msg.poses] == [7, 0]
    assert [pose.id for pose in poses_to_msg([Pose(0.5, keypoints)], header, 2, 2).poses] == [0]


def test_poses_3d_message_carries_positions_validity_and_order():
    keypoints = np.column_stack([np.arange(17.0), np.arange(17.0), np.linspace(0, 1, 17)])
    positions = np.column_stack([np.arange(17) * 0.1, -np.arange(17) * 0.2, np.full(17, 2.5)])
    valid = np.arange(17) % 3 != 0
    header = Header(frame_id="camera_color_optical_frame")
    header.stamp.sec = 9
    msg = poses_3d_to_msg(
        [Pose(0.75, keypoints), Pose(0.25, keypoints)],
        [4, 0],
        [positions, positions],
        [valid, np.zeros(17, dtype=bool)],
        header,
    )
    assert (msg.header.frame_id, msg.header.stamp.sec) == ("camera_color_optical_frame", 9)
    assert [(p.id, p.score) for p in msg.poses] == [(4, 0.75), (0, 0.25)]
    first = msg.poses[0]
    assert [(k.id, k.name) for k in first.keypoints] == list(enumerate(PART_NAMES))
    assert [k.valid for k in first.keypoints] == valid.tolist()
    for part_id, kp in enumerate(first.keypoints):
        want = positions[part_id] if valid[part_id] else np.zeros(3)
        np.testing.assert_allclose([kp.position.x, kp.position.y, kp.position.z], want, rtol=1e-12)
        assert kp.score == np.float32(keypoints[part_id, 2])
    assert not any(k.valid for k in msg.poses[1].keypoints)
    assert all(k.position.z == 0.0 for k in msg.poses[1].keypoints)
