"""Estimator parameters with the reference 2.x defaults, validated with errors naming the value."""

from __future__ import annotations

import math
from dataclasses import dataclass, fields, replace
from typing import Literal

from posenet_ros.errors import InvalidConfigError
from posenet_ros.ranges import Range, check_range

MODES = ("single", "multi")
BACKENDS = ("auto", "onnxruntime", "tensorrt")
PRECISIONS = ("fp32", "fp16")
OUTPUT_STRIDES = (8, 16)
MIN_INPUT_RESOLUTION = 33
MAX_INPUT_RESOLUTION = 1281
IMAGE_SCALE_FACTOR_RANGE = (0.2, 1.0)
MAX_BATCH = 16  # most frames per inference call a batching backend (TensorRT) is built for

# Parameters whose change needs a new backend (a new export / engine); the others apply per frame.
REBUILD_FIELDS = frozenset({"backend", "output_stride", "precision", "inference_threads"})
MAX_INFERENCE_THREADS = 256


@dataclass(frozen=True, slots=True)
class EstimatorConfig:
    """Everything that shapes one estimate; build with ``EstimatorConfig(...).validated()``.

    ``input_resolution`` follows the reference 2.x (square, padded to the target aspect);
    with ``input_resolution=None`` the 0.x ``image_scale_factor`` semantics apply instead.
    """

    mode: Literal["single", "multi"] = "multi"
    input_resolution: int | None = 257
    image_scale_factor: float = 0.5
    output_stride: int = 16
    flip_horizontal: bool = False
    max_pose_detections: int = 5
    score_threshold: float = 0.5
    nms_radius: float = 20.0
    min_pose_score: float = 0.0
    min_keypoint_score: float = 0.0
    backend: str = "auto"
    precision: str = "fp32"  # of TensorRT engines; ONNX Runtime runs the FP32 model
    # ONNX Runtime's threads per inference; 0 lets it take one per physical core.
    inference_threads: int = 0

    def validated(self) -> EstimatorConfig:
        """Return self if every field is valid, else raise ``InvalidConfigError`` naming it."""
        if self.mode not in MODES:
            _fail("mode", self.mode, f"one of {', '.join(MODES)}")
        if self.backend not in BACKENDS:
            _fail("backend", self.backend, f"one of {', '.join(BACKENDS)}")
        if self.precision not in PRECISIONS:
            _fail("precision", self.precision, f"one of {', '.join(PRECISIONS)}")
        check_output_stride(self.output_stride)
        if not _is_int(self.inference_threads) or not (
            0 <= self.inference_threads <= MAX_INFERENCE_THREADS
        ):
            _fail(
                "inference_threads",
                self.inference_threads,
                f"an integer in [0, {MAX_INFERENCE_THREADS}] (0: one per physical core)",
            )
        if self.input_resolution is not None and (
            not _is_int(self.input_resolution)
            or not MIN_INPUT_RESOLUTION <= self.input_resolution <= MAX_INPUT_RESOLUTION
        ):
            _fail(
                "input_resolution",
                self.input_resolution,
                f"an integer in [{MIN_INPUT_RESOLUTION}, {MAX_INPUT_RESOLUTION}]",
            )
        lo, hi = IMAGE_SCALE_FACTOR_RANGE
        check_range("image_scale_factor", self.image_scale_factor, Range(lo, hi))
        if not isinstance(self.flip_horizontal, bool):
            _fail("flip_horizontal", self.flip_horizontal, "true or false")
        if not _is_int(self.max_pose_detections) or self.max_pose_detections < 1:
            _fail("max_pose_detections", self.max_pose_detections, "an integer >= 1")
        check_range("score_threshold", self.score_threshold, Range(0.0, 1.0))
        if not _is_number(self.nms_radius) or not 0.0 < self.nms_radius < math.inf:
            _fail("nms_radius", self.nms_radius, "a finite number > 0")
        check_range("min_pose_score", self.min_pose_score, Range(0.0, 1.0))
        check_range("min_keypoint_score", self.min_keypoint_score, Range(0.0, 1.0))
        return self

    def with_changes(self, **changes: object) -> EstimatorConfig:
        """A validated copy with some fields changed (unknown names are refused)."""
        known = {f.name for f in fields(self)}
        unknown = sorted(set(changes) - known)
        if unknown:
            raise InvalidConfigError(f"unknown parameter(s): {', '.join(unknown)}")
        return replace(self, **changes).validated()

    def backend_options(self) -> dict[str, object]:
        """The ``create_backend`` options this config sets: TensorRT's engine ``precision``
        (for ``tensorrt`` and ``auto``; ONNX Runtime runs the FP32 model) and ONNX Runtime's
        ``threads`` (for ``onnxruntime`` and ``auto``) when ``inference_threads`` is set."""
        options: dict[str, object] = {}
        if self.backend != "onnxruntime":
            options["precision"] = self.precision
        if self.backend != "tensorrt" and self.inference_threads:
            options["threads"] = self.inference_threads
        return options

    def needs_rebuild(self, other: EstimatorConfig) -> bool:
        """True when going from self to ``other`` needs a new backend (one of
        ``REBUILD_FIELDS`` changes, and matters to the backend)."""
        return (self.backend, self.output_stride, self.backend_options()) != (
            other.backend,
            other.output_stride,
            other.backend_options(),
        )


def check_output_stride(output_stride: object) -> int:
    """Return ``output_stride`` if the shipped model supports it, else raise with the reason."""
    if output_stride == 32:
        raise InvalidConfigError(
            "output_stride 32 needs the MobileNetV1 1.0-multiplier model; the shipped "
            "0.75-multiplier weights support 8 and 16 only (as in the reference)"
        )
    if not _is_int(output_stride) or output_stride not in OUTPUT_STRIDES:
        _fail("output_stride", output_stride, "8 or 16")
    return output_stride


def check_max_batch(max_batch: object) -> int:
    """Return ``max_batch`` (frames per inference call) if it is an integer in [1, MAX_BATCH],
    else raise with the value."""
    if not _is_int(max_batch) or not 1 <= max_batch <= MAX_BATCH:
        _fail("max_batch", max_batch, f"an integer in [1, {MAX_BATCH}]")
    return max_batch


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_number(value: object) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _fail(name: str, value: object, expected: str) -> None:
    raise InvalidConfigError(f"invalid {name} {value!r}: expected {expected}")
