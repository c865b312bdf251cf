"""Track ids for poses across frames: norfair's Kalman-predicted keypoint tracking.

Library: ``norfair-enough``, the maintained fork of Tryolabs' ``norfair`` (same ``norfair``
module and API). norfair tracks sets of points natively: one constant-velocity Kalman filter
over all 17 keypoints of a person, keypoints scoring at or below a threshold left out of the
update, detections matched greedily to the tracks' predicted keypoints, a hit counter for
initialisation and expiry. ``norfair`` itself (2.3.0, its last release) pins ``numpy<2`` and
``filterpy<2``: installing it here would downgrade numpy 2.4 to 1.26 under ONNX Runtime, numba
and CuPy, so it cannot be used. The fork needs only numpy >= 1.26, scipy and rich, supports
Python 3.10+, and vendors the Kalman filter. ``norfair-rs`` (a Rust port) needs Python 3.12.

Distance: scipy's ``euclidean`` over the 34 stacked coordinates (vectorised; norfair runs a
Python function per detection/track pair otherwise), i.e. the root-mean-square keypoint
distance times sqrt(17); ``TrackerConfig.distance_threshold`` is that RMS distance in
source-image pixels.

Ids: norfair's per-tracker counter plus the count of earlier trackers' ids, so ``reset`` never
hands out an id again. Tracking reads the keypoints and never changes them.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from norfair import Detection, Tracker

from posenet_ros.errors import InvalidConfigError
from posenet_ros.keypoints import NUM_KEYPOINTS
from posenet_ros.ranges import Range, check_ranges
from posenet_ros.types import Pose

UNTRACKED = 0

TRACKER_RANGES: dict[str, Range] = {
    "distance_threshold": Range(1.0, 10000.0),
    "initialization_delay": Range(0, 7, integer=True),
    "expiry_frames": Range(2, 1000, integer=True),
    "keypoint_threshold": Range(0.0, 1.0),
}


@dataclass(frozen=True)
class TrackerConfig:
    """Tracking parameters (ranges in ``TRACKER_RANGES``), checked at construction.

    - ``distance_threshold``: largest root-mean-square distance, in image pixels, between a
      pose's keypoints and a track's predicted keypoints for the pose to continue the track.
    - ``initialization_delay``: a new person is matched on this many further frames before
      it gets an id (id on frame ``initialization_delay + 1``, so within 8 frames).
    - ``expiry_frames``: a track missing from this many frames in a row ends; the person,
      seen again, gets a new id.
    - ``keypoint_threshold``: keypoints scoring at or below it do not update the filter.
    """

    distance_threshold: float = 60.0
    initialization_delay: int = 3
    expiry_frames: int = 15
    keypoint_threshold: float = 0.1

    def __post_init__(self) -> None:
        check_ranges(self, TRACKER_RANGES)
        if self.initialization_delay >= self.expiry_frames - 1:
            raise InvalidConfigError(
                f"invalid initialization_delay {self.initialization_delay}: must be below "
                f"expiry_frames - 1 ({self.expiry_frames - 1})"
            )


class PoseTracker:
    """Gives each pose a track id: the same person keeps one id from frame to frame.

    Frames are counted, not timed: the Kalman filter's step is one ``update`` call. A
    timestamp earlier than the last one (a replayed bag starting over) starts afresh, as
    ``reset``. Not thread-safe: call from one thread.
    """

    def __init__(self, config: TrackerConfig | None = None) -> None:
        self.config = config or TrackerConfig()
        self._id_offset = 0
        self._last_timestamp = -math.inf
        self._frame = 0
        self._tracker = self._new_tracker()

    def update(self, poses: Sequence[Pose], timestamp_s: float) -> list[int]:
        """One id per pose, in order: > 0 once tracked, ``UNTRACKED`` (0) before.

        Poses with non-finite keypoint coordinates are not tracked (id 0).
        """
        if not math.isfinite(timestamp_s):
            raise InvalidConfigError(f"invalid timestamp_s {timestamp_s!r}: expected a number")
        if timestamp_s < self._last_timestamp:
            self.reset()
        self._last_timestamp = timestamp_s
        self._frame += 1
        detections = []
        for index, pose in enumerate(poses):
            points = np.array(pose.keypoints[:, :2], dtype=np.float64)
            if points.shape == (NUM_KEYPOINTS, 2) and np.isfinite(points).all():
                scores = np.array(pose.keypoints[:, 2], dtype=np.float64)
                detections.append(Detection(points, scores=scores, data=(self._frame, index)))
        ids = [UNTRACKED] * len(poses)
        for tracked in self._tracker.update(detections):
            frame, index = tracked.last_detection.data
            if frame == self._frame:
                ids[index] = self._id_offset + tracked.id
        return ids

    def reset(self) -> None:
        """Forget every track; ids handed out so far are not used again."""
        self._id_offset += self._tracker.total_object_count
        self._last_timestamp = -math.inf
        self._tracker = self._new_tracker()

    def _new_tracker(self) -> Tracker:
        config = self.config
        return Tracker(
            distance_function="euclidean",
            distance_threshold=config.distance_threshold * math.sqrt(NUM_KEYPOINTS),
            # norfair still matches a track on the frame after its counter ran out.
            hit_counter_max=config.expiry_frames - 1,
            initialization_delay=config.initialization_delay,
            detection_threshold=config.keypoint_threshold,
            past_detections_length=0,
        )
