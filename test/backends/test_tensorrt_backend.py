"""TensorRT backend without a GPU: argument checks, and one clear error naming what is missing.

Inference itself is covered by test/gpu/test_tensorrt_gpu.py where TensorRT and a GPU exist.
"""

from __future__ import annotations

import pytest

from posenet_ros.backends import tensorrt_backend
from posenet_ros.backends.tensorrt_backend import (
    TensorRTBackend,
    onnx_precision_for,
    tensorrt_unavailable_reason,
)
from posenet_ros.errors import BackendUnavailableError, InvalidConfigError, ModelError


@pytest.fixture
def onnx_file(tmp_path):
    path = tmp_path / "model.onnx"
    path.write_bytes(b"onnx")
    return path


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"output_stride": 32}, "invalid output_stride 32: expected one of 8, 16"),
        ({"output_stride": True}, "invalid output_stride True"),
        ({"precision": "int8"}, "invalid precision 'int8': expected one of fp32, fp16"),
        ({"input_size": None}, "invalid input_size None: TensorRT engines are built for one"),
        ({"input_size": (257,)}, "invalid input_size"),
        ({"input_size": (257, 0)}, "invalid input_size"),
        ({"input_size": (257.0, 257)}, "invalid input_size"),
        ({"workspace_mb": 0}, "invalid workspace_mb 0: expected an integer >= 1"),
        ({"workspace_mb": "1G"}, "invalid workspace_mb '1G'"),
    ],
)
def test_bad_arguments_are_refused_first(onnx_file, kwargs, message) -> None:
    args = {"onnx_path": onnx_file, "output_stride": 16, "input_size": (257, 257), **kwargs}
    with pytest.raises(InvalidConfigError, match=message.replace("(", r"\(")):
        TensorRTBackend(**args)


def test_missing_model_is_a_model_error(tmp_path) -> None:
    with pytest.raises(ModelError, match="does not exist"):
        TensorRTBackend(tmp_path / "none.onnx", 16, (257, 257))


def test_reason_names_everything_missing(monkeypatch) -> None:
    monkeypatch.setattr(tensorrt_backend.trt_compat, "tensorrt_import_error", lambda: "no trt")
    monkeypatch.setattr(tensorrt_backend, "cuda_unavailable_reason", lambda: "no gpu")
    assert tensorrt_unavailable_reason() == "no trt; no gpu"
    monkeypatch.setattr(tensorrt_backend, "cuda_unavailable_reason", lambda: None)
    assert tensorrt_unavailable_reason() == "no trt"
    monkeypatch.setattr(tensorrt_backend.trt_compat, "tensorrt_import_error", lambda: None)
    assert tensorrt_unavailable_reason() is None


def test_unavailable_here_is_one_clear_error(onnx_file, monkeypatch) -> None:
    monkeypatch.setattr(tensorrt_backend, "tensorrt_unavailable_reason", lambda: "no trt; no gpu")
    with pytest.raises(BackendUnavailableError) as info:
        TensorRTBackend(onnx_file, 16, (257, 257), precision="fp16")
    assert str(info.value) == "backend tensorrt cannot run here: no trt; no gpu"


def test_this_machine_reports_a_one_line_reason() -> None:
    reason = tensorrt_unavailable_reason()
    if reason is None:
        pytest.skip("TensorRT and a CUDA device are present here")
    assert reason and "\n" not in reason


def test_onnx_precision_without_tensorrt(monkeypatch) -> None:
    monkeypatch.setattr(tensorrt_backend.trt_compat, "tensorrt_import_error", lambda: "no trt")
    assert onnx_precision_for("fp16") == "fp32"
    assert onnx_precision_for("fp32") == "fp32"
    with pytest.raises(InvalidConfigError, match="invalid precision 'half'"):
        onnx_precision_for("half")
