"""Running figures of the node (FPS, latency, drops, errors) and their /diagnostics status."""

from __future__ import annotations

import threading
import time
from collections import deque

import numpy as np
from diagnostic_msgs.msg import DiagnosticStatus, KeyValue

FPS_WINDOW_S = 5.0
LATENCY_SAMPLES = 200
# A bad frame within this many seconds turns the status to WARN.
RECENT_ERROR_S = 10.0
# Counters of the depth input (always reported, 0 until counted); the *_refused, mismatch and
# without_camera_info ones are problems (they set last_error and turn the status to WARN).
COUNTERS: tuple[str, ...] = (
    "depth_frames_received",
    "colour_frames_with_depth",
    "colour_frames_without_depth",
    "depth_size_mismatch",
    "depth_refused",
    "depth_without_camera_info",
    "camera_info_refused",
    "camera_info_size_mismatch",
)
# Where a frame's time goes in the node, reported as ``<stage>_median_ms``: handover (from the
# subscription callback to the inference thread taking the frame, so it includes waiting for the
# frame before it), conversion (message to RGB), estimation (the core ``estimate``), publish
# (people pipeline, messages, publishing).
STAGES: tuple[str, ...] = ("handover", "conversion", "estimation", "publish")


class NodeStats:
    """Thread-safe counters written by the callbacks and the worker, read by the diagnostics.

    A camera's stats have the node's as ``parent``: every event counted for the camera is
    counted for the node too (the node's status is the sum of its cameras), its errors there
    prefixed with ``source`` (the camera's name).
    """

    def __init__(self, parent: NodeStats | None = None, source: str = "") -> None:
        self._parent = parent
        self._prefix = f"{source}: " if source else ""
        self._lock = threading.Lock()
        self._done_times: deque[float] = deque()
        self._latencies_s: deque[float] = deque(maxlen=LATENCY_SAMPLES)
        self._processing_s: deque[float] = deque(maxlen=LATENCY_SAMPLES)
        self._stage_s = {stage: deque(maxlen=LATENCY_SAMPLES) for stage in STAGES}
        self.received = 0
        self.processed = 0
        self.bad_frames = 0
        self.errors = 0
        self.last_error = ""
        self._last_error_time = -np.inf
        self.counters = dict.fromkeys(COUNTERS, 0)

    def frame_received(self) -> None:
        if self._parent is not None:
            self._parent.frame_received()
        with self._lock:
            self.received += 1

    def frame_done(self, latency_s: float) -> None:
        if self._parent is not None:
            self._parent.frame_done(latency_s)
        now = time.monotonic()
        with self._lock:
            self.processed += 1
            self._done_times.append(now)
            while self._done_times and now - self._done_times[0] > FPS_WINDOW_S:
                self._done_times.popleft()
            self._latencies_s.append(latency_s)

    def processing_time(self, seconds: float) -> None:
        """Conversion + estimation time of one frame (what the worker itself spends)."""
        if self._parent is not None:
            self._parent.processing_time(seconds)
        with self._lock:
            self._processing_s.append(seconds)

    def stage_time(self, stage: str, seconds: float) -> None:
        """Time one frame spent in one of ``STAGES``."""
        if self._parent is not None:
            self._parent.stage_time(stage, seconds)
        with self._lock:
            self._stage_s[stage].append(seconds)

    def stage_ms(self, stage: str) -> tuple[float, float]:
        """(median, p99) in ms of one of ``STAGES``; (nan, nan) before the first frame."""
        with self._lock:
            samples = np.array(self._stage_s[stage])
        return _median_p99_ms(samples)

    def failed(self, reason: str, *, bad_frame: bool) -> None:
        """Count a bad input frame (``bad_frame``) or an inference/publish error."""
        if self._parent is not None:
            self._parent.failed(self._prefix + reason, bad_frame=bad_frame)
        with self._lock:
            if bad_frame:
                self.bad_frames += 1
            else:
                self.errors += 1
            self.last_error = reason
            self._last_error_time = time.monotonic()

    def count(self, name: str, problem: str = "") -> None:
        """Count one event of ``COUNTERS``; a ``problem`` also becomes the last error."""
        if self._parent is not None:
            self._parent.count(name, problem and self._prefix + problem)
        with self._lock:
            self.counters[name] += 1
            if problem:
                self.last_error = problem
                self._last_error_time = time.monotonic()

    def fps(self) -> float:
        with self._lock:
            times = list(self._done_times)
        if len(times) < 2:
            return 0.0
        span = max(time.monotonic() - times[0], times[-1] - times[0])
        return (len(times) - 1) / span if span > 0 else 0.0

    def latency_ms(self) -> tuple[float, float]:
        """(median, p99) in ms over the last frames; (nan, nan) before the first."""
        with self._lock:
            samples = np.array(self._latencies_s)
        return _median_p99_ms(samples)

    def processing_ms(self) -> tuple[float, float]:
        """(median, p99) in ms of the worker's conversion + estimation time."""
        with self._lock:
            samples = np.array(self._processing_s)
        return _median_p99_ms(samples)

    def status(self, name: str, backend: str, dropped: int, rebuilding: bool) -> DiagnosticStatus:
        """One DiagnosticStatus: OK, WARN after a recent error or while rebuilding the model."""
        median, p99 = self.latency_ms()
        processing_median, processing_p99 = self.processing_ms()
        fps = self.fps()
        stages = {f"{stage}_median_ms": f"{self.stage_ms(stage)[0]:.2f}" for stage in STAGES}
        with self._lock:
            recent_error = time.monotonic() - self._last_error_time < RECENT_ERROR_S
            values = (
                {
                    "backend": backend,
                    "fps": f"{fps:.2f}",
                    "latency_median_ms": f"{median:.1f}",
                    "latency_p99_ms": f"{p99:.1f}",
                    "processing_median_ms": f"{processing_median:.1f}",
                    "processing_p99_ms": f"{processing_p99:.1f}",
                }
                | stages
                | {
                    "frames_received": str(self.received),
                    "frames_processed": str(self.processed),
                    "frames_dropped": str(dropped),
                    "bad_frames": str(self.bad_frames),
                    "errors": str(self.errors),
                    "last_error": self.last_error,
                    "rebuilding": str(rebuilding).lower(),
                }
                | {name: str(n) for name, n in self.counters.items()}
            )
        if recent_error:
            level, message = DiagnosticStatus.WARN, f"recent error: {self.last_error}"
        elif rebuilding:
            level, message = (
                DiagnosticStatus.WARN,
                "rebuilding the model; the old one serves",
            )
        else:
            level, message = DiagnosticStatus.OK, "running"
        return DiagnosticStatus(
            level=level,
            name=name,
            message=message,
            hardware_id=backend,
            values=[KeyValue(key=k, value=v) for k, v in values.items()],
        )


def _median_p99_ms(samples_s: np.ndarray) -> tuple[float, float]:
    if samples_s.size == 0:
        return float("nan"), float("nan")
    median, p99 = np.percentile(samples_s * 1e3, [50, 99])
    return float(median), float(p99)
