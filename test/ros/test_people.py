"""The per-frame people pipeline (track -> smooth -> 3D) on synthetic poses, no ROS needed."""

from dataclasses import replace

import numpy as np

from posenet_ros.depth import Intrinsics
from posenet_ros.ros.people import DepthView, PeoplePipeline, PeopleSettings
from posenet_ros.types import Pose

FRAME_S = 1 / 30
INTRINSICS = Intrinsics(fx=500.0, fy=500.0, cx=100.0, cy=80.0)


def person(x0: float, frame: int = 0, step: float = 3.0) -> Pose:
    """A 17-keypoint column of points at x0 + frame * step, all scoring 0.9."""
    xs = np.full(17, x0 + frame * step)
    ys = 20.0 + 6.0 * np.arange(17)
    return Pose(0.8, np.column_stack([xs, ys, np.full(17, 0.9)]))


def run(pipeline, frames: int, depth=None, start: int = 0):
    return [
        pipeline.process([person(40.0, k), person(150.0, k)], k * FRAME_S, depth)
        for k in range(start, start + frames)
    ]


def test_tracking_gives_lasting_distinct_ids_and_leaves_keypoints_alone():
    results = run(PeoplePipeline(), 8)
    assert results[0].ids == [0, 0]
    tracked = [r.ids for r in results if all(r.ids)]
    assert tracked and all(ids == tracked[0] for ids in tracked)
    assert len(set(tracked[0])) == 2
    for k, result in enumerate(results):
        for got, want in zip(result.poses, [person(40.0, k), person(150.0, k)], strict=True):
            np.testing.assert_array_equal(got.keypoints, want.keypoints)


def test_tracking_off_gives_zero_ids_and_on_again_new_ones():
    pipeline = PeoplePipeline()
    first = {i for r in run(pipeline, 8) for i in r.ids if i}
    pipeline.configure(PeopleSettings(tracking=False))
    assert all(r.ids == [0, 0] for r in run(pipeline, 3, start=8))
    pipeline.configure(PeopleSettings())
    again = {i for r in run(pipeline, 8, start=11) for i in r.ids if i}
    assert again and not again & first


def test_smoothing_moves_tracked_keypoints_only():
    pipeline = PeoplePipeline(replace(PeopleSettings(), smoothing=True))
    results = run(pipeline, 10)
    for k, result in enumerate(results):
        raw = person(40.0, k).keypoints
        got = result.poses[0].keypoints
        np.testing.assert_array_equal(got[:, 2], raw[:, 2])  # scores untouched
        if result.ids[0] == 0 or k == next(i for i, r in enumerate(results) if r.ids[0]):
            np.testing.assert_array_equal(got, raw)  # untracked, or the filter's first frame
        else:
            assert (got[:, 0] < raw[:, 0]).all()  # lags behind the rightward move


def test_without_depth_every_keypoint_is_invalid():
    result = run(PeoplePipeline(), 1)[0]
    assert [v.tolist() for v in result.valid] == [[False] * 17] * 2
    assert all(np.isnan(p).all() for p in result.positions)


def test_depth_lifts_every_pose_by_back_projection():
    depth = DepthView(np.full((160, 200), 2.0, np.float32), INTRINSICS)
    result = run(PeoplePipeline(), 1, depth)[0]
    for pose, positions, valid in zip(result.poses, result.positions, result.valid, strict=True):
        x, y = pose.keypoints[:, 0], pose.keypoints[:, 1]
        inside = (np.floor(y + 0.5) < 160) & (np.floor(x + 0.5) < 200)
        np.testing.assert_array_equal(valid, inside)
        expected = np.column_stack([(x - 100.0) * 2.0 / 500.0, (y - 80.0) * 2.0 / 500.0])
        np.testing.assert_allclose(positions[inside, :2], expected[inside], atol=1e-9)
        np.testing.assert_allclose(positions[inside, 2], 2.0)


def test_depth_settings_apply_on_configure():
    depth = DepthView(np.full((160, 200), 2.0, np.float32), INTRINSICS)
    pipeline = PeoplePipeline()
    settings = PeopleSettings()
    pipeline.configure(
        replace(settings, depth_config=replace(settings.depth_config, depth_max=1.5))
    )
    result = run(pipeline, 1, depth)[0]
    assert not any(v.any() for v in result.valid)
