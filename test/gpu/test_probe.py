"""The GPU capability probe with CuPy and TensorRT faked at their boundary: a kernel that does
not compile, one that computes wrong values, a runtime that cannot be created; and the answer
is computed once."""

from __future__ import annotations

import sys
from collections.abc import Callable
from types import SimpleNamespace

import pytest

from gpu.gpu_fakes import NO_HEADERS, fake_cupy
from posenet_ros.errors import BackendUnavailableError
from posenet_ros.gpu import probe, trt_compat


def fake_tensorrt(monkeypatch: pytest.MonkeyPatch, runtime: Callable[[object], object]) -> None:
    trt = SimpleNamespace(Runtime=runtime)
    monkeypatch.setattr(trt_compat, "tensorrt_import_error", lambda: None)
    monkeypatch.setattr(trt_compat, "import_tensorrt", lambda: trt)
    monkeypatch.setattr(trt_compat, "trt_logger", lambda trt: "logger")


def test_a_working_cupy_compiles_runs_and_is_imported(monkeypatch) -> None:
    compiled = fake_cupy(monkeypatch)
    assert probe.cupy_unusable_reason() is None
    assert compiled == ["y = x * 2.0f + 1.0f"]
    assert probe.import_cupy() is sys.modules["cupy"]


def test_missing_cuda_headers_are_found_before_the_gpu_is_chosen(monkeypatch) -> None:
    fake_cupy(monkeypatch, kernel_error=NO_HEADERS)
    reason = probe.cupy_unusable_reason()
    assert reason == (
        "CuPy cannot compile and run a CUDA kernel (RuntimeError: Failed to find CUDA headers. "
        "Set CUDA_PATH or install cupy-cuda12x[ctk].); " + probe.COMPILE_HINT
    )
    with pytest.raises(BackendUnavailableError, match=r"^GPU path cannot run: CuPy cannot"):
        probe.import_cupy()


def test_a_kernel_computing_wrong_values_fails_the_probe(monkeypatch) -> None:
    fake_cupy(monkeypatch, compute=lambda x: x * 0)
    assert probe.cupy_unusable_reason() == (
        "CuPy's probe kernel computed [0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0], "
        "not [1.0, 3.0, 5.0, 7.0, 9.0, 11.0, 13.0, 15.0]"
    )


def test_no_device_is_reported_without_compiling(monkeypatch) -> None:
    compiled = fake_cupy(monkeypatch, devices=False)
    assert probe.cupy_unusable_reason().startswith("no CUDA device is visible")
    assert compiled == []


def test_the_probe_runs_once_per_process(monkeypatch) -> None:
    compiled = fake_cupy(monkeypatch)
    assert probe.cupy_unusable_reason() is None
    assert probe.cupy_unusable_reason() is None
    assert len(compiled) == 1
    probe.clear_cache()
    assert probe.cupy_unusable_reason() is None
    assert len(compiled) == 2


@pytest.mark.parametrize(
    ("runtime", "expected"),
    [
        (lambda logger: "runtime", None),
        (lambda logger: None, "TensorRT cannot create a runtime (no usable CUDA device?)"),
        (
            lambda logger: (_ for _ in ()).throw(TypeError("factory returned nullptr\nline 2")),
            "TensorRT cannot create a runtime (TypeError: factory returned nullptr)",
        ),
    ],
)
def test_tensorrt_must_create_a_runtime(monkeypatch, runtime, expected) -> None:
    fake_cupy(monkeypatch)
    fake_tensorrt(monkeypatch, runtime)
    reason = probe.tensorrt_unusable_reason()
    if expected is None:
        assert reason is None
    else:
        assert reason is not None and reason.startswith(expected) and "\n" not in reason


def test_tensorrt_reason_names_everything_missing(monkeypatch) -> None:
    fake_cupy(monkeypatch, kernel_error=NO_HEADERS)
    monkeypatch.setattr(trt_compat, "tensorrt_import_error", lambda: "no tensorrt bindings")
    reason = probe.tensorrt_unusable_reason()
    assert reason.startswith("no tensorrt bindings; CuPy cannot compile and run a CUDA kernel")


def test_a_broken_cupy_keeps_tensorrt_from_being_tried(monkeypatch) -> None:
    """A runtime is not created when CuPy fails: the GPU path needs both."""
    fake_cupy(monkeypatch, kernel_error=NO_HEADERS)
    fake_tensorrt(monkeypatch, lambda logger: pytest.fail("runtime created"))
    assert "Failed to find CUDA headers" in probe.tensorrt_unusable_reason()


def test_one_line() -> None:
    assert probe.one_line(RuntimeError("first\nsecond")) == "RuntimeError: first"
    assert probe.one_line(RuntimeError()) == "RuntimeError"
