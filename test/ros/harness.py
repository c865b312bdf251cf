"""A real posenet_node process and an rclpy client talking to it over DDS (loopback)."""

from __future__ import annotations

import array
import io
import os
import queue
import signal
import subprocess
import threading
import time
from pathlib import Path

import numpy as np
import rclpy
from ament_index_python.packages import get_package_prefix
from diagnostic_msgs.msg import DiagnosticArray
from PIL import Image as PILImage
from posenet_ros.msg import Poses, Poses3D
from rcl_interfaces.msg import Parameter as ParameterMsg
from rcl_interfaces.srv import GetParameters, SetParameters
from rclpy.executors import SingleThreadedExecutor
from rclpy.parameter import Parameter
from rclpy.qos import QoSProfile, ReliabilityPolicy, qos_profile_sensor_data
from sensor_msgs.msg import CameraInfo, CompressedImage, Image
from std_msgs.msg import Header
from visualization_msgs.msg import MarkerArray

from posenet_ros.ros.image_conversions import rgb_to_image

IMAGE_TOPIC = "/posenet_test/image"
DEPTH_TOPIC = "/posenet_test/depth"
CAMERA_INFO_TOPIC = "/posenet_test/camera_info"
DATA_DIR = Path(__file__).resolve().parents[2] / "data"
WAIT_S = 60.0  # generous: the first frame may wait for a model export on a busy machine
RESEND_S = 5.0  # a service request unanswered for this long is sent again (see Client._call)


def node_executable() -> Path:
    return Path(get_package_prefix("posenet_ros")) / "lib" / "posenet_ros" / "posenet_node"


class NodeProcess:
    """``posenet_node`` started as ``ros2 run`` would, in its own session (process group)."""

    def __init__(self, *ros_args: str, namespace: str = "") -> None:
        self.output: list[str] = []
        self.proc = subprocess.Popen(
            [
                str(node_executable()),
                "--ros-args",
                "-r",
                f"__ns:={namespace or '/'}",
                "-r",
                f"image:={IMAGE_TOPIC}",
                "-r",
                f"depth:={DEPTH_TOPIC}",
                "-r",
                f"camera_info:={CAMERA_INFO_TOPIC}",
                *ros_args,
            ],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            start_new_session=True,
            env=os.environ.copy(),
        )
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        for line in self.proc.stdout:
            self.output.append(line.rstrip("\n"))

    def alive(self) -> bool:
        return self.proc.poll() is None

    def interrupt(self, timeout_s: float = 30.0) -> tuple[int, float]:
        """SIGINT (as Ctrl-C); returns (exit code, seconds to exit)."""
        start = time.monotonic()
        self.proc.send_signal(signal.SIGINT)
        code = self.proc.wait(timeout_s)
        self._reader.join(5)
        return code, time.monotonic() - start

    def stop(self) -> None:
        """SIGINT, then SIGKILL if that did not end it (a killed process leaves stale shared
        memory ports that slow Fast DDS down for the processes after it)."""
        if self.alive():
            try:
                self.interrupt(timeout_s=10.0)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()

    def log(self) -> str:
        return "\n".join(self.output)


class Client:
    """Publishes test images, collects /poses, sets and reads the node's parameters."""

    def __init__(self, namespace: str = "") -> None:
        self.namespace = namespace
        self.context = rclpy.Context()
        rclpy.init(context=self.context)
        self.node = rclpy.create_node("posenet_test_client", context=self.context)
        self.executor = SingleThreadedExecutor(context=self.context)
        self.executor.add_node(self.node)
        self.poses: queue.Queue[Poses] = queue.Queue()
        self.images: queue.Queue[Image] = queue.Queue()
        self.diagnostics: queue.Queue[DiagnosticArray] = queue.Queue()
        reliable = QoSProfile(depth=5, reliability=ReliabilityPolicy.RELIABLE)
        self.raw = self.node.create_publisher(Image, IMAGE_TOPIC, reliable)
        self.best_effort = self.node.create_publisher(Image, IMAGE_TOPIC, qos_profile_sensor_data)
        self.compressed = self.node.create_publisher(
            CompressedImage, IMAGE_TOPIC + "/compressed", reliable
        )
        self.node.create_subscription(Poses, f"{namespace}/poses", self.poses.put, 10)
        self.node.create_subscription(DiagnosticArray, "/diagnostics", self.diagnostics.put, 10)
        self._image_sub = None
        self._depth_io = None
        self._set = self.node.create_client(SetParameters, f"{namespace}/posenet/set_parameters")
        self._get = self.node.create_client(GetParameters, f"{namespace}/posenet/get_parameters")
        self._stamp_ns = time.time_ns()
        self._thread = threading.Thread(target=self.executor.spin, daemon=True)
        self._thread.start()

    def close(self) -> None:
        self.executor.shutdown()
        self.node.destroy_node()
        rclpy.try_shutdown(context=self.context)
        self._thread.join(5)

    def wait_for_node(self) -> None:
        assert self._set.wait_for_service(WAIT_S), "the node's parameter services never appeared"

    def subscribe_annotated(self) -> None:
        if self._image_sub is None:
            self._image_sub = self.node.create_subscription(
                Image, f"{self.namespace}/poses/image", self.images.put, qos_profile_sensor_data
            )

    def subscribe_3d(self) -> None:
        """Publishers for depth and camera_info, queues ``poses_3d`` and ``markers``."""
        if self._depth_io is not None:
            return
        reliable = QoSProfile(depth=30, reliability=ReliabilityPolicy.RELIABLE)
        self.depth = self.node.create_publisher(Image, DEPTH_TOPIC, reliable)
        self.camera_info = self.node.create_publisher(CameraInfo, CAMERA_INFO_TOPIC, reliable)
        self.poses_3d: queue.Queue[Poses3D] = queue.Queue()
        self.markers: queue.Queue[MarkerArray] = queue.Queue()
        self._depth_io = (
            self.node.create_subscription(
                Poses3D, f"{self.namespace}/poses_3d", self.poses_3d.put, 10
            ),
            self.node.create_subscription(
                MarkerArray, f"{self.namespace}/markers", self.markers.put, 10
            ),
        )

    def wait_matched(self, *publishers, timeout_s: float = WAIT_S) -> None:
        """Until each publisher has a subscriber (a message published earlier may be lost)."""
        deadline = time.monotonic() + timeout_s
        for publisher in publishers:
            while publisher.get_subscription_count() < 1:
                assert time.monotonic() < deadline, f"nobody subscribed to {publisher.topic_name}"
                time.sleep(0.05)

    def wait_poses_3d(self, header: Header, timeout_s: float = WAIT_S) -> Poses3D | None:
        return wait_stamped(self.poses_3d, header, timeout_s)

    def wait_markers(self, header: Header, timeout_s: float = WAIT_S) -> MarkerArray | None:
        """The MarkerArray whose first marker is stamped like ``header``, or None."""
        deadline = time.monotonic() + timeout_s
        while (left := deadline - time.monotonic()) > 0:
            try:
                msg = self.markers.get(timeout=left)
            except queue.Empty:
                return None
            if msg.markers and msg.markers[0].header.stamp == header.stamp:
                return msg
        return None

    # ------------------------------------------------------------------ images in, poses out
    def header(self, frame_id: str = "test_camera") -> Header:
        """A header stamped now, unique to this call (how replies are matched)."""
        self._stamp_ns = max(self._stamp_ns + 1000, time.time_ns())
        header = Header(frame_id=frame_id)
        header.stamp.sec, header.stamp.nanosec = divmod(self._stamp_ns, 1_000_000_000)
        return header

    def infer(self, msg, publisher=None, timeout_s: float = WAIT_S) -> Poses:
        """Publish ``msg`` (re-publishing until matched up with) and return its Poses."""
        publisher = publisher or self._publisher_for(msg)
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            publisher.publish(msg)
            reply = self.wait_poses(msg.header, 1.0)
            if reply is not None:
                return reply
        raise AssertionError(f"no /poses for the image stamped {msg.header.stamp}")

    def wait_poses(self, header: Header, timeout_s: float) -> Poses | None:
        return wait_stamped(self.poses, header, timeout_s)

    def _publisher_for(self, msg):
        return self.compressed if isinstance(msg, CompressedImage) else self.raw

    def raw_image(self, rgb: np.ndarray) -> Image:
        return rgb_to_image(rgb, self.header())

    def compressed_image(self, rgb: np.ndarray, fmt: str = "PNG") -> CompressedImage:
        buffer = io.BytesIO()
        PILImage.fromarray(rgb).save(buffer, format=fmt)
        return CompressedImage(
            header=self.header(), format=fmt.lower(), data=array.array("B", buffer.getvalue())
        )

    # ------------------------------------------------------------------ parameters
    def set_parameters(self, **values):
        request = SetParameters.Request(
            parameters=[Parameter(k, value=v).to_parameter_msg() for k, v in values.items()]
        )
        return self._call(self._set, request).results

    def get_parameters(self, *names: str) -> dict:
        response = self._call(self._get, GetParameters.Request(names=list(names)))
        return {
            name: Parameter.from_parameter_msg(ParameterMsg(name=name, value=value)).value
            for name, value in zip(names, response.values, strict=True)
        }

    def _call(self, client, request):
        """The reply to ``request``, which is sent again while unanswered (up to ``WAIT_S``).

        A service answering before it has matched this client's reply reader drops the reply
        (rmw_fastrtps waits 100 ms, then logs "failed to send response (timeout)":
        ros2/rmw_fastrtps#467), and the client would wait for ever; the parameter requests
        sent here are idempotent, so sending again is safe.
        """
        deadline = time.monotonic() + WAIT_S
        while (left := deadline - time.monotonic()) > 0:
            future = client.call_async(request)
            done = threading.Event()
            future.add_done_callback(lambda _f, done=done: done.set())
            if done.wait(min(RESEND_S, left)):
                return future.result()
            client.remove_pending_request(future)
        raise AssertionError(f"no reply from {client.srv_name}")

    def wait_until_serving(self) -> dict:
        """The node's diagnostics values once no model rebuild is pending."""
        return self.wait_diagnostics(lambda values: values.get("rebuilding") == "false")

    def camera(self, name: str, image_topic: str = "") -> CameraTopics:
        """The topics of camera ``name`` of a multi-camera node in this client's namespace
        (``image_topic``: where its ``image`` is remapped to, if it is)."""
        return CameraTopics(self.node, f"{self.namespace}/{name}", image_topic)

    def wait_statuses(self, predicate) -> dict[str, dict]:
        """The first /diagnostics array, published from now on, whose {status name: values}
        satisfies ``predicate``."""
        after_ns = time.time_ns()
        deadline = time.monotonic() + WAIT_S
        last = {}
        while time.monotonic() < deadline:
            try:
                array_msg = self.diagnostics.get(timeout=2.0)
            except queue.Empty:
                continue
            stamp = array_msg.header.stamp
            if stamp.sec * 1_000_000_000 + stamp.nanosec <= after_ns:
                continue
            last = {s.name: {kv.key: kv.value for kv in s.values} for s in array_msg.status}
            if predicate(last):
                return last
        raise AssertionError(f"diagnostics never matched; last: {last}")

    def wait_diagnostics(self, predicate) -> dict:
        """The first values of any status, published from now on, that satisfy ``predicate``."""
        statuses = self.wait_statuses(lambda found: any(map(predicate, found.values())))
        return next(values for values in statuses.values() if predicate(values))


class CameraTopics:
    """One camera of a multi-camera node, seen from the test: its ``image`` publishers (raw
    reliable and best effort) and its ``poses`` queue, under ``prefix`` (e.g. ``/ns/front``);
    the image on ``image_topic`` instead when given (a remapped camera)."""

    def __init__(self, node, prefix: str, image_topic: str = "") -> None:
        self.prefix = prefix
        image_topic = image_topic or f"{prefix}/image"
        reliable = QoSProfile(depth=5, reliability=ReliabilityPolicy.RELIABLE)
        self.raw = node.create_publisher(Image, image_topic, reliable)
        self.best_effort = node.create_publisher(Image, image_topic, qos_profile_sensor_data)
        self.poses: queue.Queue[Poses] = queue.Queue()
        node.create_subscription(Poses, f"{prefix}/poses", self.poses.put, 10)

    def infer(self, msg, timeout_s: float = WAIT_S) -> Poses:
        """Publish ``msg`` (re-publishing until matched up with) and return its Poses."""
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            self.raw.publish(msg)
            reply = self.wait_poses(msg.header, 1.0)
            if reply is not None:
                return reply
        raise AssertionError(f"no {self.prefix}/poses for the image stamped {msg.header.stamp}")

    def wait_poses(self, header: Header, timeout_s: float) -> Poses | None:
        return wait_stamped(self.poses, header, timeout_s)


def wait_stamped(received: queue.Queue, header: Header, timeout_s: float):
    """The first message in ``received`` stamped like ``header`` (others skipped), or None."""
    deadline = time.monotonic() + timeout_s
    while (left := deadline - time.monotonic()) > 0:
        try:
            msg = received.get(timeout=left)
        except queue.Empty:
            return None
        if msg.header.stamp == header.stamp:
            return msg
    return None
