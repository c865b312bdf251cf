"""Live config changes: decode-only at once; rebuilds in the background, old one serving."""

import threading

import pytest

from posenet_ros.config import EstimatorConfig
from posenet_ros.errors import BackendUnavailableError
from posenet_ros.ros.estimator_holder import EstimatorHolder

TIMEOUT_S = 10.0


class FakeEstimator:
    def __init__(self, config):
        self.config = config

    def needs_rebuild(self, config):
        return self.config.needs_rebuild(config)

    def set_config(self, config):
        assert not self.needs_rebuild(config)
        self.config = config


class GatedBuild:
    """Builds the first estimator at once, later ones only when released; records the
    background threads the later ones run in, so a test can wait for their outcome."""

    def __init__(self, fail_on=None):
        self.gate = threading.Event()
        self.calls = 0
        self.fail_on = fail_on
        self.built: list[FakeEstimator] = []

    def __call__(self, config):
        self.calls += 1
        if self.calls > 1 and not self.gate.wait(TIMEOUT_S):
            raise TimeoutError("the test never released the build")
        if config.backend == self.fail_on:
            raise BackendUnavailableError("no GPU here")
        estimator = FakeEstimator(config)
        self.built.append(estimator)
        return estimator


class Events:
    """What the holder reported: ready estimators and failed configs."""

    def __init__(self):
        self.ready, self.failed = [], []
        self.reported = threading.Event()

    def on_ready(self, estimator):
        self.ready.append(estimator)
        self.reported.set()

    def on_failed(self, config, exc):
        self.failed.append((config, exc))
        self.reported.set()


def make(build):
    events = Events()
    return EstimatorHolder(EstimatorConfig(), build, events.on_ready, events.on_failed), events


def rebuild_threads(action):
    """Runs ``action`` and returns the background threads it started."""
    before = set(threading.enumerate())
    action()
    return [t for t in threading.enumerate() if t not in before]


def join(threads):
    for thread in threads:
        thread.join(TIMEOUT_S)
        assert not thread.is_alive(), "the rebuild thread did not finish"


def test_decode_only_changes_apply_at_once():
    holder, _ = make(GatedBuild())
    first = holder.estimator
    holder.apply(EstimatorConfig(score_threshold=0.2))
    assert holder.estimator is first
    assert holder.estimator.config.score_threshold == 0.2
    assert not holder.rebuilding


def test_rebuild_serves_the_old_one_then_switches_with_the_newest_config():
    build = GatedBuild()
    holder, events = make(build)
    old = holder.estimator
    holder.apply(EstimatorConfig(output_stride=8))
    holder.apply(EstimatorConfig(output_stride=8, min_pose_score=0.3))
    assert holder.rebuilding
    assert holder.estimator is old
    assert build.calls == 2  # the second change did not start another build
    build.gate.set()
    assert events.reported.wait(TIMEOUT_S)
    assert holder.estimator.config == EstimatorConfig(output_stride=8, min_pose_score=0.3)
    assert events.ready == [holder.estimator] and events.failed == []
    assert not holder.rebuilding


@pytest.mark.parametrize("fail_on", [None, "tensorrt"], ids=["succeeding", "failing"])
def test_going_back_cancels_a_pending_rebuild(fail_on):
    build = GatedBuild(fail_on=fail_on)
    holder, events = make(build)
    old = holder.estimator
    wanted = EstimatorConfig(output_stride=8, backend=fail_on or "auto")
    threads = rebuild_threads(lambda: holder.apply(wanted))
    holder.apply(EstimatorConfig(score_threshold=0.2))
    assert not holder.rebuilding
    build.gate.set()
    join(threads)
    # The cancelled build ran to its end and was dropped: nothing swapped, nothing reported.
    assert build.calls == 2
    assert holder.estimator is old
    assert holder.estimator.config == EstimatorConfig(score_threshold=0.2)
    assert holder.estimator.config.output_stride == 16
    assert events.ready == [] and events.failed == []
    assert not holder.rebuilding


def test_a_failed_rebuild_keeps_the_old_estimator_and_reports():
    build = GatedBuild(fail_on="tensorrt")
    holder, events = make(build)
    old = holder.estimator
    holder.apply(EstimatorConfig(backend="tensorrt"))
    build.gate.set()
    assert events.reported.wait(TIMEOUT_S)
    assert holder.estimator is old
    assert not holder.rebuilding
    ((config, exc),) = events.failed
    assert config.backend == "tensorrt"
    assert isinstance(exc, BackendUnavailableError)
    assert events.ready == []
