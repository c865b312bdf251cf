"""The tracking benchmark's workload and bookkeeping, with a stand-in estimator."""

from __future__ import annotations

import numpy as np
import pytest

from posenet_ros import tracking_bench
from posenet_ros.depth import depth_to_metres
from posenet_ros.types import Pose

TEMPLATE = np.column_stack(
    [np.linspace(0, 40, 17), np.linspace(0, 100, 17), np.linspace(0.2, 1.0, 17)]
)


class StandInEstimator:
    def __init__(self, poses: list[Pose]) -> None:
        self.poses = poses
        self.calls = 0

    def estimate(self, image: np.ndarray) -> list[Pose]:
        self.calls += 1
        return self.poses


@pytest.fixture
def estimator(monkeypatch: pytest.MonkeyPatch) -> StandInEstimator:
    stand_in = StandInEstimator([Pose(0.9, TEMPLATE)])
    monkeypatch.setattr(tracking_bench, "PoseEstimator", lambda config: stand_in)
    return stand_in


def test_people_are_scaled_placed_in_the_frame_and_keep_their_scores() -> None:
    sequence = tracking_bench.walking_people(TEMPLATE, people=5, frames=120)
    assert len(sequence) == 120 and all(len(poses) == 5 for poses in sequence)
    xy = np.array([[pose.keypoints[:, :2] for pose in poses] for poses in sequence])
    heights = np.ptp(xy[..., 1], axis=-1)
    assert np.abs(heights - 180).max() < 12  # 180 px tall, give or take the noise
    assert xy[..., 0].min() > 0 and xy[..., 0].max() < 640
    assert xy[..., 1].min() > 0 and xy[..., 1].max() < 480
    np.testing.assert_array_equal(sequence[7][3].keypoints[:, 2], TEMPLATE[:, 2])


def test_the_depth_frame_is_the_tilted_plane() -> None:
    depth = depth_to_metres(tracking_bench.tilted_depth_16uc1(), "16UC1", 480, 640, 1280, False)
    fx, cx = tracking_bench.K[0], tracking_bench.K[2]
    x = (np.arange(640) - cx) / fx * depth[100]  # z + tan(30 deg) x = 2 on every row
    np.testing.assert_allclose(depth[100] + np.tan(np.radians(30)) * x, 2.0, atol=1e-3)
    np.testing.assert_array_equal(depth[0], depth[479])


def test_every_stage_is_timed(estimator: StandInEstimator) -> None:
    in_pipeline, alone = tracking_bench.run_tracking_bench(np.zeros((8, 8, 3), np.uint8), 3, 20)
    stages = {"depth_to_metres", "track", "smooth", "3d", "total"}
    assert set(in_pipeline) == stages | {"estimate"} and set(alone) == stages
    assert all(0 < median <= p90 for median, p90 in [*in_pipeline.values(), *alone.values()])
    assert estimator.calls == 21  # once to find the pose, then once per frame in the pipeline
    text = tracking_bench.format_results(in_pipeline, alone, 3)
    assert "PoseTracker.update" in text and "track + 3d in the pipeline: median" in text


def test_an_image_without_people_is_an_error(
    estimator: StandInEstimator, capsys: pytest.CaptureFixture
) -> None:
    estimator.poses = []
    assert tracking_bench.main(["--frames", "8"]) == 1
    assert "no pose found" in capsys.readouterr().err


def test_bad_arguments_are_refused() -> None:
    with pytest.raises(SystemExit):
        tracking_bench.main(["--people", "0"])
