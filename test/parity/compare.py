"""Compare our poses with the reference's, in the CLI JSON form, pose by pose in order."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True, slots=True)
class PoseDifference:
    """How far one result is from the reference; errors cover the poses both sides found."""

    count: int
    reference_count: int
    max_keypoint_px: float  # Euclidean distance in source-image pixels
    max_score: float  # over pose and keypoint scores
    worst_keypoint: str  # "pose i part" of the largest keypoint distance, for messages

    def within(self, keypoint_px: float, score: float) -> bool:
        return (
            self.count == self.reference_count
            and self.max_keypoint_px <= keypoint_px
            and self.max_score <= score
        )


def compare_poses(ours: list[dict[str, Any]], reference: list[dict[str, Any]]) -> PoseDifference:
    max_px, max_score, worst = 0.0, 0.0, "-"
    for index, (mine, theirs) in enumerate(zip(ours, reference, strict=False)):
        max_score = max(max_score, abs(mine["score"] - theirs["score"]))
        for kp, ref_kp in zip(mine["keypoints"], theirs["keypoints"], strict=True):
            if kp["part"] != ref_kp["part"]:
                raise ValueError(f"keypoint order differs: {kp['part']} vs {ref_kp['part']}")
            distance = math.hypot(kp["x"] - ref_kp["x"], kp["y"] - ref_kp["y"])
            if distance > max_px:
                max_px, worst = distance, f"pose {index} {kp['part']}"
            max_score = max(max_score, abs(kp["score"] - ref_kp["score"]))
    return PoseDifference(len(ours), len(reference), max_px, max_score, worst)
