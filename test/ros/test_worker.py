"""The inference thread: stage timings, cameras served in turn, several cameras' frames in one
call where the estimator batches, a bad frame counted for its camera without stopping the loop."""

import threading
import time

import numpy as np

from .requirements import require_ros_build

require_ros_build()

from posenet_ros.camera_scheduler import CameraScheduler  # noqa: E402
from posenet_ros.errors import InvalidImageError  # noqa: E402
from posenet_ros.ros.diagnostics import STAGES, NodeStats  # noqa: E402
from posenet_ros.ros.worker import Frame, InferenceWorker  # noqa: E402

TIMEOUT_S = 10.0


class Logger:
    def __init__(self) -> None:
        self.errors: list[str] = []
        self.logged = threading.Event()

    def error(self, message: str, **kwargs) -> None:
        self.errors.append(message)
        self.logged.set()


class Camera:
    """What the worker needs of a camera: stats, a logger, publish."""

    def __init__(self, node_stats: NodeStats, name: str) -> None:
        self.stats = NodeStats(node_stats, name)
        self.logger = Logger()
        self.published: list = []
        self.done = threading.Event()

    def publish(self, frame, rgb, poses) -> None:
        self.published.append((frame.msg, rgb.shape, poses))
        self.done.set()


def each(estimate):
    """``estimate_many`` from a one-image ``estimate``."""
    return lambda images: [estimate(image) for image in images]


def to_rgb(msg):
    if msg == "bad":
        raise InvalidImageError("bad encoding")
    return np.zeros((2, 2, 3), np.uint8)


def test_each_stage_of_a_frame_is_timed_and_a_bad_frame_counted():
    node_stats = NodeStats()
    camera = Camera(node_stats, "")
    frames: CameraScheduler[str, Frame] = CameraScheduler([""])
    worker = InferenceWorker(frames, {"": camera}, each(lambda rgb: ["pose"]))
    worker.start()
    try:
        frames.put("", Frame("bad", to_rgb, time.monotonic()))
        assert camera.logger.logged.wait(TIMEOUT_S)
        frames.put("", Frame("good", to_rgb, time.monotonic()))
        assert camera.done.wait(TIMEOUT_S)
    finally:
        worker.stop(5.0)
    assert camera.logger.errors == ["bad frame dropped: bad encoding"]
    assert camera.stats.bad_frames == node_stats.bad_frames == 1
    assert camera.published == [("good", (2, 2, 3), ["pose"])]
    for stats in (camera.stats, node_stats):
        for stage in STAGES:
            median, _ = stats.stage_ms(stage)
            assert median >= 0.0, stage  # timed (NaN until a frame passes the stage)
        median, _ = stats.processing_ms()
        assert median >= 0.0


def test_each_camera_gets_its_own_frames_and_its_own_errors():
    node_stats = NodeStats()
    cameras = {name: Camera(node_stats, name) for name in ("front", "back")}
    frames: CameraScheduler[str, Frame] = CameraScheduler(list(cameras))
    estimated = []

    def estimate(rgb):
        estimated.append(rgb.shape)
        return [f"pose {len(estimated)}"]

    worker = InferenceWorker(frames, cameras, each(estimate))
    worker.start()
    try:
        frames.put("back", Frame("bad", to_rgb, time.monotonic()))
        assert cameras["back"].logger.logged.wait(TIMEOUT_S)
        frames.put("front", Frame("good", to_rgb, time.monotonic()))
        assert cameras["front"].done.wait(TIMEOUT_S)
    finally:
        worker.stop(5.0)
    assert cameras["front"].published == [("good", (2, 2, 3), ["pose 1"])]
    assert cameras["back"].published == []
    assert (cameras["front"].logger.errors, cameras["back"].logger.errors) == (
        [],
        ["bad frame dropped: bad encoding"],
    )
    assert (cameras["front"].stats.bad_frames, cameras["back"].stats.bad_frames) == (0, 1)
    assert node_stats.bad_frames == 1
    assert node_stats.last_error == "back: bad frame dropped: bad encoding"


def test_stop_releases_a_waiting_worker():
    frames: CameraScheduler[str, Frame] = CameraScheduler(["a"])
    worker = InferenceWorker(frames, {"a": Camera(NodeStats(), "a")}, each(lambda rgb: []))
    worker.start()
    worker.stop(TIMEOUT_S)
    assert not worker._thread.is_alive()


def test_the_placement_runs_on_the_inference_thread_before_any_frame():
    frames: CameraScheduler[str, Frame] = CameraScheduler(["a"])
    seen: list[tuple[str, int]] = []
    worker = InferenceWorker(
        frames,
        {"a": Camera(NodeStats(), "a")},
        each(lambda rgb: seen.append(("frame", threading.get_ident())) or []),
        on_start=lambda: seen.append(("placed", threading.get_ident())),
    )
    camera = worker._cameras["a"]
    worker.start()
    frames.put("a", Frame(None, lambda msg: np.zeros((4, 4, 3), np.uint8), time.monotonic()))
    assert camera.done.wait(TIMEOUT_S)
    worker.stop(TIMEOUT_S)
    assert [step for step, _ in seen] == ["placed", "frame"]
    assert seen[0][1] == seen[1][1] == worker._thread.ident


class FailingCamera(Camera):
    def publish(self, frame, rgb, poses) -> None:
        self.done.set()
        raise RuntimeError("publisher's context is invalid")


def test_a_publish_failure_is_reported_while_running_and_quiet_after_shutdown():
    for running, reported in ((True, 1), (False, 0)):
        frames: CameraScheduler[str, Frame] = CameraScheduler([""])
        camera = FailingCamera(NodeStats(), "")
        worker = InferenceWorker(
            frames, {"": camera}, each(lambda rgb: []), running=lambda r=running: r
        )
        worker.start()
        try:
            frames.put("", Frame("good", to_rgb, time.monotonic()))
            assert camera.done.wait(TIMEOUT_S)
        finally:
            worker.stop(TIMEOUT_S)
        assert not worker._thread.is_alive()
        assert camera.stats.errors == reported
        assert len(camera.logger.errors) == reported


def rgb_of(value: int):
    return lambda msg: np.full((2, 2, 3), value, np.uint8)


def test_waiting_frames_of_several_cameras_go_through_one_call_each_getting_its_poses():
    node_stats = NodeStats()
    cameras = {name: Camera(node_stats, name) for name in ("a", "b", "c")}
    frames: CameraScheduler[str, Frame] = CameraScheduler(list(cameras))
    calls: list[list[int]] = []

    def estimate_many(images):
        calls.append([int(image[0, 0, 0]) for image in images])
        return [[f"pose of {int(image[0, 0, 0])}"] for image in images]

    # All three wait before the worker starts: one turn takes them, two per call.
    frames.put("a", Frame("a1", rgb_of(1), time.monotonic()))
    frames.put("b", Frame("bad", to_rgb, time.monotonic()))
    frames.put("c", Frame("c3", rgb_of(3), time.monotonic()))
    worker = InferenceWorker(frames, cameras, estimate_many, batch_size=lambda: 3)
    worker.start()
    try:
        assert cameras["a"].done.wait(TIMEOUT_S)
        assert cameras["c"].done.wait(TIMEOUT_S)
        assert cameras["b"].logger.logged.wait(TIMEOUT_S)
    finally:
        worker.stop(TIMEOUT_S)
    assert calls == [[1, 3]]  # the bad frame costs only its own camera
    assert cameras["a"].published == [("a1", (2, 2, 3), ["pose of 1"])]
    assert cameras["c"].published == [("c3", (2, 2, 3), ["pose of 3"])]
    assert cameras["b"].stats.bad_frames == 1
    for name in ("a", "c"):
        median, _ = cameras[name].stats.stage_ms("estimation")
        assert median >= 0.0


def test_a_failed_batch_call_is_reported_to_each_of_its_cameras_and_the_loop_goes_on():
    node_stats = NodeStats()
    cameras = {name: Camera(node_stats, name) for name in ("a", "b")}
    frames: CameraScheduler[str, Frame] = CameraScheduler(list(cameras))
    failed = threading.Event()

    def estimate_many(images):
        if not failed.is_set():
            failed.set()
            raise RuntimeError("engine lost")
        return [["pose"] for _ in images]

    frames.put("a", Frame("a1", rgb_of(1), time.monotonic()))
    frames.put("b", Frame("b1", rgb_of(2), time.monotonic()))
    worker = InferenceWorker(frames, cameras, estimate_many, batch_size=lambda: 2)
    worker.start()
    try:
        assert cameras["a"].logger.logged.wait(TIMEOUT_S)
        assert cameras["b"].logger.logged.wait(TIMEOUT_S)
        frames.put("b", Frame("b2", rgb_of(2), time.monotonic()))
        assert cameras["b"].done.wait(TIMEOUT_S)
    finally:
        worker.stop(TIMEOUT_S)
    for name in ("a", "b"):
        assert cameras[name].logger.errors == ["frame failed: RuntimeError: engine lost"]
        assert cameras[name].stats.errors == 1
    assert cameras["a"].published == []
    assert cameras["b"].published == [("b2", (2, 2, 3), ["pose"])]


class HeldCamera(Camera):
    """Publishing its first frame waits until ``release`` is set."""

    def __init__(self, node_stats: NodeStats, name: str) -> None:
        super().__init__(node_stats, name)
        self.release = threading.Event()

    def publish(self, frame, rgb, poses) -> None:
        if not self.published:
            assert self.release.wait(TIMEOUT_S)
        super().publish(frame, rgb, poses)


def test_the_next_frame_is_estimated_while_the_last_one_is_published():
    frames: CameraScheduler[str, Frame] = CameraScheduler(["a"])
    camera = HeldCamera(NodeStats(), "a")
    estimated = [threading.Event(), threading.Event()]

    def estimate(rgb):
        estimated[int(rgb[0, 0, 0]) - 1].set()
        return []

    worker = InferenceWorker(frames, {"a": camera}, each(estimate))
    worker.start()
    try:
        frames.put("a", Frame("a1", rgb_of(1), time.monotonic()))
        assert estimated[0].wait(TIMEOUT_S)
        frames.put("a", Frame("a2", rgb_of(2), time.monotonic()))
        # The first frame's publishing is held: the second is estimated all the same.
        assert estimated[1].wait(TIMEOUT_S)
        assert camera.published == []
    finally:
        camera.release.set()
        worker.stop(TIMEOUT_S)  # waits for both to be published
    assert [msg for msg, _, _ in camera.published] == ["a1", "a2"]  # in order
