"""CuPy device presence and identity (the GPU-only helpers are exercised by the gpu-marked
tests; whether kernels compile is test_probe.py's)."""

from __future__ import annotations

import sys
from types import SimpleNamespace

import pytest

from posenet_ros.gpu import cuda


def test_missing_cupy_is_named_with_the_install_hint(monkeypatch) -> None:
    monkeypatch.setitem(sys.modules, "cupy", None)
    reason = cuda.cuda_unavailable_reason()
    assert reason is not None and reason.startswith("CuPy is not installed")
    assert "posenet_ros[gpu]" in reason


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


def _fake_cupy(name: bytes, compute_capability: str, sms: int, memory: int) -> SimpleNamespace:
    device = SimpleNamespace(id=0, compute_capability=compute_capability)
    properties = {"name": name, "multiProcessorCount": sms, "totalGlobalMem": memory}
    return SimpleNamespace(
        cuda=SimpleNamespace(
            is_available=lambda: True,
            Device=lambda: device,
            runtime=SimpleNamespace(getDeviceProperties=lambda i: properties),
        )
    )


def test_device_identity_and_present_device(monkeypatch) -> None:
    fake = _fake_cupy(b"Orin ", "87", 16, 62_841 * 2**20)
    monkeypatch.setitem(sys.modules, "cupy", fake)
    assert cuda.cuda_unavailable_reason() is None
    identity = cuda.gpu_identity(fake)
    assert identity == cuda.GpuIdentity("Orin", "87", 16, 62_841 * 2**20)
    assert identity.describe() == "Orin (sm_87, 16 SMs, 62841 MiB)"


def test_two_modules_of_one_name_have_two_identities() -> None:
    """AGX Orin and Orin Nano both report "Orin", sm_87; SMs and memory differ."""
    agx = cuda.gpu_identity(_fake_cupy(b"Orin", "87", 16, 62_841 * 2**20))
    nano = cuda.gpu_identity(_fake_cupy(b"Orin", "87", 8, 7_620 * 2**20))
    assert (agx.name, agx.compute_capability) == (nano.name, nano.compute_capability)
    assert agx != nano
    assert nano.describe() == "Orin (sm_87, 8 SMs, 7620 MiB)"
