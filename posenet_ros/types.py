"""Poses as the core library returns them."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from posenet_ros.keypoints import PART_NAMES


@dataclass(frozen=True, slots=True)
class Pose:
    """One person: an instance score and all 17 keypoints in reference order.

    ``keypoints`` is a float64 array of shape (17, 3) with columns x, y, score; x and y are
    in source-image pixels once the estimator has scaled them back.
    """

    score: float
    keypoints: np.ndarray

    def to_dict(self) -> dict:
        """The JSON form the CLI writes (``score`` and 17 ``part``, ``score``, ``x``, ``y``)."""
        return {
            "score": float(self.score),
            "keypoints": [
                {"part": name, "score": float(s), "x": float(x), "y": float(y)}
                for name, (x, y, s) in zip(PART_NAMES, self.keypoints.tolist(), strict=True)
            ],
        }
