"""The orchestrator with a fake backend (fixed outputs), and once with the real model."""

from __future__ import annotations

import numpy as np
import pytest
from core_fakes import KEYPOINT_LOGIT, KEYPOINT_X, KEYPOINT_Y, FakeBackend, fixed_outputs

from posenet_ros.backends.base import NetworkOutputs
from posenet_ros.config import EstimatorConfig
from posenet_ros.errors import InvalidConfigError, InvalidImageError
from posenet_ros.estimator import PoseEstimator, StageTimings, filter_and_scale
from posenet_ros.keypoints import PART_IDS
from posenet_ros.preprocess import InputTransform, Padding, input_transform
from posenet_ros.types import Pose

CONFIG = EstimatorConfig(input_resolution=33, output_stride=16)
FRAME = np.random.default_rng(0).integers(0, 256, (40, 60, 3), dtype=np.uint8)


# FRAME (40 x 60) becomes the 33 x 33 network input padded to 60 x 60 (10 rows above and
# below), so a model-input pixel spans 60/33 source pixels; a flip mirrors x over 60 columns.
SCALE, PAD_TOP, WIDTH = 60 / 33, 10, 60


def expected(config: EstimatorConfig) -> list[np.ndarray]:
    """The fakes' one pose (positions and logits documented in ``core_fakes``) in FRAME's
    pixels, written out by hand: both decoders find it as it is."""
    x = np.array(KEYPOINT_X) * SCALE
    if config.flip_horizontal:
        x = WIDTH - 1 - x
    y = np.array(KEYPOINT_Y) * SCALE - PAD_TOP
    score = 1 / (1 + np.exp(-np.array(KEYPOINT_LOGIT)))
    return [np.stack([x, y, score], axis=1)]


@pytest.mark.parametrize("mode", ["single", "multi"])
@pytest.mark.parametrize("flip", [False, True])
def test_estimate_decodes_and_scales_back(mode: str, flip: bool) -> None:
    config = CONFIG.with_changes(mode=mode, flip_horizontal=flip)
    backend = FakeBackend()
    estimator = PoseEstimator(config, backend)
    poses = estimator.estimate(FRAME)
    (pose,) = poses
    (keypoints,) = expected(config)
    np.testing.assert_allclose(pose.keypoints, keypoints, rtol=0, atol=1e-6)
    assert pose.score == pytest.approx(keypoints[:, 2].mean(), rel=0, abs=1e-6)
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


def test_filter_and_scale_maps_each_kept_pose_on_its_own() -> None:
    # Three decoded poses in model-input pixels (33 x 33 input of a 40 x 60 frame padded by
    # 10 rows above and below, mirrored): the 0.2 pose is dropped, the others keep their
    # order and scores, and only their own weak keypoints are zeroed.
    rng = np.random.default_rng(1)
    decoded = [Pose(score, rng.uniform(0, 33, (17, 3))) for score in (0.9, 0.2, 0.6)]
    for pose in decoded:
        pose.keypoints[:, 2] = rng.uniform(0, 1, 17)
    originals = [pose.keypoints.copy() for pose in decoded]
    transform = InputTransform(40, 60, 33, 33, Padding(10, 10, 0, 0), flip_output=True)
    config = CONFIG.with_changes(min_pose_score=0.5, min_keypoint_score=0.4)
    kept = filter_and_scale(decoded, transform, config)
    assert [pose.score for pose in kept] == [0.9, 0.6]
    for pose, raw in zip(kept, (originals[0], originals[2]), strict=True):
        x = WIDTH - 1 - raw[:, 0] * SCALE
        y = raw[:, 1] * SCALE - PAD_TOP
        score = np.where(raw[:, 2] < 0.4, 0.0, raw[:, 2])
        np.testing.assert_allclose(pose.keypoints, np.stack([x, y, score], axis=1), atol=1e-12)
        assert pose.keypoints.shape == (17, 3) and pose.keypoints.dtype == np.float64
    for pose, raw in zip(decoded, originals, strict=True):  # the decoder's arrays untouched
        np.testing.assert_array_equal(pose.keypoints, raw)
    assert filter_and_scale(decoded, transform, config.with_changes(min_pose_score=1.0)) == []


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


@pytest.mark.parametrize(
    ("backend", "resolution", "input_size"),
    [
        ("onnxruntime", 33, None),
        ("auto", 40, (33, 33)),  # so that auto can pick TensorRT
        ("auto", None, None),  # per-frame input size: auto picks a dynamic model
        ("tensorrt", 40, (33, 33)),
    ],
)
def test_default_backend_comes_from_the_factory(
    monkeypatch: pytest.MonkeyPatch,
    backend: str,
    resolution: int | None,
    input_size: tuple | None,
) -> None:
    calls = []

    def create_backend(
        name: str, output_stride: int, *, input_size: object, **options: object
    ) -> FakeBackend:
        calls.append((name, output_stride, input_size, options))
        return FakeBackend(output_stride)

    monkeypatch.setattr("posenet_ros.backends.factory.create_backend", create_backend)
    config = CONFIG.with_changes(backend=backend, input_resolution=resolution, precision="fp16")
    estimator = PoseEstimator(config)
    # The valid resolution, where TensorRT may run; TensorRT's precision (ONNX Runtime: FP32).
    options = {} if backend == "onnxruntime" else {"precision": "fp16"}
    assert calls == [(backend, 16, input_size, options)]
    assert estimator.backend.name == "fake"


def test_tensorrt_needs_a_fixed_resolution() -> None:
    config = CONFIG.with_changes(backend="tensorrt", input_resolution=None)
    with pytest.raises(InvalidConfigError, match="backend tensorrt builds its model for one"):
        PoseEstimator(config)


class FixedSizeBackend(FakeBackend):
    """Built for one input size, like a TensorRT engine."""

    def __init__(self, side: int = 33) -> None:
        super().__init__()
        self.input_shape = (1, side, side, 3)


def test_fixed_size_backend_makes_the_network_size_a_rebuild_field() -> None:
    estimator = PoseEstimator(CONFIG, FixedSizeBackend(33))
    same_size = CONFIG.with_changes(input_resolution=40, mode="single")  # still 33 at stride 16
    assert not estimator.needs_rebuild(same_size)
    estimator.set_config(same_size)
    assert estimator.estimate(FRAME)
    for other in (
        CONFIG.with_changes(input_resolution=65),
        CONFIG.with_changes(input_resolution=None),
    ):
        assert estimator.needs_rebuild(other)
        with pytest.raises(InvalidConfigError, match=r"backend fake was built for \(33, 33\)"):
            estimator.set_config(other)
    assert estimator.config == same_size
    with pytest.raises(InvalidConfigError, match="input_resolution 65 needs network input"):
        PoseEstimator(CONFIG.with_changes(input_resolution=65), FixedSizeBackend(33))


def test_dynamic_backend_changes_resolution_in_place() -> None:
    estimator = PoseEstimator(CONFIG, FakeBackend())
    for config in (
        CONFIG.with_changes(input_resolution=65),
        CONFIG.with_changes(input_resolution=None),
    ):
        assert not estimator.needs_rebuild(config)
    assert estimator.needs_rebuild(CONFIG.with_changes(output_stride=8))
    assert estimator.needs_rebuild(CONFIG.with_changes(backend="tensorrt"))


class FusedBackend(FixedSizeBackend):
    """Preprocesses on its own (``run_frame``), like the TensorRT backend on the GPU."""

    def __init__(self) -> None:
        super().__init__(33)
        self.frames: list[tuple[np.ndarray, InputTransform]] = []

    def run_frame(self, image: np.ndarray, transform: InputTransform) -> NetworkOutputs:
        self.frames.append((image, transform))
        return fixed_outputs()


@pytest.mark.parametrize("flip", [False, True])
def test_fused_backend_gets_the_frame_and_its_transform(flip: bool) -> None:
    config = CONFIG.with_changes(flip_horizontal=flip)
    backend = FusedBackend()
    estimator = PoseEstimator(config, backend)
    backend.frames.clear()  # the warm-up frame
    poses = estimator.estimate(FRAME)
    assert backend.inputs == []  # no CPU preprocessing, no run()
    ((image, transform),) = backend.frames
    assert image is FRAME and transform == input_transform(40, 60, config)
    want = expected(config)
    assert len(poses) == len(want)
    for pose, keypoints in zip(poses, want, strict=True):
        np.testing.assert_allclose(pose.keypoints, keypoints, rtol=0, atol=1e-6)


def test_fused_backend_float_frames_take_the_cpu_path() -> None:
    backend = FusedBackend()
    estimator = PoseEstimator(CONFIG, backend)
    backend.frames.clear()  # the warm-up frame
    estimator.estimate(FRAME.astype(np.float32))
    assert backend.frames == [] and backend.inputs[0].shape == (1, 33, 33, 3)


def test_construction_warms_up_the_device_path_with_a_blank_frame() -> None:
    backend = FusedBackend()
    PoseEstimator(CONFIG, backend)
    ((image, transform),) = backend.frames
    assert image.shape == (33, 33, 3) and not image.any()
    assert transform == input_transform(33, 33, CONFIG)


def test_construction_warms_up_the_resize_kernel(monkeypatch: pytest.MonkeyPatch) -> None:
    calls = []
    monkeypatch.setattr("posenet_ros.estimator.warm_up", lambda: calls.append(True))
    PoseEstimator(CONFIG, FakeBackend())
    assert calls == [True]


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


class DeviceFusedBackend(FusedBackend):
    """``run_frame`` answering with CuPy maps, as the TensorRT backend does."""

    def __init__(self, cp: object) -> None:
        super().__init__()
        self.cp = cp

    def run_frame(self, image: np.ndarray, transform: InputTransform) -> NetworkOutputs:
        outputs = super().run_frame(image, transform)
        return NetworkOutputs(*(self.cp.asarray(a) for a in outputs))


@pytest.mark.gpu
@pytest.mark.parametrize("mode", ["single", "multi"])
def test_fused_backend_maps_on_the_gpu_decode_like_the_cpu(mode: str) -> None:
    from posenet_ros.gpu.cuda import cuda_unavailable_reason

    reason = cuda_unavailable_reason()
    if reason is not None:
        pytest.skip(f"needs a CUDA device through CuPy: {reason}")
    import cupy

    config = CONFIG.with_changes(mode=mode)
    poses = PoseEstimator(config, DeviceFusedBackend(cupy)).estimate(FRAME)
    want = expected(config)
    assert len(poses) == len(want)
    for pose, keypoints in zip(poses, want, strict=True):
        np.testing.assert_allclose(pose.keypoints, keypoints, rtol=0, atol=1e-5)
