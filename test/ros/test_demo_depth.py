"""The demo publisher's synthetic depth image and camera_info, read back by the core."""

import math

import numpy as np

from .requirements import require_ros_build

require_ros_build()

from posenet_ros.depth import Intrinsics, depth_to_metres  # noqa: E402
from posenet_ros.ros.demo_publisher import camera_info, depth_plane  # noqa: E402


def test_depth_plane_is_a_flat_plane_in_millimetres():
    msg = depth_plane(6, 4, 2.0)
    assert (msg.width, msg.height, msg.encoding, msg.step) == (6, 4, "16UC1", 12)
    metres = depth_to_metres(
        msg.data, msg.encoding, msg.height, msg.width, msg.step, msg.is_bigendian
    )
    np.testing.assert_array_equal(metres, np.full((4, 6), np.float32(2.0)))


def test_camera_info_is_a_centred_60_degree_pinhole():
    info = camera_info(640, 480)
    intrinsics = Intrinsics.from_k(info.k)
    focal = 320 / math.tan(math.radians(30))
    assert (intrinsics.fx, intrinsics.fy) == (focal, focal)
    assert (intrinsics.cx, intrinsics.cy) == (319.5, 239.5)
    assert (info.width, info.height) == (640, 480)
