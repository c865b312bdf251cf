"""The inference thread: stage timings, and a bad frame counted without stopping the loop."""

import threading
import time

import numpy as np

from .requirements import require_ros_build

require_ros_build()

from posenet_ros.errors import InvalidImageError  # noqa: E402
from posenet_ros.ros.diagnostics import STAGES, NodeStats  # noqa: E402
from posenet_ros.ros.frame_slot import LatestSlot  # noqa: E402
from posenet_ros.ros.worker import Frame, InferenceWorker  # noqa: E402


class Logger:
    def __init__(self) -> None:
        self.errors: list[str] = []
        self.logged = threading.Event()

    def error(self, message: str, **kwargs) -> None:
        self.errors.append(message)
        self.logged.set()


def to_rgb(msg):
    if msg == "bad":
        raise InvalidImageError("bad encoding")
    return np.zeros((2, 2, 3), np.uint8)


def test_each_stage_of_a_frame_is_timed_and_a_bad_frame_counted():
    slot: LatestSlot[Frame] = LatestSlot()
    stats = NodeStats()
    published = []
    done = threading.Event()

    def publish(frame, rgb, poses):
        published.append((frame.msg, rgb.shape, poses))
        done.set()

    logger = Logger()
    worker = InferenceWorker(slot, lambda rgb: ["pose"], publish, stats, logger)
    worker.start()
    try:
        slot.put(Frame("bad", to_rgb, time.monotonic()))
        assert logger.logged.wait(10.0)
        slot.put(Frame("good", to_rgb, time.monotonic()))
        assert done.wait(10.0)
    finally:
        worker.stop(5.0)
    assert logger.errors == ["bad frame dropped: bad encoding"]
    assert stats.bad_frames == 1
    assert published == [("good", (2, 2, 3), ["pose"])]
    for stage in STAGES:
        median, _ = stats.stage_ms(stage)
        assert median >= 0.0, stage  # timed (NaN until a frame passes the stage)
    median, _ = stats.processing_ms()
    assert median >= 0.0
