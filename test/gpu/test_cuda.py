"""CuPy availability reasons (the GPU-only helpers are exercised by the gpu-marked tests)."""

from __future__ import annotations

import sys
from types import SimpleNamespace

import pytest

from posenet_ros.errors import BackendUnavailableError
from posenet_ros.gpu import cuda


def test_missing_cupy_is_named_with_the_install_hint(monkeypatch) -> None:
    monkeypatch.setitem(sys.modules, "cupy", None)
    reason = cuda.cuda_unavailable_reason()
    assert reason is not None and reason.startswith("CuPy is not installed")
    assert "posenet_ros[gpu]" in reason
    with pytest.raises(BackendUnavailableError, match="CuPy is not installed"):
        cuda.import_cupy()


@pytest.mark.parametrize(
    ("is_available", "expected"),
    [
        (lambda: False, "no CUDA device is visible"),
        (lambda: (_ for _ in ()).throw(RuntimeError("driver too old")), "driver too old"),
    ],
)
def test_no_device_is_named(monkeypatch, is_available, expected) -> None:
    fake = SimpleNamespace(cuda=SimpleNamespace(is_available=is_available))
    monkeypatch.setitem(sys.modules, "cupy", fake)
    reason = cuda.cuda_unavailable_reason()
    assert reason is not None and expected in reason
    assert "\n" not in reason


def test_device_identity_and_present_device(monkeypatch) -> None:
    device = SimpleNamespace(id=0, compute_capability="87")
    fake = SimpleNamespace(
        cuda=SimpleNamespace(
            is_available=lambda: True,
            Device=lambda: device,
            runtime=SimpleNamespace(getDeviceProperties=lambda i: {"name": b"Orin "}),
        )
    )
    monkeypatch.setitem(sys.modules, "cupy", fake)
    assert cuda.cuda_unavailable_reason() is None
    identity = cuda.gpu_identity(fake)
    assert identity == cuda.GpuIdentity("Orin", "87")
    assert identity.describe() == "Orin (sm_87)"
