"""The inference thread takes the cameras' newest frames in turn, converts and estimates them;
the publishing thread hands each camera its poses (tracking, messages, publishing) meanwhile."""

from __future__ import annotations

import contextlib
import queue
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np

from posenet_ros.camera_scheduler import CameraScheduler
from posenet_ros.errors import InvalidImageError
from posenet_ros.image_io import check_image_array
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


@dataclass(frozen=True, slots=True)
class Estimated:
    """A frame's poses, for its camera to publish."""

    camera: Camera
    frame: Frame
    rgb: np.ndarray
    poses: list


class InferenceWorker:
    """Runs off the executor so callbacks stay short; a bad frame never stops the loop.

    One model serves every camera: frames come round-robin from ``frames``, as many per turn
    as ``batch_size()`` (the estimator's ``max_batch``: 1 on the CPU, where a batch does not
    pay, see the README), and go through ``estimate_many`` in one call. Each camera then
    publishes on a second thread while the next turn is estimated: on a GPU backend inference
    leaves the CPU free for tracking and messages (on a CPU both threads share the cores, and
    alternated runs measured no difference either way, see the README).
    """

    def __init__(
        self,
        frames: CameraScheduler[str, Frame],
        cameras: Mapping[str, Camera],
        estimate_many: Callable[[list[np.ndarray]], list[list]],
        batch_size: Callable[[], int] = lambda: 1,
        running: Callable[[], bool] = lambda: True,
        on_start: Callable[[], None] = lambda: None,
    ) -> None:
        """``running`` is False once the ROS context is shut down (SIGINT): a frame whose
        publishing fails then is dropped quietly instead of being reported as an error.
        ``on_start`` runs first on the inference thread (where to place it)."""
        self._on_start = on_start
        self._frames = frames
        self._cameras = dict(cameras)
        self._estimate_many = estimate_many
        self._batch_size = batch_size
        self._running = running
        self._thread = threading.Thread(target=self._run, name="posenet-inference", daemon=True)
        # One estimated turn waits while the one before it is published: the next inference
        # overlaps publishing, and a slow publisher holds inference back rather than queueing.
        self._estimated: queue.Queue[list[Estimated] | None] = queue.Queue(maxsize=1)
        self._publisher = threading.Thread(
            target=self._publish_loop, name="posenet-publish", daemon=True
        )

    def start(self) -> None:
        self._publisher.start()
        self._thread.start()

    def stop(self, timeout_s: float) -> None:
        """Close the scheduler and wait for the frames in progress to be estimated and
        published (at most ``timeout_s`` in all)."""
        deadline = time.monotonic() + timeout_s
        self._frames.close()
        self._thread.join(timeout_s)
        with contextlib.suppress(queue.Full):
            self._estimated.put(None, timeout=max(0.0, deadline - time.monotonic()))
        self._publisher.join(max(0.0, deadline - time.monotonic()))

    def _run(self) -> None:
        self._on_start()
        while taken := self._frames.take(self._batch_size()):
            self._process(taken)

    def _process(self, taken: list[tuple[str, Frame]]) -> None:
        """Convert each frame (a bad one costs only its camera), estimate them all in one
        call, then hand each camera its poses."""
        ready = []
        for name, frame in taken:
            camera = self._cameras[name]
            camera.stats.stage_time("handover", time.monotonic() - frame.received_s)
            started = time.perf_counter()
            with self._reported(camera):
                rgb = check_image_array(frame.to_rgb(frame.msg))
                ready.append((camera, frame, rgb, time.perf_counter() - started))
        if not ready:
            return
        started = time.perf_counter()
        try:
            results = self._estimate_many([rgb for _, _, rgb, _ in ready])
        except Exception as exc:  # the thread's boundary: every camera of the call is told
            for camera, *_ in ready:
                self._report(camera, exc)
            return
        estimated = time.perf_counter()
        turn = []
        for (camera, frame, rgb, conversion_s), poses in zip(ready, results, strict=True):
            stats = camera.stats
            stats.stage_time("conversion", conversion_s)
            stats.stage_time("estimation", estimated - started)
            stats.processing_time(conversion_s + estimated - started)
            turn.append(Estimated(camera, frame, rgb, poses))
        self._estimated.put(turn)

    def _publish_loop(self) -> None:
        while (turn := self._estimated.get()) is not None:
            self._publish(turn)

    def _publish(self, turn: list[Estimated]) -> None:
        for item in turn:
            started = time.perf_counter()
            with self._reported(item.camera):
                item.camera.publish(item.frame, item.rgb, item.poses)
                item.camera.stats.stage_time("publish", time.perf_counter() - started)

    @contextlib.contextmanager
    def _reported(self, camera: Camera) -> Iterator[None]:
        """The thread's boundary for one camera's step: a failure is counted and logged for
        that camera, and the loop carries on."""
        try:
            yield
        except Exception as exc:
            self._report(camera, exc)

    def _report(self, camera: Camera, exc: Exception) -> None:
        if isinstance(exc, InvalidImageError):
            report_failure(camera, f"bad frame dropped: {exc}", bad_frame=True)
        elif self._running():
            report_failure(camera, f"frame failed: {type(exc).__name__}: {exc}", bad_frame=False)


def report_failure(camera: Camera, reason: str, *, bad_frame: bool) -> None:
    """Count a dropped frame in ``camera``'s figures and log why (throttled)."""
    camera.stats.failed(reason, bad_frame=bad_frame)
    camera.logger.error(reason, throttle_duration_sec=ERROR_LOG_PERIOD_S)
