import numpy as np
import onnxruntime as ort
import pytest

from posenet_ros.backends import onnxruntime_backend
from posenet_ros.backends.base import NetworkOutputs
from posenet_ros.backends.onnxruntime_backend import OnnxRuntimeBackend
from posenet_ros.errors import (
    BackendUnavailableError,
    InvalidConfigError,
    InvalidImageError,
    ModelError,
)
from posenet_ros.model.export import ensure_onnx


@pytest.fixture(scope="module")
def backend16():
    return OnnxRuntimeBackend(ensure_onnx(16), 16)


def _image(size=257, seed=0):
    return np.random.default_rng(seed).uniform(-1, 1, (1, size, size, 3)).astype(np.float32)


@pytest.mark.parametrize(("stride", "size", "cells"), [(16, 257, 17), (8, 257, 33), (16, 129, 9)])
def test_outputs_drop_the_batch_dim(stride, size, cells):
    backend = OnnxRuntimeBackend(ensure_onnx(stride), stride)
    outputs = backend.run(_image(size))
    assert isinstance(outputs, NetworkOutputs)
    shapes = [o.shape for o in outputs]
    assert shapes == [
        (cells, cells, 17),
        (cells, cells, 34),
        (cells, cells, 32),
        (cells, cells, 32),
    ]
    assert all(o.dtype == np.float32 and o.base is not None for o in outputs)  # views


def test_same_numbers_as_a_plain_session(backend16):
    image = _image(seed=3)
    session = ort.InferenceSession(str(ensure_onnx(16)), providers=["CPUExecutionProvider"])
    plain = session.run(None, {"image": image})
    for ours, theirs in zip(backend16.run(image), plain, strict=True):
        np.testing.assert_allclose(ours, theirs[0], rtol=1e-5, atol=1e-5)


def test_describe_is_one_line(backend16):
    text = backend16.describe()
    assert "\n" not in text
    assert text.startswith(f"onnxruntime {ort.__version__} [CPUExecutionProvider]")
    assert "stride=16" in text and backend16.name == "onnxruntime"


def test_threads_option():
    backend = OnnxRuntimeBackend(ensure_onnx(16), 16, threads=1)
    assert "threads=1" in backend.describe()
    assert backend.run(_image(65)).heatmap.shape == (5, 5, 17)


@pytest.mark.parametrize(
    ("image", "message"),
    [
        (np.zeros((1, 257, 257, 3), np.uint8), r"float32 NumPy array, got ndarray of uint8"),
        (np.zeros((1, 257, 257, 3)), r"got ndarray of float64"),
        ([[0.0]], r"got list"),
        (np.zeros((257, 257, 3), np.float32), r"shape \(1, H, W, 3\), got \(257, 257, 3\)"),
        (np.zeros((1, 257, 257, 4), np.float32), r"got \(1, 257, 257, 4\)"),
        (np.zeros((2, 257, 257, 3), np.float32), r"got \(2, 257, 257, 3\)"),
    ],
)
def test_bad_input(backend16, image, message):
    with pytest.raises(InvalidImageError, match=message):
        backend16.run(image)


def test_fixed_size_model_names_its_size():
    backend = OnnxRuntimeBackend(ensure_onnx(16, (257, 257)), 16)
    assert backend.run(_image(257)).heatmap.shape == (17, 17, 17)
    with pytest.raises(InvalidImageError, match=r"exported for input 257x257, got 513x513"):
        backend.run(_image(513))


def test_gpu_provider_without_onnxruntime_gpu():
    if "CUDAExecutionProvider" in ort.get_available_providers():
        pytest.skip("onnxruntime-gpu is installed here")
    with pytest.raises(
        BackendUnavailableError,
        match=r"CUDAExecutionProvider is not available.*"
        r"install onnxruntime-gpu",
    ):
        OnnxRuntimeBackend(ensure_onnx(16), 16, providers=["CUDAExecutionProvider"])


def test_unknown_provider():
    with pytest.raises(BackendUnavailableError, match=r"NopeExecutionProvider .*provider name"):
        OnnxRuntimeBackend(ensure_onnx(16), 16, providers=[("NopeExecutionProvider", {})])


def test_provider_that_silently_falls_back_is_reported(monkeypatch):
    # onnxruntime-gpu lists CUDA even where it then fails to load it and runs on CPU instead
    monkeypatch.setattr(
        onnxruntime_backend,
        "available_providers",
        lambda: ["CUDAExecutionProvider", "CPUExecutionProvider"],
    )
    with (
        pytest.warns(UserWarning),
        pytest.raises(BackendUnavailableError, match=r"could not start CUDAExecutionProvider"),
    ):
        OnnxRuntimeBackend(ensure_onnx(16), 16, providers=["CUDAExecutionProvider"])


def test_explicit_cpu_provider():
    backend = OnnxRuntimeBackend(ensure_onnx(16), 16, providers=["CPUExecutionProvider"])
    assert backend.providers == ["CPUExecutionProvider"]


@pytest.mark.parametrize(
    "providers", ["CPUExecutionProvider", [], [3], [("CPUExecutionProvider",)], {"a": 1}]
)
def test_malformed_providers(providers):
    with pytest.raises(InvalidConfigError, match=r"invalid providers"):
        OnnxRuntimeBackend(ensure_onnx(16), 16, providers=providers)


@pytest.mark.parametrize("threads", [0, -1, 1.5, True, "2"])
def test_bad_threads(threads):
    with pytest.raises(InvalidConfigError, match=r"invalid threads"):
        OnnxRuntimeBackend(ensure_onnx(16), 16, threads=threads)


def test_missing_model_file(tmp_path):
    with pytest.raises(ModelError, match=r"ONNX model .*nothing\.onnx does not exist"):
        OnnxRuntimeBackend(tmp_path / "nothing.onnx", 16)


def test_unloadable_model_file(tmp_path):
    (tmp_path / "bad.onnx").write_bytes(b"not a model")
    with pytest.raises(ModelError, match=r"ONNX Runtime cannot load .*bad\.onnx: "):
        OnnxRuntimeBackend(tmp_path / "bad.onnx", 16)
