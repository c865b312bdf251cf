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


def outputs_of(image: np.ndarray) -> NetworkOutputs:
    """``fixed_outputs`` with every part's logit raised by the frame's first value / 64, so
    each frame's poses differ in score and a mixed-up frame is seen."""
    heatmap, *rest = fixed_outputs()
    heatmap[1, 1] += float(image[0, 0, 0]) / 64
    return NetworkOutputs(heatmap, *rest)


class PerFrameBackend(FusedBackend):
    """``run_frame`` answering ``outputs_of(frame)``: the one-call-per-frame reference."""

    def run_frame(self, image: np.ndarray, transform: InputTransform) -> NetworkOutputs:
        super().run_frame(image, transform)
        return outputs_of(image)

    def run(self, image: np.ndarray) -> NetworkOutputs:
        super().run(image)
        return outputs_of(np.full((1, 1, 1), 255.0))  # float frames: a score of their own


class BatchingBackend(PerFrameBackend):
    """Takes up to ``max_batch`` frames per ``run_frames`` call, like a TensorRT batch engine."""

    def __init__(self, max_batch: int) -> None:
        super().__init__()
        self.max_batch = max_batch
        self.batches: list[list[tuple[np.ndarray, InputTransform]]] = []

    def run_frames(self, images: list, transforms: list) -> list[NetworkOutputs]:
        assert 1 <= len(images) <= self.max_batch
        self.batches.append(list(zip(images, transforms, strict=True)))
        return [outputs_of(image) for image in images]


def _camera_frames(count: int) -> list[np.ndarray]:
    """Frames of different sizes (so different transforms) and first values."""
    rng = np.random.default_rng(1)
    frames = [
        rng.integers(0, 256, (40 + 4 * i, 60 - 3 * i, 3), dtype=np.uint8) for i in range(count)
    ]
    for i, frame in enumerate(frames):
        frame[0, 0, 0] = 40 * i
    return frames


def _same_poses(got: list[list[Pose]], want: list[list[Pose]]) -> None:
    assert len(got) == len(want)
    for got_poses, want_poses in zip(got, want, strict=True):
        assert len(got_poses) == len(want_poses) > 0
        for a, b in zip(got_poses, want_poses, strict=True):
            assert a.score == b.score
            np.testing.assert_array_equal(a.keypoints, b.keypoints)


@pytest.mark.parametrize("mode", ["single", "multi"])
def test_estimate_many_batches_frames_and_equals_one_estimate_per_frame(mode: str) -> None:
    config = CONFIG.with_changes(mode=mode)
    frames = _camera_frames(5)
    one_by_one = PoseEstimator(config, PerFrameBackend())
    want = [one_by_one.estimate(frame) for frame in frames]
    assert len({poses[0].score for poses in want}) == 5  # every frame's poses its own
    backend = BatchingBackend(max_batch=3)
    estimator = PoseEstimator(config, backend)
    assert estimator.max_batch == 3
    backend.batches.clear()  # the warm-up batch
    _same_poses(estimator.estimate_many(frames), want)
    # Two calls, 3 + 2 frames, in order, each frame with its own transform; nothing else ran.
    sent = [pair for batch in backend.batches for pair in batch]
    assert [image is frame for (image, _), frame in zip(sent, frames, strict=True)] == [True] * 5
    assert [t for _, t in sent] == [input_transform(*f.shape[:2], config) for f in frames]
    assert [len(batch) for batch in backend.batches] == [3, 2]
    assert backend.frames == [] and backend.inputs == []  # no run_frame, no run


def test_estimate_many_sends_float_images_through_the_cpu_path_in_place() -> None:
    frames = _camera_frames(3)
    frames[1] = frames[1].astype(np.float32)
    backend = BatchingBackend(max_batch=4)
    estimator = PoseEstimator(CONFIG, backend)
    backend.batches.clear()
    many = estimator.estimate_many(frames)
    want = [PoseEstimator(CONFIG, PerFrameBackend()).estimate(frame) for frame in frames]
    _same_poses(many, want)
    ((first, _), (third, _)) = backend.batches[0]
    assert first is frames[0] and third is frames[2]
    assert len(backend.inputs) == 1 and backend.inputs[0].shape == (1, 33, 33, 3)


def test_estimate_many_loops_where_the_backend_takes_one_frame() -> None:
    frames = _camera_frames(3)
    for backend in (PerFrameBackend(), BatchingBackend(max_batch=1)):
        estimator = PoseEstimator(CONFIG, backend)
        assert estimator.max_batch == 1
        backend.frames.clear()
        many = estimator.estimate_many(frames)
        assert [image for image, _ in backend.frames] == frames  # one run_frame each
        assert getattr(backend, "batches", []) == []
    _same_poses(many, [PoseEstimator(CONFIG, PerFrameBackend()).estimate(f) for f in frames])
    assert PoseEstimator(CONFIG, FakeBackend()).max_batch == 1  # no fused path at all


def test_estimate_many_of_no_images_is_empty_and_runs_nothing() -> None:
    backend = BatchingBackend(max_batch=2)
    estimator = PoseEstimator(CONFIG, backend)
    backend.batches.clear()
    assert estimator.estimate_many([]) == [] and backend.batches == []


def test_estimate_many_refuses_a_bad_image_by_position_before_any_inference() -> None:
    backend = BatchingBackend(max_batch=4)
    estimator = PoseEstimator(CONFIG, backend)
    backend.batches.clear()
    frames = _camera_frames(3)
    frames[1] = frames[1][:0]
    with pytest.raises(InvalidImageError, match=r"^image 2 of 3: image is empty \(57x0 pixels\)"):
        estimator.estimate_many(frames)
    assert backend.batches == [] and backend.frames == []


def test_a_batching_backend_warms_up_with_a_full_batch_of_blank_frames() -> None:
    backend = BatchingBackend(max_batch=3)
    PoseEstimator(CONFIG, backend)
    (batch,) = backend.batches
    assert len(batch) == 3 and backend.frames == []
    for image, transform in batch:
        assert image.shape == (33, 33, 3) and not image.any()
        assert transform == input_transform(33, 33, CONFIG)


@pytest.mark.parametrize(
    ("backend", "passed"), [("tensorrt", True), ("auto", True), ("onnxruntime", False)]
)
def test_max_batch_goes_to_the_backends_that_may_be_tensorrt(
    monkeypatch: pytest.MonkeyPatch, backend: str, passed: bool
) -> None:
    calls = []

    def create_backend(name: str, output_stride: int, **options: object) -> FakeBackend:
        calls.append(options)
        return FakeBackend(output_stride)

    monkeypatch.setattr("posenet_ros.backends.factory.create_backend", create_backend)
    PoseEstimator(CONFIG.with_changes(backend=backend), max_batch=4)
    PoseEstimator(CONFIG.with_changes(backend=backend))
    assert [options.get("max_batch") for options in calls] == [4 if passed else None, None]


@pytest.mark.parametrize("max_batch", [0, 17, 2.5])
def test_bad_max_batch_is_refused(max_batch: object) -> None:
    with pytest.raises(InvalidConfigError, match=f"invalid max_batch {max_batch}"):
        PoseEstimator(CONFIG, FakeBackend(), max_batch=max_batch)


def test_estimate_many_with_the_real_model_equals_estimate() -> None:
    data = pytest.importorskip("skimage.data")
    estimator = PoseEstimator(EstimatorConfig(backend="onnxruntime", input_resolution=129))
    assert estimator.max_batch == 1
    images = [
        data.astronaut(),
        data.astronaut()[::2, 100:],
        np.ascontiguousarray(data.astronaut()[:, ::-1]),
    ]
    want = [estimator.estimate(image) for image in images]
    assert len({round(poses[0].keypoints[0, 0]) for poses in want}) == 3  # different answers
    _same_poses(estimator.estimate_many(images), want)
