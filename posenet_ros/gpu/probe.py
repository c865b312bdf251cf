"""Capability probe: can this process really run the GPU path?

``cupy.cuda.is_available()`` only counts devices. A machine with a driver but without NVRTC or
the CUDA headers (CuPy installed without its ``ctk`` extra, no CUDA toolkit) passes it, and
then fails on the first kernel, after minutes of engine building. So before ``auto`` chooses
the GPU or an engine is built, the probe compiles and runs one tiny CuPy kernel (through
``ElementwiseKernel``, the machinery of our preprocessing kernel and of CuPy's own ufuncs),
checks its result on the host, and creates a TensorRT runtime. Each answer is computed once
per process and cached (``clear_cache`` forgets them).
"""

from __future__ import annotations

import functools
from types import ModuleType

import numpy as np

from posenet_ros.errors import BackendUnavailableError
from posenet_ros.gpu import trt_compat
from posenet_ros.gpu.cuda import cuda_unavailable_reason

COMPILE_HINT = (
    "CuPy needs NVRTC and the CUDA headers to compile kernels: pip install 'cupy-cuda12x[ctk]' "
    "(desktop), or use the CUDA toolkit JetPack installs (Jetson; set CUDA_PATH=/usr/local/cuda)"
)
_PROBE_INPUT = np.arange(8, dtype=np.float32)
_PROBE_EXPECTED = _PROBE_INPUT * 2 + 1


@functools.cache
def cupy_unusable_reason() -> str | None:
    """None when CuPy sees a device and compiles and runs a kernel correctly, else why not."""
    reason = cuda_unavailable_reason()
    if reason is not None:
        return reason
    import cupy

    try:
        kernel = cupy.ElementwiseKernel(
            "float32 x", "float32 y", "y = x * 2.0f + 1.0f", "posenet_ros_probe"
        )
        result = kernel(cupy.asarray(_PROBE_INPUT)).get()
    except Exception as exc:  # CuPy raises RuntimeError, CompileException, NVRTC/CUDA errors
        return f"CuPy cannot compile and run a CUDA kernel ({one_line(exc)}); {COMPILE_HINT}"
    if not np.array_equal(result, _PROBE_EXPECTED):
        return f"CuPy's probe kernel computed {result.tolist()}, not {_PROBE_EXPECTED.tolist()}"
    return None


@functools.cache
def tensorrt_unusable_reason() -> str | None:
    """None when TensorRT imports and creates a runtime on a working CuPy device, else why not.

    The TensorRT and CuPy reasons are joined, so one line names everything missing.
    """
    reasons = [r for r in (trt_compat.tensorrt_import_error(), cupy_unusable_reason()) if r]
    if reasons:
        return "; ".join(reasons)
    trt = trt_compat.import_tensorrt()
    try:
        runtime = trt.Runtime(trt_compat.trt_logger(trt))
    except Exception as exc:  # pybind11 raises when the factory returns nullptr
        return f"TensorRT cannot create a runtime ({one_line(exc)}); see the TensorRT log"
    if runtime is None:
        return "TensorRT cannot create a runtime (no usable CUDA device?); see the TensorRT log"
    return None


def import_cupy() -> ModuleType:
    """The ``cupy`` module, proven to run kernels, or ``BackendUnavailableError`` saying why."""
    reason = cupy_unusable_reason()
    if reason is not None:
        raise BackendUnavailableError(f"GPU path cannot run: {reason}")
    import cupy

    return cupy


def clear_cache() -> None:
    """Forget the probes' answers (tests; a process that changed its CUDA set-up)."""
    cupy_unusable_reason.cache_clear()
    tensorrt_unusable_reason.cache_clear()


def one_line(exc: BaseException) -> str:
    """``Type: first line of the message``, for reasons that must fit on one line."""
    lines = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {lines[0]}" if lines else type(exc).__name__
