"""CuPy access: device presence with a reason, device identity, and stream ordering.

Whether CuPy can really compile and run kernels is ``posenet_ros.gpu.probe``'s question.
"""

from __future__ import annotations

from dataclasses import dataclass
from types import ModuleType
from typing import Any

INSTALL_HINT = "pip install 'posenet_ros[gpu]' (CuPy for CUDA 12) or the cupy wheel for your CUDA"


def cuda_unavailable_reason() -> str | None:
    """None when CuPy imports and sees a CUDA device, else why not (one line).

    Counts devices only; ``probe.cupy_unusable_reason`` also compiles and runs a kernel.
    """
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


@dataclass(frozen=True)
class GpuIdentity:
    """What tells GPUs apart for engines: modules of one name differ in SMs and memory
    (every Jetson Orin reports "Orin", sm_87)."""

    name: str
    compute_capability: str  # e.g. "87" for Orin
    multiprocessors: int
    memory_bytes: int

    def describe(self) -> str:
        return (
            f"{self.name} (sm_{self.compute_capability}, {self.multiprocessors} SMs, "
            f"{self.memory_bytes // 2**20} MiB)"
        )


def gpu_identity(cp: ModuleType) -> GpuIdentity:
    device = cp.cuda.Device()
    properties = cp.cuda.runtime.getDeviceProperties(device.id)
    name = properties["name"]
    if isinstance(name, bytes):
        name = name.decode(errors="replace")
    return GpuIdentity(
        name=name.strip(),
        compute_capability=str(device.compute_capability),
        multiprocessors=int(properties["multiProcessorCount"]),
        memory_bytes=int(properties["totalGlobalMem"]),
    )


def order_after(cp: ModuleType, stream: Any) -> None:
    """Make the caller's current stream wait for the work queued so far on ``stream``.

    The backend works on its own stream; decoders run on whatever stream is current, so the
    hand-over is an event wait on the device, not a host synchronisation.
    """
    current = cp.cuda.get_current_stream()
    if current != stream:
        current.wait_event(stream.record())
