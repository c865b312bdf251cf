"""The orchestrator with a fake backend (fixed outputs), and once with the real model."""

from __future__ import annotations

import numpy as np
import pytest
from core_fakes import FakeBackend, fixed_outputs

from posenet_ros.config import EstimatorConfig
from posenet_ros.decode.multi_pose import decode_multiple_poses
from posenet_ros.decode.single_pose import decode_single_pose
from posenet_ros.errors import InvalidConfigError, InvalidImageError
from posenet_ros.estimator import PoseEstimator, StageTimings
from posenet_ros.keypoints import PART_IDS
from posenet_ros.preprocess import input_transform

CONFIG = EstimatorConfig(input_resolution=33, output_stride=16)
FRAME = np.random.default_rng(0).integers(0, 256, (40, 60, 3), dtype=np.uint8)


def expected(config: EstimatorConfig, frame: np.ndarray = FRAME) -> list[np.ndarray]:
    """The pipeline written out: decode, then the reference scale-back (and flip)."""
    outputs = fixed_outputs()
    if config.mode == "single":
        poses = [decode_single_pose(outputs.heatmap, outputs.offsets, 16)]
    else:
        poses = decode_multiple_poses(
            *outputs, 16, config.max_pose_detections, config.score_threshold, config.nms_radius
        )
    transform = input_transform(*frame.shape[:2], config)
    return [transform.to_source(pose.keypoints) for pose in poses]


@pytest.mark.parametrize("mode", ["single", "multi"])
@pytest.mark.parametrize("flip", [False, True])
def test_estimate_decodes_and_scales_back(mode: str, flip: bool) -> None:
    config = CONFIG.with_changes(mode=mode, flip_horizontal=flip)
    backend = FakeBackend()
    estimator = PoseEstimator(config, backend)
    poses = estimator.estimate(FRAME)
    want = expected(config)
    assert len(poses) == len(want) >= 1
    for pose, keypoints in zip(poses, want, strict=True):
        np.testing.assert_array_equal(pose.keypoints, keypoints)
    (tensor,) = backend.inputs
    assert tensor.shape == (1, 33, 33, 3) and tensor.dtype == np.float32


def test_flip_mirrors_x_only() -> None:
    plain = PoseEstimator(CONFIG, FakeBackend()).estimate(FRAME)[0].keypoints
    flipped = PoseEstimator(CONFIG.with_changes(flip_horizontal=True), FakeBackend())
    mirrored = flipped.estimate(FRAME)[0].keypoints
    np.testing.assert_allclose(mirrored[:, 0], 60 - 1 - plain[:, 0])
    np.testing.assert_array_equal(mirrored[:, 1:], plain[:, 1:])


def test_scale_factor_mode_uses_per_axis_resolution() -> None:
    backend = FakeBackend()
    config = CONFIG.with_changes(input_resolution=None, image_scale_factor=1.0)
    PoseEstimator(config, backend).estimate(FRAME)
    assert backend.inputs[0].shape == (1, 33, 49, 3)


def test_min_pose_score_drops_weak_poses() -> None:
    estimator = PoseEstimator(CONFIG.with_changes(mode="single"), FakeBackend())
    (pose,) = estimator.estimate(FRAME)
    estimator.set_config(estimator.config.with_changes(min_pose_score=pose.score))
    assert len(estimator.estimate(FRAME)) == 1  # equal scores are kept
    estimator.set_config(estimator.config.with_changes(min_pose_score=min(1.0, pose.score + 0.01)))
    assert estimator.estimate(FRAME) == []


def test_min_keypoint_score_zeroes_weak_keypoints_and_keeps_all_17() -> None:
    estimator = PoseEstimator(CONFIG.with_changes(mode="single"), FakeBackend())
    (raw,) = estimator.estimate(FRAME)
    estimator.set_config(estimator.config.with_changes(min_keypoint_score=0.5))
    (pose,) = estimator.estimate(FRAME)
    weak = raw.keypoints[:, 2] < 0.5
    assert weak.any() and not weak.all()
    assert pose.keypoints.shape == (17, 3)
    np.testing.assert_array_equal(pose.keypoints[weak, 2], 0.0)
    np.testing.assert_array_equal(pose.keypoints[~weak], raw.keypoints[~weak])
    np.testing.assert_array_equal(pose.keypoints[:, :2], raw.keypoints[:, :2])
    assert pose.score == raw.score


def test_set_config_refuses_rebuild_fields_and_invalid_values() -> None:
    estimator = PoseEstimator(CONFIG, FakeBackend())
    with pytest.raises(InvalidConfigError, match="changing output_stride needs a new model"):
        estimator.set_config(CONFIG.with_changes(output_stride=8))
    with pytest.raises(InvalidConfigError, match="changing backend"):
        estimator.set_config(CONFIG.with_changes(backend="onnxruntime"))
    bad = EstimatorConfig(nms_radius=float("nan"))
    with pytest.raises(InvalidConfigError, match="nms_radius"):
        estimator.set_config(bad)
    assert estimator.config == CONFIG
    estimator.set_config(CONFIG.with_changes(input_resolution=65, mode="single"))
    assert estimator.config.input_resolution == 65


def test_backend_stride_must_match() -> None:
    with pytest.raises(InvalidConfigError, match="output_stride 8"):
        PoseEstimator(CONFIG, FakeBackend(output_stride=8))


def test_invalid_config_is_refused_at_construction() -> None:
    with pytest.raises(InvalidConfigError, match="output_stride 32 needs"):
        PoseEstimator(EstimatorConfig(output_stride=32), FakeBackend())


@pytest.mark.parametrize(
    "image",
    [np.zeros((0, 5, 3), np.uint8), np.zeros((5, 5), np.uint8), np.full((5, 5, 3), np.nan)],
)
def test_bad_images_are_refused(image: np.ndarray) -> None:
    with pytest.raises(InvalidImageError):
        PoseEstimator(CONFIG, FakeBackend()).estimate(image)


def test_estimate_timed_reports_every_stage() -> None:
    poses, timings = PoseEstimator(CONFIG, FakeBackend()).estimate_timed(FRAME)
    assert isinstance(timings, StageTimings) and poses
    stages = (timings.preprocess, timings.inference, timings.decode, timings.postprocess)
    assert all(t >= 0.0 for t in stages)
    assert timings.total == pytest.approx(sum(stages))


def test_default_backend_comes_from_the_factory(monkeypatch: pytest.MonkeyPatch) -> None:
    calls = []

    def create_backend(name: str, output_stride: int) -> FakeBackend:
        calls.append((name, output_stride))
        return FakeBackend(output_stride)

    monkeypatch.setattr("posenet_ros.backends.factory.create_backend", create_backend)
    estimator = PoseEstimator(CONFIG.with_changes(backend="onnxruntime"))
    assert calls == [("onnxruntime", 16)]
    assert estimator.backend.name == "fake"


def test_real_model_finds_the_astronaut() -> None:
    data = pytest.importorskip("skimage.data")
    image = data.astronaut()  # 512x512, one person, head near (250, 100)
    estimator = PoseEstimator(EstimatorConfig(backend="onnxruntime"))
    poses = estimator.estimate(image)
    assert poses and poses[0].score > 0.3  # legs out of frame
    nose = poses[0].keypoints[PART_IDS["nose"]]
    assert 180 < nose[0] < 320 and 40 < nose[1] < 180 and nose[2] > 0.5
    (single,) = PoseEstimator(EstimatorConfig(mode="single", backend="onnxruntime")).estimate(image)
    assert np.abs(single.keypoints[0, :2] - nose[:2]).max() < 10
