"""Track ids for poses across frames: Kalman-predicted keypoints, optimal assignment.

Each track holds a constant-velocity Kalman filter per keypoint coordinate (34 per person),
all tracks stepped in one batch by ``simdkalman``; each frame's poses are assigned to the
tracks' predicted keypoints by ``scipy.optimize.linear_sum_assignment`` on the root-mean-square
keypoint distance, gated by ``distance_threshold``. Keypoints scoring at or below
``keypoint_threshold`` are left out of the distance and of the filter update. A new track is
tentative until matched on ``initialization_delay`` further frames in a row (a miss drops it,
as in DeepSORT), then gets the next id; a confirmed track missing from ``expiry_frames`` frames
in a row ends.

Libraries: norfair, the usual choice, tracks keypoint sets natively
with the same kind of filter. Its last release (2.3.0) pins ``numpy<2``; installing it would
downgrade numpy 2.4 to 1.26 under ONNX Runtime, numba and CuPy. Its maintained fork
``norfair-enough`` 2.4.3 installs cleanly and tracked the test scenes right, but at 5 people
on the 2-core development machine it took 0.73 ms per frame right after inference (0.47 ms
alone: Python work of ~80 us per matched track), over the 0.5 ms budget for tracking and 3D
together; this takes 0.44 ms (0.24 ms alone) in the same run. ``norfair-rs`` needs Python
3.12. So the filter and the assignment come from two libraries (``simdkalman``: Kalman
filters vectorised over a batch; scipy's Hungarian solver) and only the track bookkeeping
above is ours.

Ids are positive and never reused within a tracker's life, ``reset`` included. Tracking reads
the keypoints and never changes them.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import simdkalman
from scipy.optimize import linear_sum_assignment

from posenet_ros.errors import InvalidConfigError
from posenet_ros.keypoints import NUM_KEYPOINTS
from posenet_ros.ranges import Range, check_ranges
from posenet_ros.types import Pose

UNTRACKED = 0

TRACKER_RANGES: dict[str, Range] = {
    "distance_threshold": Range(1.0, 10000.0),
    "initialization_delay": Range(0, 7, integer=True),
    "expiry_frames": Range(1, 1000, integer=True),
    "keypoint_threshold": Range(0.0, 1.0),
}

# The motion model, in pixels and frames: per coordinate a position and a velocity. Keypoint
# noise ~2 px; a walking person's keypoints change speed by ~1 px/frame per frame; a new
# keypoint starts still, its speed unknown up to ~5 px/frame.
_FILTER = simdkalman.KalmanFilter(
    state_transition=np.array([[1.0, 1.0], [0.0, 1.0]]),
    process_noise=np.diag([0.25, 1.0]),
    observation_model=np.array([[1.0, 0.0]]),
    observation_noise=4.0,
)
_INITIAL_COVARIANCE = np.diag([4.0, 25.0])
_COORDINATES = 2 * NUM_KEYPOINTS


@dataclass(frozen=True)
class TrackerConfig:
    """Tracking parameters (ranges in ``TRACKER_RANGES``), checked at construction.

    - ``distance_threshold``: largest root-mean-square distance, in image pixels, between a
      pose's keypoints and a track's predicted keypoints for the pose to continue the track.
    - ``initialization_delay``: a new person is matched on this many further frames in a row
      before it gets an id (id on frame ``initialization_delay + 1``, so within 8 frames).
    - ``expiry_frames``: a track missing from this many frames in a row ends; the person,
      seen again, gets a new id.
    - ``keypoint_threshold``: keypoints scoring at or below it count neither in the distance
      nor in the filter update.
    """

    distance_threshold: float = 60.0
    initialization_delay: int = 3
    expiry_frames: int = 15
    keypoint_threshold: float = 0.1

    def __post_init__(self) -> None:
        check_ranges(self, TRACKER_RANGES)


class PoseTracker:
    """Gives each pose a track id: the same person keeps one id from frame to frame.

    Frames are counted, not timed: the filters step once per ``update``. A timestamp earlier
    than the last one (a replayed bag starting over) starts afresh, as ``reset``. Not
    thread-safe: call from one thread.
    """

    def __init__(self, config: TrackerConfig | None = None) -> None:
        self.config = config or TrackerConfig()
        self._last_id = 0
        self.reset()

    def reset(self) -> None:
        """Forget every track; ids handed out so far are not used again."""
        self._last_timestamp = -math.inf
        self._mean = np.empty((0, _COORDINATES, 2, 1))  # per track: position, velocity
        self._covariance = np.empty((0, _COORDINATES, 2, 2))
        self._seen = np.empty((0, _COORDINATES), dtype=bool)  # coordinate measured yet
        self._ids = np.empty(0, dtype=np.int64)  # 0 while tentative
        self._matched = np.empty(0, dtype=np.int64)  # frames matched, counted to the id
        self._missed = np.empty(0, dtype=np.int64)  # frames missed in a row

    def update(self, poses: Sequence[Pose], timestamp_s: float) -> list[int]:
        """One id per pose, in order: > 0 once tracked, ``UNTRACKED`` (0) before.

        Poses with non-finite keypoint coordinates are not tracked (id 0).
        """
        if not math.isfinite(timestamp_s):
            raise InvalidConfigError(f"invalid timestamp_s {timestamp_s!r}: expected a number")
        if timestamp_s < self._last_timestamp:
            self.reset()
        self._last_timestamp = timestamp_s
        stacked = np.array([pose.keypoints for pose in poses], dtype=np.float64)
        keypoints = stacked.reshape(-1, NUM_KEYPOINTS, 3)
        usable = np.flatnonzero(np.isfinite(keypoints).all(axis=(1, 2)))
        keypoints = keypoints[usable]
        points = keypoints[..., :2].reshape(-1, _COORDINATES)
        measured = np.repeat(keypoints[..., 2] > self.config.keypoint_threshold, 2, axis=-1)
        self._drop_lost()
        self._predict()
        detection_for_track = self._assign(points, measured)
        self._correct(detection_for_track, points, measured)
        unmatched = np.ones(len(points), dtype=bool)
        unmatched[detection_for_track[detection_for_track >= 0]] = False
        new = np.flatnonzero(unmatched)
        self._start_tracks(points[new], measured[new])
        detection_for_track = np.concatenate([detection_for_track, new])
        ids = [UNTRACKED] * len(poses)
        for track, detection in enumerate(detection_for_track.tolist()):
            if detection >= 0:
                ids[usable[detection]] = int(self._ids[track])
        return ids

    def _drop_lost(self) -> None:
        tentative = self._ids == 0
        keep = np.where(tentative, self._missed == 0, self._missed < self.config.expiry_frames)
        if keep.all():
            return
        for name in ("_mean", "_covariance", "_seen", "_ids", "_matched", "_missed"):
            setattr(self, name, getattr(self, name)[keep])

    def _predict(self) -> None:
        if len(self._ids):
            mean, covariance = _FILTER.predict_next(
                self._mean.reshape(-1, 2, 1), self._covariance.reshape(-1, 2, 2)
            )
            self._mean = mean.reshape(self._mean.shape)
            self._covariance = covariance.reshape(self._covariance.shape)

    def _assign(self, points: np.ndarray, measured: np.ndarray) -> np.ndarray:
        """Per track, the index of its detection this frame, or -1: confirmed tracks first,
        then tentative ones from the detections left."""
        detection_for_track = np.full(len(self._ids), -1)
        if not len(points) or not len(self._ids):
            return detection_for_track
        predicted = self._mean[..., 0, 0]  # (tracks, 34)
        squared = (points[:, None, :] - predicted[None]) ** 2  # (detections, tracks, 34)
        # Keypoints the detection measured; one that measured none is compared on all.
        weights = np.where(measured.any(axis=1, keepdims=True), measured, True)[:, None, :]
        distance = np.sqrt(2.0 * (squared * weights).sum(-1) / weights.sum(-1))
        free = np.ones(len(points), dtype=bool)
        for stage in (self._ids > 0, self._ids == 0):
            tracks = np.flatnonzero(stage)
            detections = np.flatnonzero(free)
            if not len(tracks) or not len(detections):
                continue
            cost = distance[np.ix_(detections, tracks)]
            rows, columns = linear_sum_assignment(np.minimum(cost, 1e9))
            close = cost[rows, columns] < self.config.distance_threshold
            detection_for_track[tracks[columns[close]]] = detections[rows[close]]
            free[detections[rows[close]]] = False
        return detection_for_track

    def _correct(
        self, detection_for_track: np.ndarray, points: np.ndarray, measured: np.ndarray
    ) -> None:
        """Missed counts, and the filter update of every matched track."""
        hit = detection_for_track >= 0
        self._missed = np.where(hit, 0, self._missed + 1)
        if not hit.any():
            return
        every = hit.all()  # the usual case: no gathering and scattering of track state
        tracks = slice(None) if every else np.flatnonzero(hit)
        detections = detection_for_track if every else detection_for_track[hit]
        observed = np.where(measured[detections], points[detections], np.nan)
        mean, covariance, _ = _FILTER.update(
            self._mean[tracks].reshape(-1, 2, 1),
            self._covariance[tracks].reshape(-1, 2, 2),
            observed.reshape(-1, 1, 1),  # NaN: not measured, the prediction stands
        )
        mean = mean.reshape(-1, _COORDINATES, 2, 1)
        covariance = covariance.reshape(-1, _COORDINATES, 2, 2)
        # A coordinate measured for the first time starts there, still (as norfair does).
        first = measured[detections] & ~self._seen[tracks]
        if first.any():
            mean[first, 0, 0] = points[detections][first]
            mean[first, 1, 0] = 0.0
            covariance[first] = _INITIAL_COVARIANCE
        self._mean[tracks], self._covariance[tracks] = mean, covariance
        self._seen[tracks] |= measured[detections]
        self._matched[tracks] += 1
        self._confirm(np.flatnonzero(hit))

    def _start_tracks(self, points: np.ndarray, measured: np.ndarray) -> None:
        """Tentative tracks for unmatched detections, at rest where they were seen."""
        count = len(points)
        if not count:
            return
        mean = np.zeros((count, _COORDINATES, 2, 1))
        mean[..., 0, 0] = points
        covariance = np.broadcast_to(_INITIAL_COVARIANCE, (count, _COORDINATES, 2, 2))
        self._mean = np.concatenate([self._mean, mean])
        self._covariance = np.concatenate([self._covariance, covariance])
        self._seen = np.concatenate([self._seen, measured])
        self._ids = np.concatenate([self._ids, np.zeros(count, dtype=np.int64)])
        self._matched = np.concatenate([self._matched, np.ones(count, dtype=np.int64)])
        self._missed = np.concatenate([self._missed, np.zeros(count, dtype=np.int64)])
        self._confirm(np.arange(len(self._ids) - count, len(self._ids)))

    def _confirm(self, tracks: np.ndarray) -> None:
        """Tentative tracks matched on enough frames get the next ids."""
        ready = tracks[
            (self._ids[tracks] == 0) & (self._matched[tracks] > self.config.initialization_delay)
        ]
        for track in ready:
            self._last_id += 1
            self._ids[track] = self._last_id
