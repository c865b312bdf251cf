"""The ``posenet`` node: images in, ``posenet_ros/Poses`` (and an annotated image) out."""

from __future__ import annotations

import time

from diagnostic_msgs.msg import DiagnosticArray
from rcl_interfaces.msg import SetParametersResult
from rclpy.node import Node
from rclpy.parameter import Parameter
from rclpy.qos import qos_profile_sensor_data
from sensor_msgs.msg import CompressedImage, Image
from std_msgs.msg import Header
from visualization_msgs.msg import MarkerArray

from posenet_ros.config import REBUILD_FIELDS, EstimatorConfig
from posenet_ros.draw import draw_poses
from posenet_ros.errors import InvalidConfigError
from posenet_ros.estimator import PoseEstimator
from posenet_ros.msg import Poses, Poses3D
from posenet_ros.pixel_formats import warm_up
from posenet_ros.ros.depth_input import DepthInput, stamp_s
from posenet_ros.ros.diagnostics import NodeStats
from posenet_ros.ros.estimator_holder import EstimatorHolder
from posenet_ros.ros.frame_slot import LatestSlot
from posenet_ros.ros.image_conversions import compressed_to_rgb, image_to_rgb, rgb_to_image
from posenet_ros.ros.markers import delete_all, markers_msg
from posenet_ros.ros.parameters import (
    PARAMETERS,
    check_node_values,
    estimator_config,
    parameter_value,
    people_settings,
)
from posenet_ros.ros.people import People, PeoplePipeline
from posenet_ros.ros.pose_messages import poses_3d_to_msg, poses_to_msg
from posenet_ros.ros.spin import run_node
from posenet_ros.ros.worker import Frame, InferenceWorker

DIAGNOSTICS_PERIOD_S = 1.0
SHUTDOWN_JOIN_S = 1.0


class PoseNetNode(Node):
    def __init__(self, **kwargs) -> None:
        super().__init__("posenet", **kwargs)
        for spec in PARAMETERS:
            self.declare_parameter(spec.name, spec.default, spec.descriptor())
        self._values = {spec.name: self.get_parameter(spec.name).value for spec in PARAMETERS}
        check_node_values(self._values)
        self._stats = NodeStats()
        self._people = PeoplePipeline(people_settings(self._values))
        self._slot: LatestSlot[Frame] = LatestSlot()
        self._holder = EstimatorHolder(
            estimator_config(self._values), PoseEstimator, self._rebuilt, self._rebuild_failed
        )
        self.get_logger().info(f"backend: {self._backend()}")

        self._poses_pub = self.create_publisher(Poses, "poses", 10)
        self._image_pub = self.create_publisher(Image, "poses/image", qos_profile_sensor_data)
        self._diag_pub = self.create_publisher(DiagnosticArray, "/diagnostics", 10)
        self._poses_3d_pub = self.create_publisher(Poses3D, "poses_3d", 10)
        self._markers_pub = self.create_publisher(MarkerArray, "markers", 10)
        self._depth = DepthInput(self, self._stats)
        self._depth.set_enabled(self._values["use_depth"])
        self._subscription = None
        self._subscribe(self._values["input_transport"])
        self.add_on_set_parameters_callback(self._on_set_parameters)
        self.create_timer(DIAGNOSTICS_PERIOD_S, self._publish_diagnostics)

        self._worker = InferenceWorker(
            self._slot, self._estimate, self._publish, self._stats, self.get_logger()
        )
        self._worker.start()
        warm_up()

    def destroy_node(self) -> None:
        """Stop the inference thread (waits for the frame in progress), then the node."""
        self._worker.stop(SHUTDOWN_JOIN_S)
        super().destroy_node()

    def _subscribe(self, transport: str) -> None:
        if self._subscription is not None:
            self.destroy_subscription(self._subscription)
        if transport == "compressed":
            # image_transport naming: the compressed stream of `image` is `image/compressed`,
            # after remapping of `image`.
            topic = self.resolve_topic_name("image") + "/compressed"
            msg_type, to_rgb = CompressedImage, compressed_to_rgb
        else:
            topic, msg_type, to_rgb = "image", Image, image_to_rgb

        def received(msg) -> None:
            self._stats.frame_received()
            self._slot.put(Frame(msg, to_rgb, time.monotonic()))

        self._subscription = self.create_subscription(
            msg_type, topic, received, qos_profile_sensor_data
        )
        self.get_logger().info(f"subscribed to {self._subscription.topic_name} ({transport})")

    def _estimate(self, rgb):
        return self._holder.estimator.estimate(rgb)

    def _publish(self, frame: Frame, rgb, poses) -> None:
        header = frame.msg.header
        height, width = rgb.shape[:2]
        values = self._values
        use_depth = values["use_depth"]
        depth = (
            self._depth.pair(stamp_s(header.stamp), width, height, values["depth_sync_slop"])
            if use_depth
            else None
        )
        people = self._people.process(poses, self._timestamp_s(frame), depth)
        self._poses_pub.publish(poses_to_msg(people.poses, header, width, height, people.ids))
        if use_depth:
            self._publish_3d(header, people)
        self._stats.frame_done(self._latency_s(frame))
        if values["publish_annotated_image"] and self._image_pub.get_subscription_count():
            config = self._holder.estimator.config
            annotated = draw_poses(
                rgb, people.poses, ids=people.ids, min_keypoint_score=config.min_keypoint_score
            )
            self._image_pub.publish(rgb_to_image(annotated, header))

    def _publish_3d(self, colour_header: Header, people: People) -> None:
        """poses_3d (stamp of the colour image, frame of camera_info) and its markers."""
        header = Header(
            stamp=colour_header.stamp, frame_id=self._depth.frame_id(colour_header.frame_id)
        )
        msg = poses_3d_to_msg(people.poses, people.ids, people.positions, people.valid, header)
        self._poses_3d_pub.publish(msg)
        self._markers_pub.publish(markers_msg(msg))

    def _timestamp_s(self, frame: Frame) -> float:
        """The header stamp; the arrival time for unstamped images."""
        stamp = frame.msg.header.stamp
        return stamp_s(stamp) if stamp.sec or stamp.nanosec else frame.received_s

    def _latency_s(self, frame: Frame) -> float:
        """From the header stamp to now; from arrival for unstamped images."""
        stamp = frame.msg.header.stamp
        if stamp.sec == 0 and stamp.nanosec == 0:
            return time.monotonic() - frame.received_s
        now_ns = self.get_clock().now().nanoseconds
        return (now_ns - (stamp.sec * 1_000_000_000 + stamp.nanosec)) * 1e-9

    def _on_set_parameters(self, params: list[Parameter]) -> SetParametersResult:
        values = dict(self._values) | {p.name: p.value for p in params}
        try:
            check_node_values(values)
            config = estimator_config(values)
            people = people_settings(values)
        except InvalidConfigError as exc:
            return SetParametersResult(successful=False, reason=str(exc))
        transport_changed = values["input_transport"] != self._values["input_transport"]
        depth_off = self._values["use_depth"] and not values["use_depth"]
        self._values = values
        self._holder.apply(config)
        self._people.configure(people)
        self._depth.set_enabled(values["use_depth"])
        if depth_off:
            self._markers_pub.publish(delete_all(Header(stamp=self.get_clock().now().to_msg())))
        if transport_changed:
            self._subscribe(values["input_transport"])
        return SetParametersResult(successful=True)

    def _rebuilt(self, estimator) -> None:
        self.get_logger().info(f"switched to the rebuilt model: {estimator.backend.describe()}")

    def _rebuild_failed(self, config: EstimatorConfig, exc: Exception) -> None:
        """Log why, and put the rebuild parameters back to what still serves."""
        self.get_logger().error(f"model rebuild failed, old model kept: {exc}")
        self._stats.failed(f"rebuild failed: {exc}", bad_frame=False)
        serving = self._holder.estimator.config
        # input_resolution too: on a fixed-size engine (TensorRT) its change is a rebuild.
        names = sorted(REBUILD_FIELDS | {"input_resolution"})
        self.set_parameters([Parameter(n, value=parameter_value(serving, n)) for n in names])

    def _backend(self) -> str:
        return self._holder.estimator.backend.describe()

    def _publish_diagnostics(self) -> None:
        status = self._stats.status(
            f"{self.get_name()}: pose estimation",
            self._backend(),
            self._slot.dropped,
            self._holder.rebuilding,
        )
        msg = DiagnosticArray(status=[status])
        msg.header.stamp = self.get_clock().now().to_msg()
        self._diag_pub.publish(msg)


def main(args: list[str] | None = None) -> int:
    """Run the node until SIGINT or a ROS shutdown; exit 1 if it cannot start."""
    return run_node(PoseNetNode, "posenet", args)
