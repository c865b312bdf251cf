"""``demo_image_publisher``: loops image files on ``image`` at a fixed rate (a stand-in camera).

Publishes with sensor-data QoS (best effort), as camera drivers do.
"""

from __future__ import annotations

import array
import itertools
from pathlib import Path

from rclpy.node import Node
from rclpy.qos import qos_profile_sensor_data
from sensor_msgs.msg import CompressedImage, Image
from std_msgs.msg import Header

from posenet_ros.errors import PoseNetError
from posenet_ros.image_io import load_image
from posenet_ros.ros.image_conversions import rgb_to_image
from posenet_ros.ros.spin import run_node

IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png")


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
        self._frame_id = self.declare_parameter("frame_id", "camera").value
        compressed = self.declare_parameter("transport", "raw").value == "compressed"
        files = image_files(images)
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
            messages = [rgb_to_image(load_image(f), Header()) for f in files]
        # Messages are built once; each publish only stamps the header (publish serialises).
        self._messages = itertools.cycle(messages)
        self.create_timer(1.0 / rate, self._publish)
        self.get_logger().info(f"looping {len(files)} image(s) from {images} at {rate:g} Hz")

    def _publish(self) -> None:
        msg = next(self._messages)
        msg.header = Header(stamp=self.get_clock().now().to_msg(), frame_id=self._frame_id)
        self._pub.publish(msg)


def _bytes(data: bytes) -> array.array:
    """uint8[] field value; array.array skips the message setter's per-byte check."""
    return array.array("B", data)


def main(args: list[str] | None = None) -> int:
    return run_node(DemoImagePublisher, "demo_image_publisher", args)
