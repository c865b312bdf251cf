"""Live config changes: decode-only at once; rebuilds in the background, old one serving."""

import threading

from posenet_ros.config import EstimatorConfig
from posenet_ros.errors import BackendUnavailableError
from posenet_ros.ros.estimator_holder import EstimatorHolder


class FakeEstimator:
    def __init__(self, config):
        self.config = config

    def needs_rebuild(self, config):
        return self.config.needs_rebuild(config)

    def set_config(self, config):
        assert not self.needs_rebuild(config)
        self.config = config


class GatedBuild:
    """Builds the first estimator at once, later ones only when released."""

    def __init__(self, fail_on=None):
        self.gate = threading.Event()
        self.calls = 0
        self.fail_on = fail_on

    def __call__(self, config):
        self.calls += 1
        if self.calls > 1:
            self.gate.wait()
        if config.backend == self.fail_on:
            raise BackendUnavailableError("no GPU here")
        return FakeEstimator(config)


def make(build):
    ready, failed = threading.Event(), []

    def on_failed(config, exc):
        failed.append((config, exc))
        ready.set()

    holder = EstimatorHolder(EstimatorConfig(), build, lambda _e: ready.set(), on_failed)
    return holder, ready, failed


def test_decode_only_changes_apply_at_once():
    holder, _, _ = make(GatedBuild())
    first = holder.estimator
    holder.apply(EstimatorConfig(score_threshold=0.2))
    assert holder.estimator is first
    assert holder.estimator.config.score_threshold == 0.2
    assert not holder.rebuilding


def test_rebuild_serves_the_old_one_then_switches_with_the_newest_config():
    build = GatedBuild()
    holder, ready, _ = make(build)
    old = holder.estimator
    holder.apply(EstimatorConfig(output_stride=8))
    holder.apply(EstimatorConfig(output_stride=8, min_pose_score=0.3))
    assert holder.rebuilding
    assert holder.estimator is old
    assert build.calls == 2  # the second change did not start another build
    build.gate.set()
    ready.wait()
    assert holder.estimator.config == EstimatorConfig(output_stride=8, min_pose_score=0.3)
    assert not holder.rebuilding


def test_going_back_cancels_a_pending_rebuild():
    build = GatedBuild()
    holder, _, _ = make(build)
    old = holder.estimator
    holder.apply(EstimatorConfig(output_stride=8))
    holder.apply(EstimatorConfig())
    assert not holder.rebuilding
    build.gate.set()
    assert holder.estimator is old


def test_a_failed_rebuild_keeps_the_old_estimator_and_reports():
    build = GatedBuild(fail_on="tensorrt")
    holder, ready, failed = make(build)
    old = holder.estimator
    holder.apply(EstimatorConfig(backend="tensorrt"))
    build.gate.set()
    ready.wait()
    assert holder.estimator is old
    assert not holder.rebuilding
    ((config, exc),) = failed
    assert config.backend == "tensorrt"
    assert isinstance(exc, BackendUnavailableError)
