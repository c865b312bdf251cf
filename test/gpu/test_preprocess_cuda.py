"""GPU preprocessing equals the CPU path (posenet_ros.preprocess) bit for bit."""

from __future__ import annotations

import numpy as np
import pytest

from posenet_ros.config import EstimatorConfig
from posenet_ros.errors import InvalidImageError
from posenet_ros.gpu.preprocess_cuda import GpuPreprocessor, check_frame
from posenet_ros.preprocess import Preprocessor, input_transform

CASES = [
    ((480, 640), EstimatorConfig(input_resolution=257)),  # landscape: rows padded
    ((640, 480), EstimatorConfig(input_resolution=513)),  # portrait: columns padded
    ((257, 257), EstimatorConfig(input_resolution=257)),  # identity size
    ((100, 60), EstimatorConfig(input_resolution=353, output_stride=8)),  # upscaling
    ((301, 199), EstimatorConfig(input_resolution=None, image_scale_factor=0.7)),  # 0.x
    (
        (301, 199),
        EstimatorConfig(input_resolution=None, image_scale_factor=0.5, flip_horizontal=True),
    ),  # 0.x mirrors the image
]


@pytest.mark.parametrize(
    "bad",
    [
        np.zeros((4, 4, 3), np.float32),
        np.zeros((4, 4), np.uint8),
        np.zeros((4, 4, 4), np.uint8),
        np.zeros((0, 4, 3), np.uint8),
        [[[0, 0, 0]]],
    ],
)
def test_bad_frames_are_refused(bad) -> None:
    with pytest.raises(InvalidImageError):
        check_frame(bad)


@pytest.mark.gpu
@pytest.mark.parametrize(("shape", "config"), CASES)
def test_gpu_equals_cpu(cp, shape, config) -> None:
    image = np.random.default_rng(1).integers(0, 256, (*shape, 3), dtype=np.uint8)
    expected, transform = Preprocessor()(image, config)
    stream = cp.cuda.Stream(non_blocking=True)
    out = cp.empty(expected.shape, cp.float32)
    GpuPreprocessor(cp, stream)(image, transform, out)
    stream.synchronize()
    np.testing.assert_array_equal(out.get(), expected)


@pytest.mark.gpu
def test_fp16_output_is_the_float32_value_rounded(cp) -> None:
    image = np.random.default_rng(2).integers(0, 256, (480, 640, 3), dtype=np.uint8)
    expected, transform = Preprocessor()(image, EstimatorConfig(input_resolution=257))
    stream = cp.cuda.Stream()
    out = cp.empty(expected.shape, cp.float16)
    GpuPreprocessor(cp, stream)(image, transform, out)
    stream.synchronize()
    np.testing.assert_array_equal(out.get(), expected.astype(np.float16))


@pytest.mark.gpu
def test_strided_frames_and_reuse_across_sizes(cp) -> None:
    rng = np.random.default_rng(3)
    stream = cp.cuda.Stream()
    gpu, cpu = GpuPreprocessor(cp, stream), Preprocessor()
    config = EstimatorConfig(input_resolution=257)
    wide = rng.integers(0, 256, (240, 400, 3), dtype=np.uint8)
    frames = [wide[:, ::2], rng.integers(0, 256, (300, 200, 3), dtype=np.uint8), wide[:, ::2]]
    for frame in frames:  # a ROS-style strided view, a new size, then the first size again
        expected, transform = cpu(frame, config)
        out = cp.empty(expected.shape, cp.float32)
        gpu(frame, transform, out)
        stream.synchronize()
        np.testing.assert_array_equal(out.get(), expected)


@pytest.mark.gpu
def test_transform_for_another_frame_is_refused(cp) -> None:
    image = np.zeros((100, 80, 3), np.uint8)
    transform = input_transform(90, 80, EstimatorConfig(input_resolution=257))
    out = cp.empty((1, 257, 257, 3), cp.float32)
    with pytest.raises(InvalidImageError, match="frame is 80x100 but the transform is for 80x90"):
        GpuPreprocessor(cp, cp.cuda.Stream())(image, transform, out)
