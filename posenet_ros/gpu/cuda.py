"""CuPy access: availability with a reason, device identity, and stream ordering."""

from __future__ import annotations

from dataclasses import dataclass
from types import ModuleType
from typing import Any

from posenet_ros.errors import BackendUnavailableError

INSTALL_HINT = "pip install 'posenet_ros[gpu]' (CuPy for CUDA 12) or the cupy wheel for your CUDA"


def cuda_unavailable_reason() -> str | None:
    """None when CuPy imports and sees a CUDA device, else why not (one line)."""
    try:
        import cupy  # optional dependency
    except ImportError as exc:
        return f"CuPy is not installed ({exc}); {INSTALL_HINT}"
    try:
        if cupy.cuda.is_available():
            return None
    except Exception as exc:  # a broken driver install raises instead of returning False
        return f"CuPy cannot reach the CUDA driver ({exc})"
    return "no CUDA device is visible (no NVIDIA driver/GPU, or CUDA_VISIBLE_DEVICES hides it)"


def import_cupy() -> ModuleType:
    """The ``cupy`` module with a usable device, or ``BackendUnavailableError`` saying why."""
    reason = cuda_unavailable_reason()
    if reason is not None:
        raise BackendUnavailableError(f"GPU path cannot run: {reason}")
    import cupy

    return cupy


@dataclass(frozen=True)
class GpuIdentity:
    name: str
    compute_capability: str  # e.g. "87" for Orin

    def describe(self) -> str:
        return f"{self.name} (sm_{self.compute_capability})"


def gpu_identity(cp: ModuleType) -> GpuIdentity:
    device = cp.cuda.Device()
    name = cp.cuda.runtime.getDeviceProperties(device.id)["name"]
    if isinstance(name, bytes):
        name = name.decode(errors="replace")
    return GpuIdentity(name=name.strip(), compute_capability=str(device.compute_capability))


def order_after(cp: ModuleType, stream: Any) -> None:
    """Make the caller's current stream wait for the work queued so far on ``stream``.

    The backend works on its own stream; decoders run on whatever stream is current, so the
    hand-over is an event wait on the device, not a host synchronisation.
    """
    current = cp.cuda.get_current_stream()
    if current != stream:
        current.wait_event(stream.record())
