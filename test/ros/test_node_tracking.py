"""Track ids on the real node's /poses: kept across frames, never reused, keypoints unchanged.

Expected keypoints come from the core ``PoseEstimator`` run here on the same pixels: tracking
must leave them exactly as the decoder gives them (smoothing off, the default).
"""

from __future__ import annotations

import numpy as np
import pytest

from .requirements import require_ros_build

require_ros_build()

from posenet_ros.estimator import PoseEstimator  # noqa: E402
from posenet_ros.image_io import load_image  # noqa: E402
from posenet_ros.ros.parameters import PARAMETERS, estimator_config  # noqa: E402

from .harness import DATA_DIR  # noqa: E402

DEFAULTS = {spec.name: spec.default for spec in PARAMETERS}
FIRST_ID_WITHIN = 8  # frames (issue 9)
STEP_PX = 12  # how far the person moves per frame
EXPIRY_FRAMES = 15  # TrackerConfig default


@pytest.fixture(autouse=True)
def defaults_restored(node, client):
    yield
    assert node.alive(), node.log()
    results = client.set_parameters(tracking=True, smoothing=False)
    assert all(r.successful for r in results), [r.reason for r in results]


@pytest.fixture(scope="module")
def estimator() -> PoseEstimator:
    return PoseEstimator(estimator_config(DEFAULTS))


@pytest.fixture(scope="module")
def astronaut() -> np.ndarray:
    return load_image(DATA_DIR / "astronaut.jpg")


def moving(person: np.ndarray, frames: int, step: int = STEP_PX, width: int = 768):
    """The person pasted ``step`` pixels further right on each frame of a grey canvas."""
    height = person.shape[0]
    for k in range(frames):
        canvas = np.full((height, width, 3), 90, np.uint8)
        canvas[:, k * step : k * step + person.shape[1]] = person
        yield canvas


def as_array(msg_pose) -> np.ndarray:
    return np.array([[k.x, k.y, k.score] for k in msg_pose.keypoints], dtype=np.float64)


def assert_core_keypoints(msg, expected) -> None:
    """The decoder's keypoints, up to the float32 of the message fields."""
    assert len(msg.poses) == len(expected)
    for got, want in zip(msg.poses, expected, strict=True):
        assert got.score == pytest.approx(want.score, rel=1e-6, abs=1e-7)
        np.testing.assert_allclose(as_array(got), want.keypoints, rtol=1e-6, atol=1e-4)


def ids_over(client, frames, estimator=None) -> list[list[int]]:
    """The /poses ids per frame; with ``estimator``, each frame's keypoints checked too."""
    ids = []
    for rgb in frames:
        reply = client.infer(client.raw_image(rgb))
        if estimator is not None:
            assert_core_keypoints(reply, estimator.estimate(rgb))
        ids.append([pose.id for pose in reply.poses])
    return ids


def first_tracked(ids: list[list[int]]) -> int:
    return next(k for k, frame in enumerate(ids) if frame and all(frame))


def test_a_moving_person_keeps_one_id_and_its_exact_keypoints(client, astronaut, estimator):
    ids = ids_over(client, moving(astronaut, 12), estimator)
    assert all(len(frame) == 1 for frame in ids), ids
    start = first_tracked(ids)
    assert start < FIRST_ID_WITHIN, ids
    assert all(frame == [0] for frame in ids[:start]), ids
    assert len({frame[0] for frame in ids[start:]}) == 1, ids


def test_two_people_get_distinct_ids(client, astronaut):
    people = np.hstack([astronaut, load_image(DATA_DIR / "astronaut_mirrored.jpg")])
    ids = ids_over(client, [people] * FIRST_ID_WITHIN)
    start = first_tracked(ids)
    tracked = ids[start:]
    assert all(len(set(frame)) == len(frame) >= 2 for frame in tracked), ids
    assert all(frame == tracked[0] for frame in tracked), ids


def test_tracking_off_gives_zero_and_back_on_never_reuses_an_id(client, astronaut, estimator):
    before = ids_over(client, [astronaut] * FIRST_ID_WITHIN)
    seen = {i for frame in before for i in frame if i}
    assert seen, before
    assert client.set_parameters(tracking=False)[0].successful
    off = ids_over(client, [astronaut] * 3, estimator)
    assert all(frame == [0] for frame in off), off
    assert client.set_parameters(tracking=True)[0].successful
    after = ids_over(client, [astronaut] * FIRST_ID_WITHIN)
    new = {i for frame in after[first_tracked(after) :] for i in frame}
    assert new and not new & seen, (before, after)


def test_a_person_back_after_the_track_expired_gets_a_new_id(client, astronaut):
    first = ids_over(client, [astronaut] * FIRST_ID_WITHIN)
    (old,) = first[-1]
    empty = np.full_like(astronaut, 90)
    gone = ids_over(client, [empty] * (EXPIRY_FRAMES + 1))
    assert all(frame == [] for frame in gone), gone
    back = ids_over(client, [astronaut] * FIRST_ID_WITHIN)
    (new,) = back[-1]
    assert new not in (0, old), (first, back)


def test_smoothing_filters_a_moving_person_and_off_restores_the_decoder(
    client, astronaut, estimator
):
    assert client.set_parameters(smoothing=True)[0].successful
    frames = list(moving(astronaut, 10))
    lagging = []
    start = client.header().stamp
    for k, rgb in enumerate(frames):
        msg = client.raw_image(rgb)
        # stamps 1/30 s apart, whatever the machine's speed: the filter's time steps
        msg.header.stamp.sec, msg.header.stamp.nanosec = divmod(
            start.sec * 1_000_000_000 + start.nanosec + k * 33_333_333, 1_000_000_000
        )
        reply = client.infer(msg)
        (want,) = estimator.estimate(rgb)
        (got,) = reply.poses
        if got.id:
            # the filtered nose lags behind the decoder's as the person moves right
            lagging.append(want.keypoints[0, 0] - got.keypoints[0].x)
        else:
            np.testing.assert_allclose(as_array(got), want.keypoints, rtol=1e-6, atol=1e-4)
    assert len(lagging) >= 2, "the person was never tracked"
    # starts on the decoder's keypoints, then behind them, but not behind where tracking began
    assert lagging[0] == pytest.approx(0.0, abs=1e-3), lagging
    assert all(0.5 < lag < k * STEP_PX for k, lag in enumerate(lagging) if k), lagging
    assert client.set_parameters(smoothing=False)[0].successful
    reply = client.infer(client.raw_image(frames[-1]))
    assert_core_keypoints(reply, estimator.estimate(frames[-1]))
