"""create_backend: explicit choices, the ``auto`` fallback chain and its reasons, bad input.

TensorRT and onnxruntime-gpu are absent here, so their presence is simulated with fakes.
"""

import logging
import shutil
import sys
import types

import numpy as np
import pytest
from gpu.gpu_fakes import NO_HEADERS, fake_cupy

from posenet_ros.backends import factory, tensorrt_backend
from posenet_ros.backends.factory import TENSORRT_MODULE, create_backend
from posenet_ros.backends.onnxruntime_backend import OnnxRuntimeBackend
from posenet_ros.errors import BackendUnavailableError, InvalidConfigError
from posenet_ros.model.weights import ensure_weights


class FakeTensorRTBackend:
    name = "tensorrt"

    def __init__(self, onnx_path, output_stride, input_size, **options):
        self.onnx_path, self.output_stride = onnx_path, output_stride
        self.input_size, self.options = input_size, options

    def describe(self):
        return "fake tensorrt"


@pytest.fixture
def fake_tensorrt(monkeypatch):
    """A TensorRT backend module that reports itself usable (set ``.reason`` to refuse)."""
    module = types.ModuleType(TENSORRT_MODULE)
    module.reason = None
    module.tensorrt_unavailable_reason = lambda: module.reason
    module.onnx_precision_for = lambda precision: precision
    module.TensorRTBackend = FakeTensorRTBackend
    monkeypatch.setitem(sys.modules, TENSORRT_MODULE, module)
    return module


@pytest.fixture
def model_dir(tmp_path):
    real = ensure_weights()
    shutil.copy(real.json_path, tmp_path)
    shutil.copy(real.bin_path, tmp_path)
    return tmp_path


@pytest.fixture
def no_tensorrt_module(monkeypatch):
    monkeypatch.setitem(sys.modules, TENSORRT_MODULE, None)  # import raises ImportError


class FakeGpuOrt:
    """Stands in for OnnxRuntimeBackend where onnxruntime-gpu is installed."""

    name = "onnxruntime"
    fail_with_providers: str | None = None

    def __init__(self, onnx_path, output_stride, providers=None, threads=None):
        if providers and self.fail_with_providers:
            raise BackendUnavailableError(self.fail_with_providers)
        self.onnx_path, self.providers, self.threads = onnx_path, providers, threads

    def describe(self):
        return f"fake onnxruntime {self.providers}"


@pytest.fixture
def gpu_ort(monkeypatch):
    monkeypatch.setattr(
        factory, "available_providers", lambda: ["CUDAExecutionProvider", "CPUExecutionProvider"]
    )
    monkeypatch.setattr(factory, "OnnxRuntimeBackend", FakeGpuOrt)
    monkeypatch.setattr(FakeGpuOrt, "fail_with_providers", None)
    return FakeGpuOrt


def test_onnxruntime_requested(caplog):
    with caplog.at_level(logging.INFO, logger="posenet_ros.backends.factory"):
        backend = create_backend("onnxruntime", 16, threads=1)
    assert isinstance(backend, OnnxRuntimeBackend)
    assert backend.selection_reason == "requested"
    assert "(requested)" in backend.describe()
    assert "inference backend: onnxruntime" in caplog.text


def test_auto_falls_back_to_cpu_here(caplog, no_tensorrt_module):
    with caplog.at_level(logging.INFO, logger="posenet_ros.backends.factory"):
        backend = create_backend("auto", 8, input_size=(257, 257))
    assert isinstance(backend, OnnxRuntimeBackend) and backend.output_stride == 8
    assert backend.providers == ["CPUExecutionProvider"]
    reason = backend.selection_reason
    assert reason.startswith("auto: TensorRT unavailable (") and "cannot be imported" in reason
    assert "onnxruntime-gpu not installed" in reason and reason.endswith("ONNX Runtime CPU")
    assert reason in caplog.text and reason in backend.describe()
    # The input size was for TensorRT: ONNX Runtime runs the dynamic model, any size.
    assert "_s8_dynamic_" in backend.describe()


def test_tensorrt_missing_module(no_tensorrt_module):
    with pytest.raises(
        BackendUnavailableError, match=r"tensorrt backend cannot run here: .*import"
    ):
        create_backend("tensorrt", 16, input_size=(257, 257))


def test_tensorrt_unusable(fake_tensorrt):
    fake_tensorrt.reason = "no CUDA device (cudaErrorNoDevice)"
    with pytest.raises(BackendUnavailableError, match=r"cannot run here: no CUDA device"):
        create_backend("tensorrt", 16, input_size=(257, 257))
    backend = create_backend("auto", 16, input_size=(257, 257))
    assert "TensorRT unavailable (no CUDA device" in backend.selection_reason


def test_tensorrt_on_this_machine():
    """Whatever the real module says (TensorRT is not installed here), it is one clear error."""
    if not isinstance(factory._tensorrt_module(), str):
        pytest.skip("TensorRT is usable here")
    with pytest.raises(BackendUnavailableError, match=r"^the tensorrt backend cannot run here: "):
        create_backend("tensorrt", 16, input_size=(257, 257))


def test_tensorrt_requested(fake_tensorrt, model_dir):
    engines = model_dir / "engines"
    backend = create_backend(
        "tensorrt",
        8,
        input_size=(257, 321),
        model_dir=model_dir,
        precision="fp16",
        engine_cache_dir=engines,
    )
    assert isinstance(backend, FakeTensorRTBackend)
    assert backend.selection_reason == "requested"
    assert backend.output_stride == 8 and backend.input_size == (257, 321)
    assert backend.options == {"precision": "fp16", "engine_cache_dir": engines}
    assert "_s8_257x321_fp16_" in backend.onnx_path.name


@pytest.mark.parametrize(
    ("max_batch", "export"), [(1, "_s16_257x257_"), (4, "_s16_batched_257x257_")]
)
def test_tensorrt_max_batch_is_built_from_the_batched_export(
    fake_tensorrt, model_dir, max_batch, export
):
    backend = create_backend(
        "tensorrt", 16, input_size=(257, 257), model_dir=model_dir, max_batch=max_batch
    )
    assert backend.options == {"max_batch": max_batch}
    assert export in backend.onnx_path.name


def test_auto_gives_max_batch_to_tensorrt_only(fake_tensorrt, no_gpu_ort, model_dir):
    backend = create_backend("auto", 16, input_size=(257, 257), model_dir=model_dir, max_batch=2)
    assert isinstance(backend, FakeTensorRTBackend) and backend.options == {"max_batch": 2}
    assert "_s16_batched_257x257_" in backend.onnx_path.name
    fake_tensorrt.reason = "no GPU"
    fallback = create_backend("auto", 16, input_size=(257, 257), model_dir=model_dir, max_batch=2)
    assert isinstance(fallback, OnnxRuntimeBackend) and fallback.max_batch == 1


@pytest.mark.parametrize("name", ["tensorrt", "auto"])
@pytest.mark.parametrize("max_batch", [0, 17, 2.0, True])
def test_bad_max_batch_is_refused_before_any_export(fake_tensorrt, tmp_path, name, max_batch):
    fake_tensorrt.reason = "no GPU" if name == "auto" else None  # auto: ONNX Runtime
    with pytest.raises(InvalidConfigError, match=rf"invalid max_batch {max_batch!r}: expected an"):
        create_backend(name, 16, input_size=(257, 257), model_dir=tmp_path, max_batch=max_batch)
    assert not list(tmp_path.iterdir())


def test_auto_prefers_tensorrt(fake_tensorrt, gpu_ort, model_dir):
    backend = create_backend(
        "auto", 16, input_size=(257, 257), model_dir=model_dir, threads=2, precision="fp16"
    )
    assert isinstance(backend, FakeTensorRTBackend)
    assert backend.options == {"precision": "fp16"}  # the ONNX Runtime options stay behind
    assert backend.selection_reason == "auto: TensorRT and CuPy passed the GPU probe"


def test_auto_without_input_size_skips_tensorrt(fake_tensorrt):
    backend = create_backend("auto", 16)
    assert isinstance(backend, OnnxRuntimeBackend)
    assert "TensorRT unavailable (it needs a fixed input size)" in backend.selection_reason


def test_auto_uses_onnxruntime_cuda(no_tensorrt_module, gpu_ort):
    backend = create_backend("auto", 16, threads=2, precision="fp16")
    assert isinstance(backend, FakeGpuOrt)
    assert backend.providers == ["CUDAExecutionProvider"] and backend.threads == 2
    assert backend.selection_reason.endswith("; ONNX Runtime CUDA")


@pytest.mark.parametrize("fail_cuda", [False, True])
def test_auto_builds_onnxruntime_fallbacks_dynamic_whatever_the_input_size(
    no_tensorrt_module, gpu_ort, model_dir, fail_cuda
):
    gpu_ort.fail_with_providers = "no GPU" if fail_cuda else None
    backend = create_backend("auto", 16, input_size=(257, 257), model_dir=model_dir)
    assert isinstance(backend, FakeGpuOrt)
    assert backend.providers == (None if fail_cuda else ["CUDAExecutionProvider"])
    assert "_s16_dynamic_" in backend.onnx_path.name


def test_auto_falls_back_when_cuda_fails_to_start(no_tensorrt_module, gpu_ort):
    gpu_ort.fail_with_providers = "ONNX Runtime could not start CUDAExecutionProvider (no GPU)"
    backend = create_backend("auto", 16)
    assert backend.providers is None
    assert "could not start CUDAExecutionProvider (no GPU); ONNX Runtime CPU" in (
        backend.selection_reason
    )


def test_onnxruntime_with_unavailable_gpu_provider():
    if "CUDAExecutionProvider" in factory.available_providers():
        pytest.skip("onnxruntime-gpu is installed here")
    with pytest.raises(BackendUnavailableError, match=r"install onnxruntime-gpu"):
        create_backend("onnxruntime", 16, providers=["CUDAExecutionProvider"])


def test_model_dir_is_used(model_dir):
    backend = create_backend("onnxruntime", 16, input_size=(129, 129), model_dir=model_dir)
    (exported,) = model_dir.glob("posenet_mnv1_075_s16_129x129_fp32_*.onnx")
    assert f"model={exported.name} " in backend.describe()  # the fixed-size export it made
    outputs = backend.run(np.zeros((1, 129, 129, 3), np.float32))
    # (129 - 1) / 16 + 1 = 9 cells a side; 17 heatmaps, 34 offsets, 32 + 32 displacements
    assert [m.shape for m in outputs] == [(9, 9, 17), (9, 9, 34), (9, 9, 32), (9, 9, 32)]


@pytest.mark.parametrize(
    ("args", "kwargs", "message"),
    [
        (("cuda", 16), {}, r"invalid backend 'cuda': expected one of auto, onnxruntime, tensorrt"),
        (("onnxruntime", 32), {}, r"1\.0-multiplier"),
        (("auto", 12), {}, r"invalid output_stride 12"),
        (("onnxruntime", 16), {"precision": "fp16"}, r"unknown onnxruntime backend option"),
        (("auto", 16), {"colour": "red"}, r"unknown backend option\(s\): colour"),
        (("auto", 16), {"providers": ["CPUExecutionProvider"]}, r"providers option needs"),
        (("onnxruntime", 16), {"input_size": (0, 0)}, r"invalid input_size"),
    ],
)
def test_bad_arguments(args, kwargs, message):
    with pytest.raises(InvalidConfigError, match=message):
        create_backend(*args, **kwargs)


def test_bad_tensorrt_arguments(fake_tensorrt):
    with pytest.raises(InvalidConfigError, match=r"needs a fixed input_size"):
        create_backend("tensorrt", 16)
    with pytest.raises(InvalidConfigError, match=r"unknown tensorrt backend option\(s\): threads"):
        create_backend("tensorrt", 16, input_size=(257, 257), threads=2)


def test_auto_falls_back_when_cupy_cannot_compile_and_no_engine_is_built(
    monkeypatch, caplog, no_gpu_ort
):
    """A driver and TensorRT, but CuPy without NVRTC headers: the probe fails before a build."""
    fake_cupy(monkeypatch, kernel_error=NO_HEADERS)
    monkeypatch.setattr(tensorrt_backend.trt_compat, "tensorrt_import_error", lambda: None)
    monkeypatch.setattr(
        tensorrt_backend, "build_engine", lambda *a, **k: pytest.fail("an engine was built")
    )
    with caplog.at_level(logging.INFO, logger="posenet_ros.backends.factory"):
        backend = create_backend("auto", 16, input_size=(257, 257), precision="fp16")
    assert isinstance(backend, OnnxRuntimeBackend)
    reason = backend.selection_reason
    assert reason.startswith(
        "auto: TensorRT unavailable (CuPy cannot compile and run a CUDA kernel "
        "(RuntimeError: Failed to find CUDA headers."
    )
    assert reason.endswith("; ONNX Runtime CPU")
    assert reason in backend.describe() and reason in caplog.text  # diagnostics show describe()
    with pytest.raises(BackendUnavailableError, match=r"cannot run here: CuPy cannot compile"):
        create_backend("tensorrt", 16, input_size=(257, 257))


@pytest.fixture
def no_gpu_ort(monkeypatch):
    monkeypatch.setattr(factory, "available_providers", lambda: ["CPUExecutionProvider"])


def test_fall_back_gives_auto_its_onnxruntime_choice_with_the_reason(caplog, no_gpu_ort):
    failure = "the GPU path failed its first frame (RuntimeError: nvrtc: error)"
    with caplog.at_level(logging.WARNING, logger="posenet_ros.backends.factory"):
        backend = factory.fall_back(16, failure, precision="fp16")
    assert isinstance(backend, OnnxRuntimeBackend) and backend.output_stride == 16
    assert backend.selection_reason == (
        f"auto: TensorRT unavailable ({failure}); onnxruntime has no CUDAExecutionProvider "
        "(onnxruntime-gpu not installed); ONNX Runtime CPU"
    )
    assert backend.selection_reason in caplog.text


def test_fall_back_tries_onnxruntime_cuda_first(gpu_ort):
    backend = factory.fall_back(8, "first kernel failed", threads=2)
    assert backend.providers == ["CUDAExecutionProvider"] and backend.threads == 2
    assert backend.selection_reason == (
        "auto: TensorRT unavailable (first kernel failed); ONNX Runtime CUDA"
    )
