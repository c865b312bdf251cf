"""TensorRT end to end (needs TensorRT and a GPU): same maps as ONNX Runtime, fused path equal
to the CPU-preprocessed one, engine cache reused, damaged engines rebuilt, a batch engine's
frames equal to one frame at a time."""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import pytest

from posenet_ros.backends.onnxruntime_backend import OnnxRuntimeBackend
from posenet_ros.backends.tensorrt_backend import TensorRTBackend, onnx_precision_for
from posenet_ros.config import EstimatorConfig
from posenet_ros.errors import InvalidConfigError, InvalidImageError
from posenet_ros.estimator import PoseEstimator
from posenet_ros.image_io import load_image
from posenet_ros.model.export import ensure_onnx
from posenet_ros.preprocess import Preprocessor, input_transform

pytestmark = [pytest.mark.gpu, pytest.mark.usefixtures("trt_ready")]
SIZE = (257, 257)
DATA = Path(__file__).resolve().parents[2] / "data"


@pytest.fixture(scope="module")
def frame() -> np.ndarray:
    return load_image(DATA / "astronaut.jpg")


@pytest.fixture(scope="module")
def onnx_fp32():
    return ensure_onnx(16, SIZE)


def _host(maps) -> list[np.ndarray]:
    return [m.get() for m in maps]


# Largest error as a share of each map's largest magnitude. FP16 through ONNX Runtime on the
# CPU (the fp16 export) errs by 1.1-1.9 % on the bundled photos: 0.2 on heatmap logits up to
# 12.8, 3.0 px on displacements up to 176.
@pytest.mark.parametrize(("precision", "share"), [("fp32", 2e-4), ("fp16", 0.04)])
def test_maps_match_onnxruntime(cp, tmp_path, frame, precision, share) -> None:
    tensor, _ = Preprocessor()(frame, EstimatorConfig(input_resolution=SIZE[0]))
    expected = OnnxRuntimeBackend(ensure_onnx(16, SIZE), 16).run(tensor.copy())
    onnx = ensure_onnx(16, SIZE, precision=onnx_precision_for(precision))
    backend = TensorRTBackend(onnx, 16, SIZE, precision=precision, engine_cache_dir=tmp_path)
    for got, want in zip(_host(backend.run(tensor)), expected, strict=True):
        assert got.dtype == np.float32 and got.shape == want.shape
        np.testing.assert_allclose(got, want, rtol=0, atol=share * np.abs(want).max())
    assert "tensorrt" in backend.describe() and precision in backend.describe()


def test_fused_path_equals_cpu_preprocessing(cp, tmp_path, frame, onnx_fp32) -> None:
    config = EstimatorConfig(input_resolution=SIZE[0])
    tensor, transform = Preprocessor()(frame, config)
    backend = TensorRTBackend(onnx_fp32, 16, SIZE, engine_cache_dir=tmp_path)
    via_cpu = _host(backend.run(tensor))
    fused = _host(backend.run_frame(frame, transform))
    for a, b in zip(fused, via_cpu, strict=True):
        np.testing.assert_array_equal(a, b)  # identical inputs, same engine


def test_outputs_survive_the_next_inference(cp, tmp_path, frame, onnx_fp32) -> None:
    backend = TensorRTBackend(onnx_fp32, 16, SIZE, engine_cache_dir=tmp_path)
    transform = input_transform(*frame.shape[:2], EstimatorConfig(input_resolution=SIZE[0]))
    first = backend.run_frame(frame, transform)
    kept = _host(first)
    backend.run_frame(np.zeros_like(frame), transform)
    for a, b in zip(_host(first), kept, strict=True):
        np.testing.assert_array_equal(a, b)


def test_engine_is_cached_and_damaged_engines_rebuilt(cp, tmp_path, onnx_fp32, caplog) -> None:
    first = TensorRTBackend(onnx_fp32, 16, SIZE, engine_cache_dir=tmp_path)
    with caplog.at_level(logging.INFO):
        TensorRTBackend(onnx_fp32, 16, SIZE, engine_cache_dir=tmp_path)
    assert "loaded TensorRT engine" in caplog.text and "building" not in caplog.text
    first.engine_path.write_bytes(first.engine_path.read_bytes()[:-100])
    caplog.clear()
    with caplog.at_level(logging.INFO):
        TensorRTBackend(onnx_fp32, 16, SIZE, engine_cache_dir=tmp_path)
    assert "truncated or corrupt" in caplog.text and "TensorRT engine built in" in caplog.text


def test_wrong_sizes_are_refused(cp, tmp_path, frame, onnx_fp32) -> None:
    backend = TensorRTBackend(onnx_fp32, 16, SIZE, engine_cache_dir=tmp_path)
    with pytest.raises(InvalidImageError, match=r"expected an input tensor of shape"):
        backend.run(np.zeros((1, 513, 513, 3), np.float32))
    other = input_transform(*frame.shape[:2], EstimatorConfig(input_resolution=513))
    with pytest.raises(InvalidConfigError, match="takes 257x257 inputs"):
        backend.run_frame(frame, other)


def _camera_frames(frame: np.ndarray) -> list[np.ndarray]:
    """Three cameras' frames: the photo, its mirror and a crop of another size."""
    return [frame, np.ascontiguousarray(frame[:, ::-1]), np.ascontiguousarray(frame[50:400, 80:])]


def _assert_maps_close(got, want, share: float) -> None:
    for a, b in zip(_host(got), _host(want), strict=True):
        assert a.shape == b.shape
        np.testing.assert_allclose(a, b, rtol=0, atol=share * np.abs(b).max())


def test_run_frames_equals_run_frame_for_each_frame(cp, tmp_path, frame) -> None:
    config = EstimatorConfig(input_resolution=SIZE[0])
    frames = _camera_frames(frame)
    transforms = [input_transform(*f.shape[:2], config) for f in frames]
    batched = ensure_onnx(16, SIZE, batched=True)
    backend = TensorRTBackend(batched, 16, SIZE, engine_cache_dir=tmp_path, max_batch=4)
    together = backend.run_frames(frames, transforms)
    kept = [_host(maps) for maps in together]
    for image, transform, maps in zip(frames, transforms, together, strict=True):
        # The same engine on one frame: same kernels, so equal but for the batch's tactics.
        _assert_maps_close(maps, backend.run_frame(image, transform), 1e-5)
    # A one-frame engine from the one-frame export agrees as closely as TensorRT and ONNX Runtime.
    one_frame = TensorRTBackend(ensure_onnx(16, SIZE), 16, SIZE, engine_cache_dir=tmp_path)
    for image, transform, maps in zip(frames, transforms, together, strict=True):
        _assert_maps_close(maps, one_frame.run_frame(image, transform), 2e-4)
    heatmaps = [maps[0] for maps in kept]
    assert not np.array_equal(heatmaps[0], heatmaps[1])  # every frame its own maps
    for maps, before in zip(together, kept, strict=True):  # they outlived the later calls
        for a, b in zip(_host(maps), before, strict=True):
            np.testing.assert_array_equal(a, b)


def test_estimate_many_on_a_batch_engine_equals_estimate(cp, tmp_path, frame, monkeypatch) -> None:
    monkeypatch.setenv("POSENET_ROS_ENGINE_DIR", str(tmp_path))
    config = EstimatorConfig(backend="tensorrt", input_resolution=SIZE[0])
    estimator = PoseEstimator(config, max_batch=2)
    assert estimator.max_batch == 2 and "up to 2 frames per call" in estimator.backend.describe()
    frames = _camera_frames(frame)  # three frames: one call of two, one of one
    many = estimator.estimate_many(frames)
    for poses, image in zip(many, frames, strict=True):
        want = estimator.estimate(image)
        assert len(poses) == len(want) > 0
        for a, b in zip(poses, want, strict=True):
            np.testing.assert_allclose(a.keypoints, b.keypoints, rtol=0, atol=0.05)
