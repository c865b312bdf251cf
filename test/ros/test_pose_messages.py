"""Core poses -> Poses messages: every keypoint from the table, numbers carried over."""

import numpy as np

from .requirements import require_ros_build

require_ros_build()

from posenet_ros.msg import Keypoint  # noqa: E402
from std_msgs.msg import Header  # noqa: E402

from posenet_ros.keypoints import NUM_KEYPOINTS, PART_NAMES  # noqa: E402
from posenet_ros.ros.pose_messages import poses_to_msg  # noqa: E402
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
