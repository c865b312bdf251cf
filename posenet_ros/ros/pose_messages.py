"""Core ``Pose`` results -> ``posenet_ros/Poses`` messages, filled from the keypoint table."""

from __future__ import annotations

from collections.abc import Sequence

from std_msgs.msg import Header

from posenet_ros.keypoints import PART_NAMES
from posenet_ros.msg import Keypoint, Pose, Poses
from posenet_ros.types import Pose as CorePose


def pose_to_msg(pose: CorePose) -> Pose:
    """All 17 keypoints in id order; the id and name come from the table, never a branch."""
    keypoints = [
        Keypoint(id=part_id, name=name, score=score, x=x, y=y)
        for part_id, (name, (x, y, score)) in enumerate(
            zip(PART_NAMES, pose.keypoints.tolist(), strict=True)
        )
    ]
    return Pose(score=float(pose.score), keypoints=keypoints)


def poses_to_msg(poses: Sequence[CorePose], header: Header, width: int, height: int) -> Poses:
    """The message for one image: its header, its size and every pose found in it."""
    return Poses(
        header=header,
        image_width=width,
        image_height=height,
        poses=[pose_to_msg(pose) for pose in poses],
    )
