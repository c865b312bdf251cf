"""TensorRT end to end (needs TensorRT and a GPU): same maps as ONNX Runtime, fused path equal
to the CPU-preprocessed one, engine cache reused, damaged engines rebuilt."""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import pytest

from posenet_ros.backends.onnxruntime_backend import OnnxRuntimeBackend
from posenet_ros.backends.tensorrt_backend import TensorRTBackend, onnx_precision_for
from posenet_ros.config import EstimatorConfig
from posenet_ros.errors import InvalidConfigError, InvalidImageError
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
