"""TensorRT backend without a GPU: argument checks, one clear error naming what is missing,
and, with TensorRT and CuPy faked at their boundary, every TensorRT call that can fail by
returning None or False, and an engine cache that cannot be written.

Inference itself is covered by test/gpu/test_tensorrt_gpu.py where TensorRT and a GPU exist.
"""

from __future__ import annotations

import logging
from types import SimpleNamespace

import numpy as np
import pytest

from posenet_ros.backends import tensorrt_backend
from posenet_ros.backends.tensorrt_backend import (
    TensorRTBackend,
    onnx_precision_for,
    tensorrt_unavailable_reason,
)
from posenet_ros.errors import BackendUnavailableError, InvalidConfigError, ModelError
from posenet_ros.gpu.cuda import GpuIdentity
from posenet_ros.gpu.trt_compat import IOTensor


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


def test_reason_comes_from_the_gpu_probe(monkeypatch) -> None:
    monkeypatch.setattr(tensorrt_backend.probe, "tensorrt_unusable_reason", lambda: "no trt")
    assert tensorrt_unavailable_reason() == "no trt"
    monkeypatch.setattr(tensorrt_backend.probe, "tensorrt_unusable_reason", lambda: None)
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


IO = [
    IOTensor("image", True, np.dtype(np.float32), (1, 257, 257, 3)),
    *(
        IOTensor(name, False, np.dtype(np.float32), (1, 17, 17, c))
        for name, c in (
            ("heatmap", 17),
            ("offsets", 34),
            ("displacement_fwd", 32),
            ("displacement_bwd", 32),
        )
    ),
]


class FakeStream:
    ptr = 1234

    def __enter__(self) -> FakeStream:
        return self

    def __exit__(self, *exc: object) -> None:
        pass

    def record(self) -> str:
        return "event"

    def wait_event(self, event: object) -> None:
        pass


class FakeDeviceBuffer:
    def __init__(self, shape: tuple, dtype: object) -> None:
        self.shape, self.data = shape, SimpleNamespace(ptr=id(self))

    def __setitem__(self, index: object, value: object) -> None:
        pass


class FakeContext:
    """An execution context whose calls succeed unless the test names one that fails."""

    def __init__(self, failing: str) -> None:
        self.failing = failing

    def set_input_shape(self, name: str, shape: tuple) -> bool:
        return self.failing != "set_input_shape"

    def get_tensor_shape(self, name: str) -> tuple:
        return next(t.shape for t in IO if t.name == name)

    def set_tensor_address(self, name: str, address: int) -> bool:
        return self.failing != "set_tensor_address"

    def execute_async_v3(self, stream: int) -> bool:
        return self.failing != "execute_async_v3"


@pytest.fixture
def fake_gpu(monkeypatch):
    """TensorRT and CuPy faked at their boundary; ``failing`` names the call that fails."""
    state = SimpleNamespace(failing="", builds=0)

    def create_context() -> FakeContext | None:
        return None if state.failing == "create_execution_context" else FakeContext(state.failing)

    engine = SimpleNamespace(create_execution_context=create_context)
    runtime = SimpleNamespace(deserialize_cuda_engine=lambda blob: engine)
    trt = SimpleNamespace(
        __version__="10.3.0",
        Runtime=lambda logger: None if state.failing == "Runtime" else runtime,
    )
    cp = SimpleNamespace(
        cuda=SimpleNamespace(
            Stream=lambda non_blocking: FakeStream(), get_current_stream=FakeStream
        ),
        empty=FakeDeviceBuffer,
        ElementwiseKernel=lambda *args, **kwargs: None,
    )

    def build_engine(trt, onnx, shape, precision, workspace, timing_cache) -> bytes:
        state.builds += 1
        timing_cache.save(b"timings")  # as the real builder does after a build
        return b"plan"

    monkeypatch.setattr(tensorrt_backend, "tensorrt_unavailable_reason", lambda: None)
    monkeypatch.setattr(tensorrt_backend.trt_compat, "import_tensorrt", lambda: trt)
    monkeypatch.setattr(tensorrt_backend.trt_compat, "trt_logger", lambda trt: "logger")
    monkeypatch.setattr(tensorrt_backend.trt_compat, "io_tensors", lambda trt, engine: IO)
    monkeypatch.setattr(tensorrt_backend.probe, "import_cupy", lambda: cp)
    monkeypatch.setattr(
        tensorrt_backend, "gpu_identity", lambda cp: GpuIdentity("Orin", "87", 8, 7620 << 20)
    )
    monkeypatch.setattr(tensorrt_backend, "build_engine", build_engine)
    return state


def test_the_fakes_build_a_working_backend(onnx_file, tmp_path, fake_gpu) -> None:
    backend = TensorRTBackend(onnx_file, 16, (257, 257), engine_cache_dir=tmp_path)
    assert fake_gpu.builds == 1 and backend.engine_path.is_file()
    assert "Orin (sm_87, 8 SMs, 7620 MiB)" in backend.describe()
    assert "(requested)" in backend.describe()


@pytest.mark.parametrize(
    ("failing", "message"),
    [
        ("Runtime", r"could not create a runtime .*free device memory"),
        (
            "create_execution_context",
            r"could not create an execution context for .*\.engine \(see the TensorRT log\): "
            r"free device memory \(close other GPU programs\) or lower workspace_mb, or use a "
            r"smaller input_resolution",
        ),
        ("set_input_shape", r"rejects input shape \(1, 257, 257, 3\): delete the file"),
        ("set_tensor_address", r"refuses a buffer for image: delete the file"),
    ],
)
def test_a_tensorrt_call_failing_at_construction_says_what_to_do(
    onnx_file, tmp_path, fake_gpu, failing, message
) -> None:
    fake_gpu.failing = failing
    with pytest.raises(ModelError, match=message):
        TensorRTBackend(onnx_file, 16, (257, 257), engine_cache_dir=tmp_path)


def test_failed_inference_is_a_model_error(onnx_file, tmp_path, fake_gpu) -> None:
    fake_gpu.failing = "execute_async_v3"
    backend = TensorRTBackend(onnx_file, 16, (257, 257), engine_cache_dir=tmp_path)
    with pytest.raises(ModelError, match=r"TensorRT inference failed .*free device memory"):
        backend.run(FakeDeviceBuffer((1, 257, 257, 3), np.float32))


def test_an_unwritable_engine_dir_keeps_the_engine_in_memory(
    onnx_file, tmp_path, fake_gpu, caplog
) -> None:
    (tmp_path / "file").write_text("a file where the engine dir should be")
    with caplog.at_level(logging.WARNING):
        backend = TensorRTBackend(onnx_file, 16, (257, 257), engine_cache_dir=tmp_path / "file")
    assert fake_gpu.builds == 1 and not backend.engine_path.exists()
    warnings = [r for r in caplog.records if r.levelno >= logging.WARNING]
    assert len(warnings) == 1  # the timing cache and the engine: one warning
    assert "set POSENET_ROS_ENGINE_DIR to a writable directory" in warnings[0].getMessage()
