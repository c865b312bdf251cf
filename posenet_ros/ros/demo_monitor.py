"""``demo_monitor``: logs FPS, latency and poses per frame once a second; saves annotated frames.

Latency is from the image header stamp to the arrival of its ``poses`` here (same host clock).
Each line also gives the track ids of the last frame and, while ``poses_3d`` arrives, each
person's 3D position (the mean of its valid keypoints, metres in the camera frame).
"""

from __future__ import annotations

import time
from collections import deque
from pathlib import Path

import numpy as np
from PIL import Image as PILImage
from rclpy.node import Node
from rclpy.qos import qos_profile_sensor_data
from sensor_msgs.msg import Image

from posenet_ros.msg import Poses, Poses3D
from posenet_ros.ros.image_conversions import image_to_rgb
from posenet_ros.ros.spin import run_node

WINDOW = 50


class DemoMonitor(Node):
    def __init__(self) -> None:
        super().__init__("demo_monitor")
        self._output_dir = Path(self.declare_parameter("output_dir", "out").value)
        self._save_every = max(1, self.declare_parameter("save_every", 10).value)
        self._output_dir.mkdir(parents=True, exist_ok=True)
        self._arrivals: deque[float] = deque(maxlen=WINDOW)
        self._latencies_ms: deque[float] = deque(maxlen=WINDOW)
        self._pose_counts: deque[int] = deque(maxlen=WINDOW)
        self._frames = 0
        self._images = 0
        self._last_saved = ""
        self._ids: list[int] = []
        self._positions = ""
        self.create_subscription(Poses, "poses", self._on_poses, 10)
        self.create_subscription(Poses3D, "poses_3d", self._on_poses_3d, 10)
        self.create_subscription(Image, "poses/image", self._on_image, qos_profile_sensor_data)
        self.create_timer(1.0, self._report)

    def _on_poses(self, msg: Poses) -> None:
        stamp_ns = msg.header.stamp.sec * 1_000_000_000 + msg.header.stamp.nanosec
        self._latencies_ms.append((self.get_clock().now().nanoseconds - stamp_ns) * 1e-6)
        self._arrivals.append(time.monotonic())
        self._pose_counts.append(len(msg.poses))
        self._frames += 1
        self._ids = [pose.id for pose in msg.poses]

    def _on_poses_3d(self, msg: Poses3D) -> None:
        self._positions = (
            " ".join(f"#{pose.id}@{person_position(pose)}" for pose in msg.poses) or "nobody"
        )

    def _on_image(self, msg: Image) -> None:
        if self._images % self._save_every == 0:
            path = self._output_dir / f"posenet_{self._images:06d}.jpg"
            PILImage.fromarray(np.ascontiguousarray(image_to_rgb(msg))).save(path, quality=90)
            self._last_saved = str(path)
        self._images += 1

    def _report(self) -> None:
        if len(self._arrivals) < 2:
            self.get_logger().info("waiting for poses ...")
            return
        fps = (len(self._arrivals) - 1) / (self._arrivals[-1] - self._arrivals[0])
        median, p99 = np.percentile(self._latencies_ms, [50, 99])
        self.get_logger().info(
            f"frames {self._frames} | {fps:5.1f} FPS | latency {median:5.1f} ms "
            f"(p99 {p99:5.1f}) | poses/frame {self._pose_counts[-1]} | ids {self._ids} | "
            + (f"3D {self._positions} | " if self._positions else "")
            + f"saved {self._last_saved or '-'}"
        )


def person_position(pose) -> str:
    """The mean of the valid keypoints' positions as "(x, y, z) m", or "no depth"."""
    points = [(k.position.x, k.position.y, k.position.z) for k in pose.keypoints if k.valid]
    if not points:
        return "no depth"
    x, y, z = np.mean(points, axis=0)
    return f"({x:+.2f}, {y:+.2f}, {z:.2f}) m"


def main(args: list[str] | None = None) -> int:
    return run_node(DemoMonitor, "demo_monitor", args)
