"""Our pipeline against the reference posenet 2.2.2 in Node, on real photos.

Every keypoint within 0.5 px and every score within 1e-3, with the same number of poses, at
input resolutions 257 and 513, output strides 16 and 8, single and multi pose, flipped or not.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from parity.cases import CASES, KEYPOINT_TOLERANCE_PX, SCORE_TOLERANCE, ParityCase
from parity.compare import compare_poses
from posenet_ros.estimator import PoseEstimator
from posenet_ros.image_io import load_image

pytestmark = pytest.mark.parity


@pytest.fixture(scope="session")
def estimate(parity_images: dict[str, Path]):
    """Our poses (CLI form) for a case; one estimator per output stride, reconfigured per case."""
    estimators: dict[int, PoseEstimator] = {}
    images = {name: load_image(path) for name, path in parity_images.items()}

    def run(case: ParityCase) -> list[dict[str, Any]]:
        estimator = estimators.get(case.output_stride)
        if estimator is None:
            estimator = estimators[case.output_stride] = PoseEstimator(case.config)
        else:
            estimator.set_config(case.config)
        return [pose.to_dict() for pose in estimator.estimate(images[case.image])]

    return run


@pytest.mark.parametrize("case", CASES, ids=str)
def test_matches_reference(case: ParityCase, estimate, reference_results, parity_record) -> None:
    reference = reference_results[case]
    ours = estimate(case)
    difference = compare_poses(ours, reference["poses"])
    parity_record(case, difference)
    assert difference.count == difference.reference_count, (
        f"{difference.count} poses, reference {difference.reference_count}"
    )
    assert difference.max_keypoint_px <= KEYPOINT_TOLERANCE_PX, (
        f"keypoint off by {difference.max_keypoint_px:.3f} px ({difference.worst_keypoint})"
    )
    assert difference.max_score <= SCORE_TOLERANCE, f"score off by {difference.max_score:.2e}"
