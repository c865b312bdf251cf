"""Core results -> ``posenet_ros/Poses`` and ``posenet_ros/Poses3D`` messages, from the table."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from geometry_msgs.msg import Point
from std_msgs.msg import Header

from posenet_ros.keypoints import PART_NAMES
from posenet_ros.msg import Keypoint, Keypoint3D, Pose, Pose3D, Poses, Poses3D
from posenet_ros.types import Pose as CorePose


def pose_to_msg(pose: CorePose, track_id: int = 0) -> Pose:
    """All 17 keypoints in id order; the id and name come from the table, never a branch."""
    keypoints = [
        Keypoint(id=part_id, name=name, score=score, x=x, y=y)
        for part_id, (name, (x, y, score)) in enumerate(
            zip(PART_NAMES, pose.keypoints.tolist(), strict=True)
        )
    ]
    return Pose(id=track_id, score=float(pose.score), keypoints=keypoints)


def poses_to_msg(
    poses: Sequence[CorePose],
    header: Header,
    width: int,
    height: int,
    ids: Sequence[int] | None = None,
) -> Poses:
    """The message for one image: its header, its size and every pose found in it."""
    ids = [0] * len(poses) if ids is None else ids
    return Poses(
        header=header,
        image_width=width,
        image_height=height,
        poses=[pose_to_msg(pose, track_id) for pose, track_id in zip(poses, ids, strict=True)],
    )


def pose_3d_to_msg(
    pose: CorePose, track_id: int, positions: np.ndarray, valid: np.ndarray
) -> Pose3D:
    """All 17 keypoints in id order, with their (17, 3) positions in metres and validity."""
    keypoints = [
        Keypoint3D(
            id=part_id,
            name=name,
            score=score,
            position=Point(x=x, y=y, z=z) if ok else Point(),
            valid=ok,
        )
        for part_id, (name, score, (x, y, z), ok) in enumerate(
            zip(
                PART_NAMES,
                pose.keypoints[:, 2].tolist(),
                positions.tolist(),
                valid.tolist(),
                strict=True,
            )
        )
    ]
    return Pose3D(id=track_id, score=float(pose.score), keypoints=keypoints)


def poses_3d_to_msg(
    poses: Sequence[CorePose],
    ids: Sequence[int],
    positions: Sequence[np.ndarray],
    valid: Sequence[np.ndarray],
    header: Header,
) -> Poses3D:
    """The 3D message of one image: ``header`` (colour stamp, camera_info frame), /poses order."""
    return Poses3D(
        header=header,
        poses=[
            pose_3d_to_msg(*person) for person in zip(poses, ids, positions, valid, strict=True)
        ],
    )
