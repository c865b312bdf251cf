"""The one orchestrator: RGB image → preprocessed tensor → network → decoded poses in source pixels.

Output filters, applied after decoding (the defaults, 0, keep the reference output untouched):
poses scoring below ``min_pose_score`` are dropped; keypoints scoring below
``min_keypoint_score`` stay in the pose (messages and JSON always carry all 17, in reference
order) with their position as decoded and their score set to 0.0, so every consumer treats
them as absent without a second threshold. The pose score is the decoder's, unchanged.

Backends built for one input size (TensorRT engines, which expose ``input_shape``) get the
configured square input at construction; changing ``input_resolution`` to another network
size then needs a new estimator (``needs_rebuild``). A backend with ``run_frame(image,
transform)`` preprocesses on its device: uint8 frames go to it whole, and the decoders run on
the arrays it returns (CuPy), fetching the maps and results in one copy; a blank frame warms
that path up at construction. A backend with ``run_frames(images, transforms)`` and
``max_batch`` > 1 (a TensorRT engine with a batch profile) takes up to ``max_batch`` frames
per call: ``estimate_many`` uses it for several cameras' frames.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from posenet_ros.backends.base import Backend, NetworkOutputs
from posenet_ros.config import REBUILD_FIELDS, EstimatorConfig, check_max_batch
from posenet_ros.decode import warm_up as warm_up_decoders
from posenet_ros.decode.multi_pose import decode_multiple_poses
from posenet_ros.decode.single_pose import decode_single_pose
from posenet_ros.errors import BackendUnavailableError, InvalidConfigError, InvalidImageError
from posenet_ros.image_io import check_image_array
from posenet_ros.preprocess import (
    InputTransform,
    Preprocessor,
    input_transform,
    valid_input_resolution,
    warm_up,
)
from posenet_ros.types import Pose

# Backends whose models take one input size: they are built for the configured resolution.
FIXED_SIZE_BACKENDS = frozenset({"tensorrt"})
# Backends given that size: ``auto`` too, so it can pick TensorRT (its ONNX Runtime
# fallbacks run the dynamic model whatever the size).
SIZED_BACKENDS = FIXED_SIZE_BACKENDS | {"auto"}


@dataclass(frozen=True, slots=True)
class StageTimings:
    """Wall-clock seconds of each stage of one ``estimate``.

    On a backend's fused path (``run_frame``) preprocessing is part of ``inference`` and
    ``preprocess`` is 0; GPU work queued there may finish inside ``decode``.
    """

    preprocess: float
    inference: float
    decode: float
    postprocess: float

    @property
    def total(self) -> float:
        return self.preprocess + self.inference + self.decode + self.postprocess


class PoseEstimator:
    """Estimates poses on RGB frames with one backend; decode parameters may change per frame.

    ``max_batch``: the most frames per inference call the backend created here is built for
    (TensorRT engines; ONNX Runtime runs one frame per call, where a batch does not pay), for
    ``estimate_many``; an injected backend keeps its own.
    Not thread-safe: preprocessing reuses its buffers, so use one estimator per thread.
    """

    def __init__(
        self, config: EstimatorConfig, backend: Backend | None = None, *, max_batch: int = 1
    ) -> None:
        config = config.validated()
        check_max_batch(max_batch)
        created = backend is None
        if backend is None:
            # Imported here: an injected backend (tests, the ROS node's own) needs no runtime.
            from posenet_ros.backends.factory import create_backend

            backend = create_backend(
                config.backend,
                config.output_stride,
                input_size=backend_input_size(config),
                **backend_options(config, max_batch),
            )
        elif backend.output_stride != config.output_stride:
            raise InvalidConfigError(
                f"backend runs output_stride {backend.output_stride} but the configuration "
                f"asks for {config.output_stride}"
            )
        self._config = config
        self._use(backend)
        self._preprocess = Preprocessor()
        warm_up()  # the resize kernel's compile or cache load, now rather than on a frame
        warm_up_decoders()  # the same for the decoders' host kernels
        if self._run_frame is None:
            return
        try:
            self._warm_up_device()
        except BackendUnavailableError as exc:
            if not (created and config.backend == "auto"):
                raise
            from posenet_ros.backends.factory import fall_back

            self._use(fall_back(config.output_stride, str(exc), **config.backend_options()))

    def _use(self, backend: Backend) -> None:
        self._backend = backend
        self._fixed_size = fixed_input_size(backend)
        self._check_input_size(self._config)
        self._run_frame = getattr(backend, "run_frame", None)
        run_frames = getattr(backend, "run_frames", None)
        self._max_batch = getattr(backend, "max_batch", 1) if run_frames is not None else 1
        self._run_frames = run_frames if self._max_batch > 1 else None

    def _warm_up_device(self) -> None:
        """One blank frame through the device path and both decoders: CuPy compiles their
        kernels (seconds on a Jetson, cached on disk afterwards) now, not on the first frame.

        Any failure there (CuPy without NVRTC or CUDA headers fails on its first kernel)
        means the GPU path cannot run here: it becomes ``BackendUnavailableError`` with the
        reason, and ``auto`` falls back to ONNX Runtime.
        """
        height, width = self._fixed_size or (257, 257)
        frame = np.zeros((height, width, 3), np.uint8)
        transform = input_transform(height, width, self._config)
        try:
            if self._run_frames is not None:  # a full batch: the shape that costs most
                count = self._max_batch
                outputs = self._run_frames([frame] * count, [transform] * count)[0]
            else:
                outputs = self._run_frame(frame, transform)
            for mode in ("single", "multi"):
                decode(outputs, self._config.with_changes(mode=mode))
        except BackendUnavailableError:
            raise
        except Exception as exc:  # CuPy's compile and CUDA errors share no base class
            from posenet_ros.gpu.probe import one_line

            raise BackendUnavailableError(
                f"the GPU path failed its first frame ({one_line(exc)}) on "
                f"{self._backend.describe()}"
            ) from exc

    @property
    def config(self) -> EstimatorConfig:
        return self._config

    @property
    def backend(self) -> Backend:
        return self._backend

    @property
    def max_batch(self) -> int:
        """The most frames ``estimate_many`` hands the backend in one call (1: one each)."""
        return self._max_batch

    def needs_rebuild(self, config: EstimatorConfig) -> bool:
        """True when ``config`` needs a new estimator: another ``backend`` or
        ``output_stride``, or another network input size on a fixed-size backend."""
        return self._config.needs_rebuild(config) or (
            self._fixed_size is not None and network_input_size(config) != self._fixed_size
        )

    def set_config(self, config: EstimatorConfig) -> None:
        """Apply a new configuration from the next frame on (decode and input parameters).

        Raises ``InvalidConfigError`` when it needs a new backend (``needs_rebuild``):
        build a new ``PoseEstimator`` for those.
        """
        config = config.validated()
        if self._config.needs_rebuild(config):
            changed = sorted(
                name
                for name in REBUILD_FIELDS
                if getattr(config, name) != getattr(self._config, name)
            )
            raise InvalidConfigError(
                f"changing {', '.join(changed)} needs a new model: create a new PoseEstimator"
            )
        self._check_input_size(config)
        self._config = config

    def _check_input_size(self, config: EstimatorConfig) -> None:
        size = network_input_size(config)
        if self._fixed_size is not None and size != self._fixed_size:
            wanted = "a per-frame size (input_resolution unset)" if size is None else size
            raise InvalidConfigError(
                f"input_resolution {config.input_resolution!r} needs network input {wanted}, "
                f"but backend {self._backend.name} was built for {self._fixed_size}: "
                "create a new PoseEstimator"
            )

    def estimate(self, image: np.ndarray) -> list[Pose]:
        """Poses in ``image`` (H, W, 3) RGB, in source pixels, best first."""
        return self.estimate_timed(image)[0]

    def estimate_timed(self, image: np.ndarray) -> tuple[list[Pose], StageTimings]:
        """``estimate`` plus the time spent in each stage (what the benchmark reports)."""
        config = self._config  # one consistent configuration for the whole frame
        return self._estimate_checked(check_image_array(image), config)

    def estimate_many(self, images: Sequence[np.ndarray]) -> list[list[Pose]]:
        """``estimate`` of each image (one configuration for all), in order.

        On a backend that takes batches (``max_batch`` > 1) the uint8 frames go through its
        fused path ``max_batch`` at a time, one inference call each; otherwise, and for float
        images, one call per image. Every image is checked first: a bad one raises
        ``InvalidImageError`` naming its position before any inference (check each with
        ``posenet_ros.image_io.check_image_array`` beforehand to keep the others).
        """
        config = self._config
        checked = []
        for index, image in enumerate(images):
            try:
                checked.append(check_image_array(image))
            except InvalidImageError as exc:
                raise InvalidImageError(f"image {index + 1} of {len(images)}: {exc}") from exc
        results: list[list[Pose] | None] = [None] * len(checked)
        if self._run_frames is not None:
            frames = [i for i, image in enumerate(checked) if image.dtype == np.uint8]
            for start in range(0, len(frames), self._max_batch):
                batch = frames[start : start + self._max_batch]
                transforms = [input_transform(*checked[i].shape[:2], config) for i in batch]
                outputs = self._run_frames([checked[i] for i in batch], transforms)
                for i, maps, transform in zip(batch, outputs, transforms, strict=True):
                    results[i] = filter_and_scale(decode(maps, config), transform, config)
        return [
            self._estimate_checked(image, config)[0] if poses is None else poses
            for image, poses in zip(checked, results, strict=True)
        ]

    def _estimate_checked(
        self, image: np.ndarray, config: EstimatorConfig
    ) -> tuple[list[Pose], StageTimings]:
        """``estimate_timed`` of an image that passed ``check_image_array``."""
        started = time.perf_counter()
        if self._run_frame is not None and image.dtype == np.uint8:
            transform = input_transform(*image.shape[:2], config)
            preprocessed = time.perf_counter()
            outputs = self._run_frame(image, transform)  # upload, preprocess and infer on device
        else:
            tensor, transform = self._preprocess(image, config)
            preprocessed = time.perf_counter()
            outputs = self._backend.run(tensor)
        inferred = time.perf_counter()
        poses = decode(outputs, config)
        decoded = time.perf_counter()
        poses = filter_and_scale(poses, transform, config)
        finished = time.perf_counter()
        timings = StageTimings(
            preprocessed - started, inferred - preprocessed, decoded - inferred, finished - decoded
        )
        return poses, timings


def backend_options(config: EstimatorConfig, max_batch: int) -> dict[str, object]:
    """The ``create_backend`` options: the config's, and ``max_batch`` (> 1) for the backends
    that may be TensorRT (``auto``'s ONNX Runtime fallbacks leave it)."""
    options = config.backend_options()
    if max_batch > 1 and config.backend in SIZED_BACKENDS:
        options["max_batch"] = max_batch
    return options


def network_input_size(config: EstimatorConfig) -> tuple[int, int] | None:
    """The (height, width) network input of a 2.x config; None when it follows each frame."""
    if config.input_resolution is None:
        return None
    side = valid_input_resolution(config.input_resolution, config.output_stride)
    return side, side


def backend_input_size(config: EstimatorConfig) -> tuple[int, int] | None:
    """The ``input_size`` to build ``config.backend`` with: the network input for fixed-size
    backends and ``auto`` (None under ``auto`` when the input follows each frame, which
    rules TensorRT out), None (a dynamic model) for ``onnxruntime``."""
    if config.backend not in SIZED_BACKENDS:
        return None
    size = network_input_size(config)
    if size is None and config.backend in FIXED_SIZE_BACKENDS:
        raise InvalidConfigError(
            f"backend {config.backend} builds its model for one input size: set "
            "input_resolution (image_scale_factor mode sizes the input per frame)"
        )
    return size


def fixed_input_size(backend: Backend) -> tuple[int, int] | None:
    """(height, width) of a backend built for one input size (``input_shape`` (1, H, W, 3))."""
    shape = getattr(backend, "input_shape", None)
    return None if shape is None else (int(shape[1]), int(shape[2]))


def decode(outputs: NetworkOutputs, config: EstimatorConfig) -> list[Pose]:
    """Single- or multi-pose decoding of the network outputs, in model-input pixels."""
    if config.mode == "single":
        return [decode_single_pose(outputs.heatmap, outputs.offsets, config.output_stride)]
    return decode_multiple_poses(
        outputs.heatmap,
        outputs.offsets,
        outputs.displacement_fwd,
        outputs.displacement_bwd,
        config.output_stride,
        config.max_pose_detections,
        config.score_threshold,
        config.nms_radius,
    )


def filter_and_scale(
    poses: list[Pose], transform: InputTransform, config: EstimatorConfig
) -> list[Pose]:
    """Drop weak poses, map the rest to source pixels and zero the scores of weak keypoints."""
    kept = []
    for pose in poses:
        if pose.score < config.min_pose_score:
            continue
        keypoints = transform.to_source(pose.keypoints)
        keypoints[keypoints[:, 2] < config.min_keypoint_score, 2] = 0.0
        kept.append(Pose(pose.score, keypoints))
    return kept
