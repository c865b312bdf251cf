"""The ``posenet`` node: images in, ``posenet_ros/Poses`` (and an annotated image) out.

One model serves every camera of the ``cameras`` parameter (one ``CameraIO`` each: its topics,
track ids and figures); without it the node has one unnamed camera on ``image``.
"""

from __future__ import annotations

import functools

from diagnostic_msgs.msg import DiagnosticArray
from rcl_interfaces.msg import SetParametersResult
from rclpy.node import Node
from rclpy.parameter import Parameter

from posenet_ros.camera_scheduler import CameraScheduler
from posenet_ros.config import MAX_BATCH, REBUILD_FIELDS, EstimatorConfig
from posenet_ros.depth import warm_up as warm_up_depth
from posenet_ros.errors import InvalidConfigError
from posenet_ros.estimator import PoseEstimator
from posenet_ros.pixel_formats import warm_up as warm_up_pixel_formats
from posenet_ros.ros.camera_io import CameraIO
from posenet_ros.ros.diagnostics import NodeStats
from posenet_ros.ros.estimator_holder import EstimatorHolder
from posenet_ros.ros.parameters import (
    CAMERAS,
    PARAMETERS,
    camera_names,
    cameras_change_refused,
    cameras_descriptor,
    check_node_values,
    estimator_config,
    parameter_value,
    people_settings,
)
from posenet_ros.ros.spin import run_node
from posenet_ros.ros.worker import Frame, InferenceWorker
from posenet_ros.thread_placement import keep_off_pinned_cores

DIAGNOSTICS_PERIOD_S = 1.0
SHUTDOWN_JOIN_S = 1.0


class PoseNetNode(Node):
    def __init__(self, **kwargs) -> None:
        super().__init__("posenet", **kwargs)
        for spec in PARAMETERS:
            self.declare_parameter(spec.name, spec.default, spec.descriptor())
        cameras = self.declare_parameter(
            CAMERAS, Parameter.Type.STRING_ARRAY, cameras_descriptor()
        ).value
        self._camera_names = camera_names(cameras)
        self._values = {spec.name: self.get_parameter(spec.name).value for spec in PARAMETERS}
        check_node_values(self._values)
        people = people_settings(self._values)
        self._stats = NodeStats()
        self._frames: CameraScheduler[str, Frame] = CameraScheduler(self._camera_names)
        # Several cameras' frames go through one inference call where the backend batches
        # (a TensorRT engine with a batch profile); ONNX Runtime takes one frame per call.
        max_batch = min(len(self._camera_names), MAX_BATCH)
        self._holder = EstimatorHolder(
            estimator_config(self._values),
            functools.partial(PoseEstimator, max_batch=max_batch),
            self._rebuilt,
            self._rebuild_failed,
        )
        self.get_logger().info(f"backend: {self._backend()}")

        self._diag_pub = self.create_publisher(DiagnosticArray, "/diagnostics", 10)
        self._cameras = [
            CameraIO(
                self,
                name,
                self._values,
                people,
                self._frames,
                self._holder,
                # the unnamed camera of a one-camera node is the node: one set of figures
                NodeStats(self._stats, name) if name else self._stats,
            )
            for name in self._camera_names
        ]
        self.add_on_set_parameters_callback(self._on_set_parameters)
        self.create_timer(DIAGNOSTICS_PERIOD_S, self._publish_diagnostics)

        self._worker = InferenceWorker(
            self._frames,
            {camera.name: camera for camera in self._cameras},
            self._estimate_many,
            batch_size=lambda: self._holder.estimator.max_batch,
            running=self.context.ok,
            on_start=self._place_inference_thread,
        )
        self._worker.start()
        # The numba kernels of the other encodings and of depth: loaded now, not on a frame.
        warm_up_pixel_formats()
        warm_up_depth()

    def destroy_node(self) -> None:
        """Stop the inference thread (waits for the frame in progress), then the node."""
        self._worker.stop(SHUTDOWN_JOIN_S)
        super().destroy_node()

    def _place_inference_thread(self) -> None:
        cpus = keep_off_pinned_cores()
        if cpus is not None:
            self.get_logger().info(
                f"inference thread on CPUs {sorted(cpus)}, clear of the cores the backend "
                "pinned its threads to"
            )

    def _estimate_many(self, images):
        return self._holder.estimator.estimate_many(images)

    def _on_set_parameters(self, params: list[Parameter]) -> SetParametersResult:
        if any(p.name == CAMERAS for p in params):
            return SetParametersResult(
                successful=False, reason=cameras_change_refused(self._camera_names)
            )
        values = dict(self._values) | {p.name: p.value for p in params}
        try:
            check_node_values(values)
            config = estimator_config(values)
            people = people_settings(values)
        except InvalidConfigError as exc:
            return SetParametersResult(successful=False, reason=str(exc))
        self._values = values
        self._holder.apply(config)
        for camera in self._cameras:
            camera.configure(values, people)
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
        """The node's status (all cameras together), then one per named camera."""
        backend, rebuilding, node = (
            self._backend(),
            self._holder.rebuilding,
            self.get_name(),
        )
        dropped = sum(camera.dropped for camera in self._cameras)
        statuses = [self._stats.status(f"{node}: pose estimation", backend, dropped, rebuilding)]
        statuses += [
            camera.stats.status(
                f"{node}: camera {camera.name}", backend, camera.dropped, rebuilding
            )
            for camera in self._cameras
            if camera.name
        ]
        msg = DiagnosticArray(status=statuses)
        msg.header.stamp = self.get_clock().now().to_msg()
        self._diag_pub.publish(msg)


def main(args: list[str] | None = None) -> int:
    """Run the node until SIGINT or a ROS shutdown; exit 1 if it cannot start."""
    return run_node(PoseNetNode, "posenet", args)
