"""``demo_image_publisher``: loops image files on ``image`` at a fixed rate (a stand-in camera).

Publishes with sensor-data QoS (best effort), as camera drivers do. With ``publish_depth``
it also publishes, with each image's stamp, a synthetic depth image aligned to it (a flat plane
at ``depth_m``, 16UC1 millimetres as RealSense does) on ``depth`` and a camera_info on
``camera_info`` (a pinhole with a 60 degree horizontal field of view, centred).
"""

from __future__ import annotations

import array
import itertools
import math
from pathlib import Path

import numpy as np
from rclpy.node import Node
from rclpy.qos import qos_profile_sensor_data
from sensor_msgs.msg import CameraInfo, CompressedImage, Image
from std_msgs.msg import Header

from posenet_ros.errors import PoseNetError
from posenet_ros.image_io import load_image
from posenet_ros.ros.image_conversions import rgb_to_image
from posenet_ros.ros.spin import run_node

IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png")
HORIZONTAL_FOV_DEG = 60.0


def image_files(location: str) -> list[Path]:
    """The image files of a directory (sorted), or the one file named."""
    path = Path(location)
    if path.is_dir():
        files = sorted(p for p in path.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES)
    else:
        files = [path] if path.is_file() else []
    if not files:
        raise PoseNetError(f"no {'/'.join(IMAGE_SUFFIXES)} images at {location!r}")
    return files


class DemoImagePublisher(Node):
    def __init__(self) -> None:
        super().__init__("demo_image_publisher")
        images = self.declare_parameter("images", "").value
        rate = self.declare_parameter("rate", 10.0).value
        self._frame_id = self.declare_parameter("frame_id", "camera_color_optical_frame").value
        compressed = self.declare_parameter("transport", "raw").value == "compressed"
        # Each image held for this many frames, so that people stay and keep their track ids.
        frames_per_image = max(1, self.declare_parameter("frames_per_image", 1).value)
        publish_depth = self.declare_parameter("publish_depth", False).value
        depth_m = self.declare_parameter("depth_m", 2.0).value
        files = image_files(images)
        rgbs = [load_image(f) for f in files]
        if compressed:
            self._pub = self.create_publisher(
                CompressedImage, "image/compressed", qos_profile_sensor_data
            )
            messages = [
                CompressedImage(format=f.suffix.lstrip(".").lower(), data=_bytes(f.read_bytes()))
                for f in files
            ]
        else:
            self._pub = self.create_publisher(Image, "image", qos_profile_sensor_data)
            messages = [rgb_to_image(rgb, Header()) for rgb in rgbs]
        # Messages are built once; each publish only stamps the headers (publish serialises).
        # Beside each image: its depth image and camera_info, or nothing.
        companions = [
            (depth_plane(*size, depth_m), camera_info(*size)) if publish_depth else ()
            for size in (rgb.shape[1::-1] for rgb in rgbs)
        ]
        self._messages = itertools.cycle(
            item for item in zip(messages, companions, strict=True) for _ in range(frames_per_image)
        )
        if publish_depth:
            self._depth_pub = self.create_publisher(Image, "depth", qos_profile_sensor_data)
            self._info_pub = self.create_publisher(CameraInfo, "camera_info", 10)
        self.create_timer(1.0 / rate, self._publish)
        self.get_logger().info(f"looping {len(files)} image(s) from {images} at {rate:g} Hz")

    def _publish(self) -> None:
        msg, companions = next(self._messages)
        msg.header = Header(stamp=self.get_clock().now().to_msg(), frame_id=self._frame_id)
        self._pub.publish(msg)
        if companions:
            depth, info = companions
            depth.header = info.header = msg.header
            self._depth_pub.publish(depth)
            self._info_pub.publish(info)


def depth_plane(width: int, height: int, depth_m: float) -> Image:
    """A 16UC1 (millimetres) depth image of a flat plane facing the camera."""
    depth_mm = np.full((height, width), round(depth_m * 1000), dtype="<u2")
    return Image(
        width=width,
        height=height,
        encoding="16UC1",
        is_bigendian=0,
        step=width * 2,
        data=_bytes(depth_mm.tobytes()),
    )


def camera_info(width: int, height: int) -> CameraInfo:
    """A distortion-free pinhole of HORIZONTAL_FOV_DEG, principal point at the centre."""
    f = width / 2 / math.tan(math.radians(HORIZONTAL_FOV_DEG) / 2)
    cx, cy = (width - 1) / 2, (height - 1) / 2
    return CameraInfo(
        width=width,
        height=height,
        distortion_model="plumb_bob",
        d=[0.0] * 5,
        k=[f, 0.0, cx, 0.0, f, cy, 0.0, 0.0, 1.0],
        r=[1.0, 0.0, 0.0, 0.0, 1.0, 0.0, 0.0, 0.0, 1.0],
        p=[f, 0.0, cx, 0.0, 0.0, f, cy, 0.0, 0.0, 0.0, 1.0, 0.0],
    )


def _bytes(data: bytes) -> array.array:
    """uint8[] field value; array.array skips the message setter's per-byte check."""
    return array.array("B", data)


def main(args: list[str] | None = None) -> int:
    return run_node(DemoImagePublisher, "demo_image_publisher", args)
