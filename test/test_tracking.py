"""Track ids: one id per person across frames, distinct ids when people cross, new ids after
expiry, never reused, keypoints untouched."""

from __future__ import annotations

import numpy as np
import pytest

from posenet_ros.errors import InvalidConfigError
from posenet_ros.tracking import UNTRACKED, PoseTracker, TrackerConfig
from posenet_ros.types import Pose

FRAME_S = 1 / 30
RNG = np.random.default_rng(7)
# Two body shapes (keypoint offsets from the body centre): a tall and a shorter person.
TALL = RNG.uniform((-35, -110), (35, 110), size=(17, 2))
SHORT = RNG.uniform((-30, -70), (30, 70), size=(17, 2))


def person(shape: np.ndarray, x: float, y: float, noise: float = 1.0) -> Pose:
    keypoints = np.empty((17, 3))
    keypoints[:, :2] = shape + np.array([x, y]) + RNG.normal(0.0, noise, size=(17, 2))
    keypoints[:, 2] = RNG.uniform(0.3, 1.0, size=17)
    return Pose(0.8, keypoints)


def run(tracker: PoseTracker, frames: list[list[Pose]], start: int = 0) -> list[list[int]]:
    return [tracker.update(poses, (start + i) * FRAME_S) for i, poses in enumerate(frames)]


def test_one_person_moving_across_the_image_keeps_one_id() -> None:
    tracker = PoseTracker()
    ids = run(tracker, [[person(TALL, 40 + 12 * f, 200 + 2 * f)] for f in range(45)])
    first = next(i for i, frame in enumerate(ids) if frame[0] != UNTRACKED)
    assert first < 8  # a person in view has an id within 8 frames
    assert {frame[0] for frame in ids[first:]} == {ids[first][0]} and ids[first][0] > 0


def test_the_first_id_comes_after_the_initialization_delay() -> None:
    for delay in (0, 3, 7):
        tracker = PoseTracker(TrackerConfig(initialization_delay=delay, expiry_frames=15))
        ids = run(tracker, [[person(SHORT, 300, 200)] for _ in range(10)])
        assert [frame[0] != UNTRACKED for frame in ids] == [f >= delay for f in range(10)]


def test_two_people_crossing_paths_keep_their_ids() -> None:
    tracker = PoseTracker()
    frames, truth = [], []
    for f in range(60):  # constant velocities; same build; through each other at frame 30
        a = person(SHORT, 100 + 10 * f, 240)
        b = person(SHORT, 700 - 10 * f, 250)
        swap = f % 2 == 1  # list order must not matter
        frames.append([b, a] if swap else [a, b])
        truth.append(("b", "a") if swap else ("a", "b"))
    ids = run(tracker, frames)
    by_person: dict[str, set[int]] = {"a": set(), "b": set()}
    for names, frame_ids in zip(truth[8:], ids[8:], strict=True):
        for name, track_id in zip(names, frame_ids, strict=True):
            by_person[name].add(track_id)
    assert len(by_person["a"]) == 1 and len(by_person["b"]) == 1
    assert by_person["a"] != by_person["b"] and UNTRACKED not in by_person["a"] | by_person["b"]


def test_a_person_back_after_expiry_gets_a_new_id_and_before_it_the_same() -> None:
    config = TrackerConfig(expiry_frames=10, initialization_delay=2)
    for gap, same in ((9, True), (10, False), (25, False)):
        tracker = PoseTracker(config)
        before = run(tracker, [[person(TALL, 300, 240)] for _ in range(10)])[-1][0]
        run(tracker, [[] for _ in range(gap)], start=10)
        after = run(tracker, [[person(TALL, 300, 240)] for _ in range(5)], start=10 + gap)
        if same:
            assert [frame[0] for frame in after] == [before] * 5
        else:
            assert after[0][0] == UNTRACKED and after[-1][0] > before


def test_a_tentative_track_missing_a_frame_starts_over() -> None:
    tracker = PoseTracker(TrackerConfig(initialization_delay=3))
    frames = [[person(TALL, 300, 240)]] * 3 + [[]] + [[person(TALL, 300, 240)]] * 4
    ids = [frame[0] if frame else None for frame in run(tracker, frames)]
    assert ids == [0, 0, 0, None, 0, 0, 0, 1]


def test_unscored_keypoints_jumping_about_do_not_break_a_track() -> None:
    tracker = PoseTracker()
    ids = []
    for f in range(30):
        pose = person(TALL, 200 + 4 * f, 240)
        pose.keypoints[11:, 2] = 0.0  # legs hidden (below min_keypoint_score) ...
        pose.keypoints[11:, :2] = RNG.uniform(0, 600, size=(6, 2))  # ... and anywhere
        ids.append(tracker.update([pose], f * FRAME_S)[0])
    assert ids[4:] == [ids[4]] * 26 and ids[4] > 0


def test_people_entering_and_leaving_leave_the_others_ids_alone() -> None:
    tracker = PoseTracker()
    ids = []
    for f in range(40):
        poses = [person(TALL, 120 + 2 * f, 240)]
        if f >= 10:
            poses.append(person(SHORT, 500 - 2 * f, 260))
        if f < 25:
            poses.append(person(SHORT, 300, 100 + f))
        ids.append(tracker.update(poses, f * FRAME_S))
    assert {frame[0] for frame in ids[4:]} == {ids[4][0]}  # the first person throughout
    entering = {frame[1] for frame in ids[14:]}
    leaving = {frame[-1] for frame in ids[4:25]}
    assert len(entering) == len(leaving) == 1
    assert len({ids[4][0], *entering, *leaving}) == 3 and UNTRACKED not in entering | leaving


def test_a_pose_without_scored_keypoints_is_still_tracked() -> None:
    tracker = PoseTracker(TrackerConfig(initialization_delay=1))
    ids = []
    for f in range(6):
        pose = person(SHORT, 200 + 3 * f, 200)
        pose.keypoints[:, 2] = 0.0
        ids.append(tracker.update([pose], f * FRAME_S)[0])
    assert ids[0] == UNTRACKED and ids[1:] == [ids[1]] * 5 and ids[1] > 0


def test_ids_are_never_reused_even_after_reset() -> None:
    tracker = PoseTracker(TrackerConfig(initialization_delay=0))
    seen: list[int] = []
    for _ in range(3):
        ids = run(tracker, [[person(TALL, 100, 200), person(SHORT, 500, 200)]] * 3)
        assert UNTRACKED not in ids[0]
        seen.extend(ids[-1])
        tracker.reset()
    assert len(set(seen)) == len(seen) == 6


def test_time_going_back_starts_afresh_with_new_ids() -> None:
    tracker = PoseTracker(TrackerConfig(initialization_delay=0))
    old = run(tracker, [[person(TALL, 100, 200)]] * 3, start=100)[-1][0]
    replayed = run(tracker, [[person(TALL, 100, 200)]] * 3, start=0)
    assert all(frame[0] not in (UNTRACKED, old) for frame in replayed)


def test_tracking_leaves_the_keypoints_untouched() -> None:
    tracker = PoseTracker()
    for f in range(12):
        poses = [person(TALL, 100 + 5 * f, 200), person(SHORT, 400, 200 - 3 * f)]
        copies = [pose.keypoints.copy() for pose in poses]
        for pose in poses:
            pose.keypoints.flags.writeable = False  # any write would raise
        tracker.update(poses, f * FRAME_S)
        for pose, copy in zip(poses, copies, strict=True):
            np.testing.assert_array_equal(pose.keypoints, copy)


def test_non_finite_poses_are_not_tracked_and_others_still_are() -> None:
    tracker = PoseTracker(TrackerConfig(initialization_delay=0))
    broken = person(SHORT, 400, 200)
    broken.keypoints[3, 0] = np.nan
    assert tracker.update([broken, person(TALL, 100, 200)], 0.0)[0] == UNTRACKED
    ids = tracker.update([person(TALL, 100, 200), broken], FRAME_S)
    assert ids[0] > 0 and ids[1] == UNTRACKED
    assert tracker.update([], 2 * FRAME_S) == []


def test_bad_timestamps_are_refused() -> None:
    with pytest.raises(InvalidConfigError, match="timestamp_s"):
        PoseTracker().update([], float("nan"))


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"initialization_delay": 8}, "initialization_delay"),
        ({"expiry_frames": 0}, "expiry_frames"),
        ({"distance_threshold": float("nan")}, "distance_threshold"),
        ({"distance_threshold": 0.0}, "distance_threshold"),
        ({"keypoint_threshold": 1.5}, "keypoint_threshold"),
        ({"initialization_delay": True}, "initialization_delay"),
        ({"expiry_frames": 15.0}, "expiry_frames"),
    ],
)
def test_bad_tracker_config_is_refused(changes: dict, message: str) -> None:
    with pytest.raises(InvalidConfigError, match=message):
        TrackerConfig(**changes)
