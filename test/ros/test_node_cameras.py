"""Several cameras through one real posenet_node process over DDS (parameter ``cameras``).

Each camera's expected poses come from the core ``PoseEstimator`` run here on that camera's
pixels, as in test_node.py: "served by the shared model" means "the same poses as a node of
its own would give".
"""

from __future__ import annotations

import array
import queue
import threading
import time

import numpy as np
import pytest

from .requirements import require_ros_build

require_ros_build()

from posenet_ros.msg import Poses3D  # noqa: E402
from rclpy.qos import QoSProfile, ReliabilityPolicy  # noqa: E402
from sensor_msgs.msg import CameraInfo, CompressedImage, Image  # noqa: E402
from std_msgs.msg import Header  # noqa: E402

from posenet_ros.image_io import load_image  # noqa: E402
from posenet_ros.ros.image_conversions import rgb_to_image  # noqa: E402

from .harness import DATA_DIR, WAIT_S, Client, NodeProcess, wait_stamped  # noqa: E402
from .test_node import DEFAULTS, assert_same_poses, bad_raw_frames, core_poses  # noqa: E402

TWO = ("front", "back")
THREE = ("left", "right", "top")
LEFT_REMAPPED = "/posenet_test/left_camera/image_raw"
NODE_STATUS = "posenet: pose estimation"


def status_name(camera: str) -> str:
    return f"posenet: camera {camera}"


class Cameras:
    """A multi-camera node process, a client in its namespace and each camera's topics."""

    def __init__(
        self, namespace: str, names: tuple[str, ...], remapped: dict[str, str] | None = None
    ) -> None:
        remapped = remapped or {}
        remappings = [a for n, t in remapped.items() for a in ("-r", f"{n}/image:={t}")]
        listed = ",".join(names)
        self.node = NodeProcess("-p", f"cameras:=[{listed}]", *remappings, namespace=namespace)
        self.client = Client(namespace=namespace)
        try:
            self.client.wait_for_node()
            self.topics = {name: self.client.camera(name, remapped.get(name, "")) for name in names}
            self.client.wait_matched(*(topics.raw for topics in self.topics.values()))
        except BaseException:
            self.close()
            raise

    def image(self, camera: str, rgb: np.ndarray) -> Image:
        """A frame of ``camera``: a stamp unique to it, its own frame_id."""
        return rgb_to_image(rgb, self.client.header(frame_id=f"{camera}_optical_frame"))

    def close(self) -> None:
        self.client.close()
        self.node.stop()


@pytest.fixture(scope="module")
def two():
    cameras = Cameras("/two_cameras", TWO)
    yield cameras
    cameras.close()


@pytest.fixture(scope="module")
def three():
    # A per-camera remapping, as in a launch file: left reads another topic.
    cameras = Cameras("/three_cameras", THREE, {"left": LEFT_REMAPPED})
    yield cameras
    cameras.close()


@pytest.fixture(autouse=True)
def two_restored(request):
    """Tests on the two-camera node leave it alive and on its default parameters."""
    yield
    if "two" not in request.fixturenames:
        return
    two = request.getfixturevalue("two")
    assert two.node.alive(), two.node.log()
    results = two.client.set_parameters(**DEFAULTS)
    assert all(r.successful for r in results), [r.reason for r in results]
    two.client.wait_until_serving()


@pytest.fixture(scope="module")
def images() -> dict[str, np.ndarray]:
    """A different picture per camera (sizes differ too)."""
    astronaut = load_image(DATA_DIR / "astronaut.jpg")
    return {
        "front": astronaut,
        "back": load_image(DATA_DIR / "cameraman.jpg"),
        "left": load_image(DATA_DIR / "astronaut_mirrored.jpg"),
        "right": load_image(DATA_DIR / "astronaut_zoom.jpg"),
        "top": np.ascontiguousarray(astronaut[::2, ::2]),
    }


def two_statuses(two: Cameras, predicate=lambda statuses: True) -> dict[str, dict]:
    """The next statuses of the two-camera node (the other node publishes on /diagnostics
    too) that satisfy ``predicate``."""
    return two.client.wait_statuses(
        lambda statuses: all(status_name(n) in statuses for n in TWO) and predicate(statuses)
    )


def drain(received: queue.Queue) -> list:
    items = []
    while True:
        try:
            items.append(received.get_nowait())
        except queue.Empty:
            return items


def replies_until(topics, msg) -> list:
    """Every reply on ``topics`` up to the one to ``msg``, which is re-published each second
    until answered."""
    replies = []
    deadline = time.monotonic() + WAIT_S
    while time.monotonic() < deadline:
        topics.raw.publish(msg)
        until = time.monotonic() + 1.0
        while (left := until - time.monotonic()) > 0:
            try:
                reply = topics.poses.get(timeout=left)
            except queue.Empty:
                break
            replies.append(reply)
            if reply.header.stamp == msg.header.stamp:
                return replies
    raise AssertionError(f"no {topics.prefix}/poses for the frame stamped {msg.header.stamp}")


def stamp_ns(header: Header) -> int:
    return header.stamp.sec * 1_000_000_000 + header.stamp.nanosec


def test_each_camera_gets_the_poses_of_its_own_image_with_its_own_header(two, images):
    for topics in two.topics.values():
        drain(topics.poses)
    for _round in range(3):
        sent = {name: two.image(name, images[name]) for name in TWO}
        for name in TWO:  # both waiting at once: the node serves them in turn
            two.topics[name].raw.publish(sent[name])
        for name in TWO:
            topics = two.topics[name]
            reply = topics.wait_poses(sent[name].header, WAIT_S) or topics.infer(sent[name])
            assert reply.header == sent[name].header
            assert (reply.image_width, reply.image_height) == (
                images[name].shape[1],
                images[name].shape[0],
            )
            assert_same_poses(reply, core_poses(images[name]))
    assert core_poses(images["front"]) != core_poses(images["back"])  # the test can tell them


def test_three_cameras_at_different_rates_each_get_only_their_own_poses(three, images):
    rates_hz = {"left": 15.0, "right": 10.0, "top": 5.0}
    assert three.topics["left"].raw.topic_name == LEFT_REMAPPED
    for topics in three.topics.values():
        drain(topics.poses)
    sent: dict[str, dict[int, Header]] = {name: {} for name in THREE}
    start = time.monotonic()
    next_s = dict.fromkeys(THREE, start)
    while (now := time.monotonic()) - start < 3.0:
        for name in THREE:
            if now >= next_s[name]:
                msg = three.image(name, images[name])
                sent[name][stamp_ns(msg.header)] = msg.header
                three.topics[name].raw.publish(msg)
                next_s[name] += 1.0 / rates_hz[name]
        time.sleep(max(0.0, min(next_s.values()) - time.monotonic()))
    # A last frame per camera, re-published until answered (a best-effort sample can be lost
    # on a busy machine): the node answers a camera's frames in order, so all are in by then.
    replies = {}
    for name in THREE:
        last = three.image(name, images[name])
        sent[name][stamp_ns(last.header)] = last.header
        replies[name] = replies_until(three.topics[name], last)
        assert len(replies[name]) >= 2, f"{name}: no frame of the rate phase answered"
    for name in THREE:
        expected = core_poses(images[name])
        for reply in replies[name]:
            assert sent[name].get(stamp_ns(reply.header)) == reply.header, (
                f"{name}/poses answered a frame it was not sent"
            )
            assert_same_poses(reply, expected)


def test_a_slow_camera_is_answered_every_frame_while_another_floods(two, images):
    slow = np.ascontiguousarray(images["back"][::2, ::2])
    flood_msg = two.image("front", images["front"])
    stop = threading.Event()

    def flood() -> None:
        while not stop.is_set():
            flood_msg.header = two.client.header(frame_id="front_optical_frame")
            two.topics["front"].raw.publish(flood_msg)
            time.sleep(0.002)  # ~300-500 Hz here: far faster than the node serves

    for topics in two.topics.values():
        drain(topics.poses)
    before = two_statuses(two)
    flooder = threading.Thread(target=flood, daemon=True)
    flooder.start()
    headers = []
    try:
        for _ in range(20):  # 4 s at 5 Hz
            msg = two.image("back", slow)
            headers.append(msg.header)
            two.topics["back"].raw.publish(msg)
            time.sleep(0.2)
    finally:
        stop.set()
        flooder.join(WAIT_S)
    answered = []
    for header in headers:
        reply = wait_stamped(two.topics["back"].poses, header, WAIT_S)
        assert reply is not None, f"slow frame stamped {header.stamp} not answered"
        answered.append(reply)
    expected = core_poses(slow)
    for reply in answered:
        assert_same_poses(reply, expected)
    statuses = two_statuses(two)
    back, front = statuses[status_name("back")], statuses[status_name("front")]
    assert back["frames_dropped"] == before[status_name("back")]["frames_dropped"]
    assert int(front["frames_dropped"]) > int(before[status_name("front")]["frames_dropped"])
    assert int(front["frames_processed"]) > int(before[status_name("front")]["frames_processed"])


def test_a_camera_sending_only_bad_frames_does_not_disturb_the_others(two, images):
    before = two_statuses(two)
    bad = list(bad_raw_frames(two.client, images["back"][:32, :32]).values())
    for count, msg in enumerate(bad, 1):
        msg.header.frame_id = "back_optical_frame"
        two.topics["back"].raw.publish(msg)
        good = two.image("front", images["front"])
        assert_same_poses(two.topics["front"].infer(good), core_poses(images["front"]))
        bad_before = int(before[status_name("back")]["bad_frames"])
        two_statuses(
            two, lambda s, n=bad_before + count: int(s[status_name("back")]["bad_frames"]) >= n
        )
    assert drain(two.topics["back"].poses) == []
    statuses = two_statuses(two)
    front, back = statuses[status_name("front")], statuses[status_name("back")]
    assert front["bad_frames"] == before[status_name("front")]["bad_frames"]
    assert back["last_error"].startswith("bad frame dropped")
    assert statuses[NODE_STATUS]["last_error"] == "back: " + back["last_error"]
    assert int(statuses[NODE_STATUS]["bad_frames"]) == int(back["bad_frames"]) + int(
        front["bad_frames"]
    )


def test_diagnostics_have_one_status_per_camera_and_the_node_status(two, images):
    for name in TWO:
        two.topics[name].infer(two.image(name, images[name]))
    statuses = two_statuses(
        two, lambda s: all(int(s[status_name(n)]["frames_processed"]) for n in TWO)
    )
    assert set(statuses) == {NODE_STATUS, status_name("front"), status_name("back")}
    keys = {"fps", "latency_median_ms", "frames_dropped", "bad_frames", "frames_processed"}
    for values in statuses.values():
        assert keys <= set(values)
    assert int(statuses[NODE_STATUS]["frames_processed"]) == sum(
        int(statuses[status_name(n)]["frames_processed"]) for n in TWO
    )


def test_changing_cameras_live_is_refused_with_the_reason(two):
    (result,) = two.client.set_parameters(cameras=["front"])
    assert not result.successful
    assert result.reason == (
        "cameras cannot change while the node runs (it serves ['front', 'back']): restart "
        "the node with the new list"
    )
    assert two.client.get_parameters("cameras") == {"cameras": ["front", "back"]}


def test_other_parameters_apply_to_every_camera_live(two, images):
    assert two.client.set_parameters(mode="single", min_keypoint_score=0.5)[0].successful
    two.client.wait_until_serving()
    for name in TWO:
        reply = two.topics[name].infer(two.image(name, images[name]))
        expected = core_poses(images[name], mode="single", min_keypoint_score=0.5)
        assert len(expected) == 1
        assert_same_poses(reply, expected)


def test_depth_is_per_camera(two, images):
    """use_depth subscribes each camera's depth and camera_info and publishes its poses_3d:
    front sees a plane at 2 m, back one at 3 m, each in its own camera frame."""
    assert two.client.set_parameters(use_depth=True)[0].successful
    node = two.client.node
    reliable = QoSProfile(depth=5, reliability=ReliabilityPolicy.RELIABLE)
    z_m = {"front": 2.0, "back": 3.0}
    for name in TWO:
        prefix = two.topics[name].prefix
        depth = node.create_publisher(Image, f"{prefix}/depth", reliable)
        info = node.create_publisher(CameraInfo, f"{prefix}/camera_info", reliable)
        received: queue.Queue[Poses3D] = queue.Queue()
        node.create_subscription(Poses3D, f"{prefix}/poses_3d", received.put, 10)
        two.client.wait_matched(depth, info)
        rgb = images[name]
        height, width = rgb.shape[:2]
        k = [400.0, 0.0, width / 2, 0.0, 400.0, height / 2, 0.0, 0.0, 1.0]
        plane = array.array("B", np.full((height, width), z_m[name], np.float32).tobytes())
        for _attempt in range(10):  # until the node has its first camera_info (discovery)
            colour = two.image(name, rgb)
            camera_header = Header(stamp=colour.header.stamp, frame_id=f"{name}_depth_frame")
            info.publish(CameraInfo(header=camera_header, width=width, height=height, k=k))
            depth.publish(
                Image(
                    header=camera_header,
                    height=height,
                    width=width,
                    encoding="32FC1",
                    step=width * 4,
                    data=plane,
                )
            )
            two.topics[name].infer(colour)
            poses_3d = wait_stamped(received, colour.header, WAIT_S)
            assert poses_3d is not None, f"no {prefix}/poses_3d"
            if poses_3d.header.frame_id == f"{name}_depth_frame":
                break
        assert poses_3d.header.frame_id == f"{name}_depth_frame"
        depths = [k.position.z for pose in poses_3d.poses for k in pose.keypoints if k.valid]
        assert depths and all(z == z_m[name] for z in depths)


def test_invalid_camera_names_stop_the_node_at_start_with_the_reason():
    process = NodeProcess("-p", "cameras:=[front,front]", namespace="/bad_cameras")
    try:
        assert process.proc.wait(WAIT_S) == 1
        process._reader.join(5)
        assert "cannot start: camera 'front' repeated in cameras" in process.log()
    finally:
        process.stop()


def test_compressed_input_is_per_camera_too(two, images):
    """input_transport: compressed resubscribes every camera to NAME/image/compressed."""
    assert two.client.set_parameters(input_transport="compressed")[0].successful
    reliable = QoSProfile(depth=5, reliability=ReliabilityPolicy.RELIABLE)
    for name in TWO:
        topics = two.topics[name]
        publisher = two.client.node.create_publisher(
            CompressedImage, f"{topics.prefix}/image/compressed", reliable
        )
        two.client.wait_matched(publisher)
        png = two.client.compressed_image(images[name], "PNG")
        deadline = time.monotonic() + WAIT_S
        reply = None
        while reply is None and time.monotonic() < deadline:
            publisher.publish(png)
            reply = topics.wait_poses(png.header, 1.0)
        assert reply is not None, f"no {topics.prefix}/poses for a compressed frame"
        assert_same_poses(reply, core_poses(images[name]))
