"""The inference thread: takes the newest frame, converts it, estimates, hands poses on."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from posenet_ros.errors import InvalidImageError
from posenet_ros.ros.diagnostics import NodeStats
from posenet_ros.ros.frame_slot import LatestSlot

ERROR_LOG_PERIOD_S = 5.0


@dataclass(frozen=True, slots=True)
class Frame:
    """An image message as received, with how to turn it into RGB and when it arrived."""

    msg: Any
    to_rgb: Callable[[Any], np.ndarray]
    received_s: float


class InferenceWorker:
    """Runs off the executor so callbacks stay short; a bad frame never stops the loop."""

    def __init__(
        self,
        slot: LatestSlot[Frame],
        estimate: Callable[[np.ndarray], list],
        publish: Callable[[Frame, np.ndarray, list], None],
        stats: NodeStats,
        logger,
    ) -> None:
        self._slot = slot
        self._estimate = estimate
        self._publish = publish
        self._stats = stats
        self._logger = logger
        self._thread = threading.Thread(target=self._run, name="posenet-inference", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self, timeout_s: float) -> None:
        """Close the slot and wait for the frame in progress (at most ``timeout_s``)."""
        self._slot.close()
        self._thread.join(timeout_s)

    def _run(self) -> None:
        while (frame := self._slot.take()) is not None:
            self._process(frame)

    def _process(self, frame: Frame) -> None:
        stats = self._stats
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
            self._publish(frame, rgb, poses)
            stats.stage_time("publish", time.perf_counter() - estimated)
        except InvalidImageError as exc:
            self._fail(f"bad frame dropped: {exc}", bad_frame=True)
        # The thread's boundary: an inference or publish failure is counted and logged, and the
        # loop carries on with the next frame.
        except Exception as exc:
            self._fail(f"frame failed: {type(exc).__name__}: {exc}", bad_frame=False)

    def _fail(self, reason: str, *, bad_frame: bool) -> None:
        self._stats.failed(reason, bad_frame=bad_frame)
        self._logger.error(reason, throttle_duration_sec=ERROR_LOG_PERIOD_S)
