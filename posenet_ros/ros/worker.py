"""The inference thread: takes the cameras' newest frames in turn, converts, estimates, hands
each camera its poses."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np

from posenet_ros.camera_scheduler import CameraScheduler
from posenet_ros.errors import InvalidImageError
from posenet_ros.ros.diagnostics import NodeStats

ERROR_LOG_PERIOD_S = 5.0


@dataclass(frozen=True, slots=True)
class Frame:
    """An image message as received, with how to turn it into RGB and when it arrived."""

    msg: Any
    to_rgb: Callable[[Any], np.ndarray]
    received_s: float


class Camera(Protocol):
    """What the worker needs of a camera (``CameraIO``): its figures, logger and outputs."""

    stats: NodeStats
    logger: Any

    def publish(self, frame: Frame, rgb: np.ndarray, poses: list) -> None: ...


class InferenceWorker:
    """Runs off the executor so callbacks stay short; a bad frame never stops the loop.

    One model serves every camera: frames come round-robin from ``frames`` (one at a time:
    batching several cameras into one call does not pay on the CPU, see the README).
    """

    def __init__(
        self,
        frames: CameraScheduler[str, Frame],
        cameras: Mapping[str, Camera],
        estimate: Callable[[np.ndarray], list],
        running: Callable[[], bool] = lambda: True,
        on_start: Callable[[], None] = lambda: None,
    ) -> None:
        """``running`` is False once the ROS context is shut down (SIGINT): a frame whose
        publishing fails then is dropped quietly instead of being reported as an error.
        ``on_start`` runs first on the inference thread (where to place it)."""
        self._on_start = on_start
        self._frames = frames
        self._cameras = dict(cameras)
        self._estimate = estimate
        self._running = running
        self._thread = threading.Thread(target=self._run, name="posenet-inference", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self, timeout_s: float) -> None:
        """Close the scheduler and wait for the frame in progress (at most ``timeout_s``)."""
        self._frames.close()
        self._thread.join(timeout_s)

    def _run(self) -> None:
        self._on_start()
        while taken := self._frames.take():
            for name, frame in taken:
                self._process(self._cameras[name], frame)

    def _process(self, camera: Camera, frame: Frame) -> None:
        stats = camera.stats
        try:
            started = time.perf_counter()
            stats.stage_time("handover", time.monotonic() - frame.received_s)
            rgb = frame.to_rgb(frame.msg)
            converted = time.perf_counter()
            poses = self._estimate(rgb)
            estimated = time.perf_counter()
            stats.stage_time("conversion", converted - started)
            stats.stage_time("estimation", estimated - converted)
            stats.processing_time(estimated - started)
            camera.publish(frame, rgb, poses)
            stats.stage_time("publish", time.perf_counter() - estimated)
        except InvalidImageError as exc:
            report_failure(camera, f"bad frame dropped: {exc}", bad_frame=True)
        # The thread's boundary: an inference or publish failure is counted and logged, and the
        # loop carries on with the next frame.
        except Exception as exc:
            if self._running():
                reason = f"frame failed: {type(exc).__name__}: {exc}"
                report_failure(camera, reason, bad_frame=False)


def report_failure(camera: Camera, reason: str, *, bad_frame: bool) -> None:
    """Count a dropped frame in ``camera``'s figures and log why (throttled)."""
    camera.stats.failed(reason, bad_frame=bad_frame)
    camera.logger.error(reason, throttle_duration_sec=ERROR_LOG_PERIOD_S)
