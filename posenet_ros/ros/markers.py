"""``Poses3D`` -> rviz ``MarkerArray``: per person a joints and a bones marker, coloured by track.

The array starts with a DELETEALL, so people who left the view disappear with the next frame.
"""

from __future__ import annotations

import copy

from std_msgs.msg import ColorRGBA
from visualization_msgs.msg import Marker, MarkerArray

from posenet_ros.draw import track_colour as track_rgb
from posenet_ros.keypoints import CHILD_IDS, PARENT_IDS
from posenet_ros.msg import Pose3D, Poses3D

JOINTS_NAMESPACE = "posenet_joints"
BONES_NAMESPACE = "posenet_bones"
JOINT_DIAMETER_M = 0.05
BONE_WIDTH_M = 0.02


def track_colour(track_id: int) -> ColorRGBA:
    """The annotated image's colour of a track id (grey for 0), in rviz's 0..1 RGBA."""
    r, g, b = (channel / 255.0 for channel in track_rgb(track_id))
    return ColorRGBA(r=r, g=g, b=b, a=1.0)


def delete_all(header) -> MarkerArray:
    """Clears every marker of this publisher (sent first, and when depth is switched off)."""
    return MarkerArray(markers=[Marker(header=header, action=Marker.DELETEALL)])


def markers_msg(poses: Poses3D) -> MarkerArray:
    """DELETEALL, then per person with valid keypoints a SPHERE_LIST and a LINE_LIST marker.

    Marker ids are the person's index in ``poses``; a bone is drawn when both its ends are
    valid (the 16 edges of the pose chain).
    """
    array = delete_all(poses.header)
    for index, pose in enumerate(poses.poses):
        array.markers.extend(_person_markers(poses.header, index, pose))
    return array


def _person_markers(header, index: int, pose: Pose3D) -> list[Marker]:
    valid = [keypoint.valid for keypoint in pose.keypoints]
    points = [keypoint.position for keypoint in pose.keypoints]
    joints = [point for point, ok in zip(points, valid, strict=True) if ok]
    bones = [
        point
        for parent, child in zip(PARENT_IDS, CHILD_IDS, strict=True)
        if valid[parent] and valid[child]
        for point in (points[parent], points[child])
    ]
    colour = track_colour(pose.id)
    return [
        _marker(prototype, header, index, colour, marker_points)
        for prototype, marker_points in ((_JOINTS, joints), (_BONES, bones))
        if marker_points
    ]


def _prototype(namespace: str, kind: int, size: float) -> Marker:
    marker = Marker(ns=namespace, type=kind, action=Marker.ADD)
    marker.pose.orientation.w = 1.0
    # SPHERE_LIST: x, y, z are the sphere's diameters; LINE_LIST: x is the line width.
    marker.scale.x = marker.scale.y = marker.scale.z = size
    return marker


# Markers are shallow copies of these (a Marker's constructor builds some twenty sub-messages:
# copying is ~4x faster). The copies share the prototype's pose and scale, never changed;
# header, id, colour and points are set anew.
_JOINTS = _prototype(JOINTS_NAMESPACE, Marker.SPHERE_LIST, JOINT_DIAMETER_M)
_BONES = _prototype(BONES_NAMESPACE, Marker.LINE_LIST, BONE_WIDTH_M)


def _marker(prototype: Marker, header, index: int, colour: ColorRGBA, points: list) -> Marker:
    marker = copy.copy(prototype)
    marker.header, marker.id, marker.color, marker.points = header, index, colour, points
    return marker
