"""One camera of the node: its image subscription, its outputs, its depth input, its people
(track ids, smoothing) and its figures.

The node holds one ``CameraIO`` per name of its ``cameras`` parameter (or one unnamed for a
node without it, whose topics are the unprefixed ``image``, ``poses``, ...), and one model
for all of them: frames go from here to the node's ``CameraScheduler``, come back through
``publish`` with the poses the shared estimator found.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Mapping

import numpy as np
from rclpy.node import Node
from rclpy.qos import qos_profile_sensor_data
from sensor_msgs.msg import CompressedImage, Image
from std_msgs.msg import Header
from visualization_msgs.msg import MarkerArray

from posenet_ros.camera_scheduler import CameraScheduler
from posenet_ros.draw import draw_poses
from posenet_ros.errors import InvalidImageError
from posenet_ros.msg import Poses, Poses3D
from posenet_ros.ros.depth_input import DepthInput, stamp_s
from posenet_ros.ros.diagnostics import NodeStats
from posenet_ros.ros.estimator_holder import EstimatorHolder
from posenet_ros.ros.image_conversions import compressed_to_rgb, image_to_rgb, rgb_to_image
from posenet_ros.ros.image_wire import parse_image
from posenet_ros.ros.markers import delete_all, markers_msg
from posenet_ros.ros.parameters import camera_topic
from posenet_ros.ros.people import People, PeoplePipeline, PeopleSettings
from posenet_ros.ros.pose_messages import poses_3d_to_msg, poses_to_msg
from posenet_ros.ros.worker import Frame, report_failure
from posenet_ros.types import Pose


class CameraIO:
    """Topics ``NAME/image`` (or ``NAME/image/compressed``) in; ``NAME/poses``,
    ``NAME/poses/image`` and, with depth, ``NAME/poses_3d``, ``NAME/markers`` out."""

    def __init__(
        self,
        node: Node,
        name: str,
        values: Mapping[str, object],
        people: PeopleSettings,
        frames: CameraScheduler[str, Frame],
        holder: EstimatorHolder,
        stats: NodeStats,
    ) -> None:
        self.name = name
        self.stats = stats
        self.logger = (
            node.get_logger().get_child(name.replace("/", ".")) if name else node.get_logger()
        )
        self._node = node
        self._values = values
        # Orders a use_depth switch-off (its lone DELETEALL) against a frame's 3D output, so
        # no skeleton is published after the clear.
        self._depth_lock = threading.Lock()
        self._frames = frames
        self._holder = holder
        self._people = PeoplePipeline(people)
        self._poses_pub = node.create_publisher(Poses, self._topic("poses"), 10)
        self._image_pub = node.create_publisher(
            Image, self._topic("poses/image"), qos_profile_sensor_data
        )
        self._poses_3d_pub = node.create_publisher(Poses3D, self._topic("poses_3d"), 10)
        self._markers_pub = node.create_publisher(MarkerArray, self._topic("markers"), 10)
        self._depth = DepthInput(node, stats, name, self.logger)
        self._depth.set_enabled(bool(values["use_depth"]))
        self._subscription = None
        self._subscribe(str(values["input_transport"]))

    @property
    def dropped(self) -> int:
        """Frames replaced by a newer one of this camera before inference took them."""
        return self._frames.dropped(self.name)

    def configure(self, values: Mapping[str, object], people: PeopleSettings) -> None:
        """Apply validated parameter values from the next frame on."""
        with self._depth_lock:
            old, self._values = self._values, values
            if old["use_depth"] and not values["use_depth"]:
                self._markers_pub.publish(
                    delete_all(Header(stamp=self._node.get_clock().now().to_msg()))
                )
        self._people.configure(people)
        self._depth.set_enabled(bool(values["use_depth"]))
        if values["input_transport"] != old["input_transport"]:
            self._subscribe(str(values["input_transport"]))

    def publish(self, frame: Frame, rgb: np.ndarray, poses: list[Pose]) -> None:
        """Track (and smooth, place in 3D) this camera's poses and publish them."""
        header = frame.msg.header
        height, width = rgb.shape[:2]
        values = self._values
        use_depth = values["use_depth"]
        depth = (
            self._depth.pair(stamp_s(header.stamp), width, height, values["depth_sync_slop"])
            if use_depth
            else None
        )
        people = self._people.process(poses, _timestamp_s(frame), depth)
        self._poses_pub.publish(poses_to_msg(people.poses, header, width, height, people.ids))
        if use_depth:
            self._publish_3d(header, people)
        self.stats.frame_done(self._latency_s(frame))
        if values["publish_annotated_image"] and self._image_pub.get_subscription_count():
            config = self._holder.estimator.config
            annotated = draw_poses(
                rgb, people.poses, ids=people.ids, min_keypoint_score=config.min_keypoint_score
            )
            self._image_pub.publish(rgb_to_image(annotated, header))

    def _topic(self, topic: str) -> str:
        return camera_topic(self.name, topic)

    def _subscribe(self, transport: str) -> None:
        if self._subscription is not None:
            self._node.destroy_subscription(self._subscription)
        if transport == "compressed":
            # image_transport naming: the compressed stream of `image` is `image/compressed`,
            # after remapping of `image`.
            topic = self._node.resolve_topic_name(self._topic("image")) + "/compressed"
            self._subscription = self._node.create_subscription(
                CompressedImage, topic, self._received_compressed, qos_profile_sensor_data
            )
        else:
            # Serialized: the pixels stay in the received bytes (see image_wire).
            self._subscription = self._node.create_subscription(
                Image, self._topic("image"), self._received_raw, qos_profile_sensor_data, raw=True
            )
        self.logger.info(f"subscribed to {self._subscription.topic_name} ({transport})")

    def _received_raw(self, raw: bytes) -> None:
        self.stats.frame_received()
        try:
            msg = parse_image(raw)
        except InvalidImageError as exc:
            report_failure(self, f"bad frame dropped: {exc}", bad_frame=True)
            return
        self._frames.put(self.name, Frame(msg, image_to_rgb, time.monotonic()))

    def _received_compressed(self, msg: CompressedImage) -> None:
        self.stats.frame_received()
        self._frames.put(self.name, Frame(msg, compressed_to_rgb, time.monotonic()))

    def _publish_3d(self, colour_header: Header, people: People) -> None:
        """poses_3d (stamp of the colour image, frame of camera_info) and its markers."""
        header = Header(
            stamp=colour_header.stamp, frame_id=self._depth.frame_id(colour_header.frame_id)
        )
        msg = poses_3d_to_msg(people.poses, people.ids, people.positions, people.valid, header)
        markers = markers_msg(msg)
        with self._depth_lock:
            if not self._values["use_depth"]:
                return  # switched off while this frame was in flight: its clear went out
            self._poses_3d_pub.publish(msg)
            self._markers_pub.publish(markers)

    def _latency_s(self, frame: Frame) -> float:
        """From the header stamp to now; from arrival for unstamped images."""
        stamp = frame.msg.header.stamp
        if stamp.sec == 0 and stamp.nanosec == 0:
            return time.monotonic() - frame.received_s
        now_ns = self._node.get_clock().now().nanoseconds
        return (now_ns - (stamp.sec * 1_000_000_000 + stamp.nanosec)) * 1e-9


def _timestamp_s(frame: Frame) -> float:
    """The header stamp; the arrival time for unstamped images."""
    stamp = frame.msg.header.stamp
    return stamp_s(stamp) if stamp.sec or stamp.nanosec else frame.received_s
