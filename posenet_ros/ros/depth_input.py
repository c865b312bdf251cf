"""The depth side of the node: ``depth`` and ``camera_info`` subscriptions while ``use_depth``
is on, and the pairing of each colour frame with the depth frame of nearest stamp.

Depth frames are kept as messages and converted only when paired (most are never used at a
colour rate below the depth rate). Every refusal is counted in the node's diagnostics and
logged (throttled); the colour frame then goes on without depth.
"""

from __future__ import annotations

from dataclasses import dataclass

from rclpy.node import Node
from rclpy.qos import qos_profile_sensor_data
from sensor_msgs.msg import CameraInfo, Image

from posenet_ros.depth import Intrinsics, depth_to_metres
from posenet_ros.errors import PoseNetError
from posenet_ros.ros.diagnostics import NodeStats
from posenet_ros.ros.parameters import SINGLE_CAMERA, camera_topic
from posenet_ros.ros.people import DepthView
from posenet_ros.stamp_sync import NearestStamp

WARN_PERIOD_S = 5.0
# Depth frames kept for pairing: 1 s at 30 Hz, more than any colour frame waits in the node.
DEPTH_BUFFER = 30


@dataclass(frozen=True)
class Camera:
    intrinsics: Intrinsics
    frame_id: str
    size: tuple[int, int]  # (width, height) the calibration is for; (0, 0) when not given


def stamp_s(stamp) -> float:
    return stamp.sec + stamp.nanosec * 1e-9


class DepthInput:
    """The depth input of one camera: ``CAMERA/depth`` and ``CAMERA/camera_info`` (``depth``
    and ``camera_info`` for the one camera of a node without ``cameras``)."""

    def __init__(
        self, node: Node, stats: NodeStats, camera: str = SINGLE_CAMERA, logger=None
    ) -> None:
        self._node = node
        self._stats = stats
        self._camera_name = camera
        self._logger = logger or node.get_logger()
        self._subscriptions: list = []
        self._buffer: NearestStamp = NearestStamp(DEPTH_BUFFER)
        self._camera: Camera | None = None
        self._refusal_loggers: dict = {}

    @property
    def enabled(self) -> bool:
        return bool(self._subscriptions)

    def set_enabled(self, enabled: bool) -> None:
        """Subscribe (``depth``, ``camera_info``) or unsubscribe and forget what was received."""
        if enabled == self.enabled:
            return
        if not enabled:
            for subscription in self._subscriptions:
                self._node.destroy_subscription(subscription)
            self._subscriptions = []
            self._buffer.clear()
            self._camera = None
            self._logger.info("depth off: unsubscribed from depth and camera_info")
            return
        self._subscriptions = [
            self._node.create_subscription(
                Image,
                camera_topic(self._camera_name, "depth"),
                self._on_depth,
                qos_profile_sensor_data,
            ),
            self._node.create_subscription(
                CameraInfo,
                camera_topic(self._camera_name, "camera_info"),
                self._on_camera_info,
                qos_profile_sensor_data,
            ),
        ]
        names = " and ".join(s.topic_name for s in self._subscriptions)
        self._logger.info(f"depth on: subscribed to {names}")

    def frame_id(self, fallback: str) -> str:
        """The camera_info's frame (where 3D points are), or ``fallback`` before any."""
        camera = self._camera
        return camera.frame_id if camera is not None else fallback

    def pair(
        self, colour_stamp_s: float, width: int, height: int, slop_s: float
    ) -> DepthView | None:
        """The depth of nearest stamp within ``slop_s`` as a ``DepthView``, or None (counted)."""
        msg = self._buffer.match(colour_stamp_s, slop_s)
        if msg is None:
            self._stats.count("colour_frames_without_depth")
            return None
        if (msg.width, msg.height) != (width, height):
            return self._refuse(
                "depth_size_mismatch",
                f"depth image refused: {msg.width}x{msg.height} is not the colour image's "
                f"{width}x{height} (publish depth aligned to the colour image)",
            )
        camera = self._camera
        if camera is None:
            return self._refuse(
                "depth_without_camera_info",
                f"no usable camera_info yet on {self._camera_info_topic()}: depth not used",
            )
        if camera.size not in ((0, 0), (width, height)):
            return self._refuse(
                "camera_info_size_mismatch",
                f"camera_info is for {camera.size[0]}x{camera.size[1]} images, not the colour "
                f"image's {width}x{height}: its K does not apply, depth not used",
            )
        try:
            depth_m = depth_to_metres(
                msg.data, msg.encoding, msg.height, msg.width, msg.step, msg.is_bigendian
            )
        except PoseNetError as exc:
            return self._refuse("depth_refused", f"depth image refused: {exc}")
        self._stats.count("colour_frames_with_depth")
        return DepthView(depth_m, camera.intrinsics)

    def _on_depth(self, msg: Image) -> None:
        self._stats.count("depth_frames_received")
        self._buffer.add(stamp_s(msg.header.stamp), msg)

    def _on_camera_info(self, msg: CameraInfo) -> None:
        try:
            intrinsics = Intrinsics.from_k(msg.k)
        except PoseNetError as exc:
            self._refuse("camera_info_refused", f"camera_info refused: {exc}")
            return
        self._camera = Camera(intrinsics, msg.header.frame_id, (msg.width, msg.height))

    def _refuse(self, counter: str, reason: str) -> None:
        self._stats.count(counter, reason)
        # rclpy throttles per logger and call site: one child logger per kind of refusal, so
        # that one kind does not silence another.
        if counter not in self._refusal_loggers:
            self._refusal_loggers[counter] = self._logger.get_child(counter)
        self._refusal_loggers[counter].warning(reason, throttle_duration_sec=WARN_PERIOD_S)

    def _camera_info_topic(self) -> str:
        subscriptions = self._subscriptions  # may be emptied by a parameter change meanwhile
        return (
            subscriptions[1].topic_name
            if subscriptions
            else camera_topic(self._camera_name, "camera_info")
        )
