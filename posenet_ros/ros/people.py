"""The per-frame people pipeline after pose estimation: track -> smooth -> 3D (no ROS imports).

Tracking only assigns ids: the keypoints stay the decoder's output unless smoothing is on.
Settings change live (parameter callbacks) while the inference thread runs frames, so the
stages are swapped under a lock.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from posenet_ros.depth import DepthConfig, Intrinsics, poses_3d
from posenet_ros.keypoints import NUM_KEYPOINTS
from posenet_ros.smoothing import KeypointSmoother, SmoothingConfig
from posenet_ros.tracking import UNTRACKED, PoseTracker
from posenet_ros.types import Pose


@dataclass(frozen=True)
class PeopleSettings:
    tracking: bool = True
    smoothing: bool = False
    smoothing_config: SmoothingConfig = field(default_factory=SmoothingConfig)
    depth_config: DepthConfig = field(default_factory=DepthConfig)


@dataclass(frozen=True)
class DepthView:
    """A depth image in metres ((H, W) float32, NaN = no reading), aligned with the colour
    image, and the intrinsics of the camera both share."""

    depth_m: np.ndarray
    intrinsics: Intrinsics


@dataclass(frozen=True)
class People:
    """One frame's people: poses as published (smoothed when on), their track ids, and per
    pose (17, 3) positions in metres (NaN where invalid) with a (17,) validity mask (all
    invalid without depth)."""

    poses: list[Pose]
    ids: list[int]
    positions: list[np.ndarray]
    valid: list[np.ndarray]


class PeoplePipeline:
    def __init__(self, settings: PeopleSettings | None = None) -> None:
        self._lock = threading.Lock()
        self._settings = settings or PeopleSettings()
        self._tracker = PoseTracker()
        self._smoother = KeypointSmoother(self._settings.smoothing_config)

    def configure(self, settings: PeopleSettings) -> None:
        """Apply new settings; tracks and filter state are dropped when their stage turns off
        (or the filter's parameters change), so a stage turned back on starts afresh."""
        with self._lock:
            old, self._settings = self._settings, settings
            if old.tracking and not settings.tracking:
                self._tracker.reset()
            if old.smoothing_config != settings.smoothing_config:
                self._smoother = KeypointSmoother(settings.smoothing_config)
            elif old.smoothing and not settings.smoothing:
                self._smoother.reset()

    def process(self, poses: Sequence[Pose], timestamp_s: float, depth: DepthView | None) -> People:
        with self._lock:
            settings = self._settings
            ids = (
                self._tracker.update(poses, timestamp_s)
                if settings.tracking
                else [UNTRACKED] * len(poses)
            )
            if settings.smoothing:
                poses = self._smoother.smooth(poses, ids, timestamp_s)
        poses = list(poses)
        if depth is None:
            positions = np.full((len(poses), NUM_KEYPOINTS, 3), np.nan)
            valid = np.zeros((len(poses), NUM_KEYPOINTS), dtype=bool)
        else:
            positions, valid = poses_3d(
                poses, depth.depth_m, depth.intrinsics, settings.depth_config
            )
        return People(poses, list(ids), list(positions), list(valid))
