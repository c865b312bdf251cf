"""Poses3D -> rviz markers: DELETEALL first, joints and bones per person, colour by track id."""

import numpy as np

from .requirements import require_ros_build

require_ros_build()

from std_msgs.msg import Header  # noqa: E402
from visualization_msgs.msg import Marker  # noqa: E402

from posenet_ros.keypoints import PART_NAMES, POSE_CHAIN  # noqa: E402
from posenet_ros.ros.markers import delete_all, markers_msg, track_colour  # noqa: E402
from posenet_ros.ros.pose_messages import poses_3d_to_msg  # noqa: E402
from posenet_ros.types import Pose  # noqa: E402

HEADER = Header(frame_id="camera_color_optical_frame")
KEYPOINTS = np.column_stack([np.arange(17.0), np.arange(17.0), np.ones(17)])
POSITIONS = np.column_stack([np.arange(17) * 0.1, np.zeros(17), np.full(17, 2.0)])


def people(*people_valid, ids=None):
    count = len(people_valid)
    return poses_3d_to_msg(
        [Pose(0.9, KEYPOINTS)] * count,
        ids or list(range(1, count + 1)),
        [POSITIONS] * count,
        [np.asarray(v, dtype=bool) for v in people_valid],
        HEADER,
    )


def points(marker):
    return [(p.x, p.y, p.z) for p in marker.points]


def test_delete_all_comes_first_then_joints_and_bones_per_person():
    array = markers_msg(people([True] * 17, [True] * 17)).markers
    assert array[0].action == Marker.DELETEALL
    rest = array[1:]
    assert [(m.ns, m.id, m.type) for m in rest] == [
        ("posenet_joints", 0, Marker.SPHERE_LIST),
        ("posenet_bones", 0, Marker.LINE_LIST),
        ("posenet_joints", 1, Marker.SPHERE_LIST),
        ("posenet_bones", 1, Marker.LINE_LIST),
    ]
    assert all(m.header.frame_id == "camera_color_optical_frame" for m in array)
    assert all(m.action == Marker.ADD and m.pose.orientation.w == 1.0 for m in rest)
    joints, bones = rest[:2]
    assert points(joints) == [tuple(p) for p in POSITIONS.tolist()]
    assert len(bones.points) == 2 * len(POSE_CHAIN) == 32


def test_bones_need_both_ends_valid_and_invalid_joints_are_left_out():
    valid = np.ones(17, dtype=bool)
    left_elbow = PART_NAMES.index("leftElbow")
    valid[left_elbow] = False
    _, joints, bones = markers_msg(people(valid)).markers
    assert len(joints.points) == 16
    # leftShoulder-leftElbow and leftElbow-leftWrist are gone
    assert len(bones.points) == 2 * (len(POSE_CHAIN) - 2)
    expected_bones = [
        tuple(POSITIONS[PART_NAMES.index(end)])
        for edge in POSE_CHAIN
        if "leftElbow" not in edge
        for end in edge
    ]
    assert points(bones) == expected_bones


def test_a_person_without_depth_gets_no_marker():
    array = markers_msg(people([False] * 17, [True] * 17)).markers
    assert [(m.ns, m.id) for m in array[1:]] == [("posenet_joints", 1), ("posenet_bones", 1)]


def test_colours_follow_the_track_id():
    a, b, c = (track_colour(i) for i in (1, 2, 1))
    assert (a.r, a.g, a.b) == (c.r, c.g, c.b)
    assert (a.r, a.g, a.b) != (b.r, b.g, b.b)
    array = markers_msg(people([True] * 17, [True] * 17, ids=[5, 5])).markers
    assert array[1].color == array[3].color == track_colour(5)


def test_delete_all_alone():
    (marker,) = delete_all(HEADER).markers
    assert marker.action == Marker.DELETEALL


def test_markers_of_successive_frames_do_not_share_state():
    first = markers_msg(people([True] * 17)).markers
    other = people([True] * 17, ids=[3])
    other.header = Header(frame_id="elsewhere")
    second = markers_msg(other).markers
    assert {m.header.frame_id for m in first} == {"camera_color_optical_frame"}
    assert {m.header.frame_id for m in second} == {"elsewhere"}
    assert first[1].color == track_colour(1) and second[1].color == track_colour(3)
    assert [m.scale.x for m in first[1:]] == [0.05, 0.02]
