"""A ``cupy`` stand-in for the GPU probe: devices present or not, and an ElementwiseKernel
that compiles and computes, computes wrong values, or raises as CuPy does without headers."""

from __future__ import annotations

import sys
import types
from collections.abc import Callable
from types import SimpleNamespace

import numpy as np
import pytest

# What CuPy 14 raises on a first kernel without the CUDA headers (its ctk extra absent).
NO_HEADERS = RuntimeError(
    "Failed to find CUDA headers. Set CUDA_PATH or install cupy-cuda12x[ctk].\nmore detail"
)


def fake_cupy(
    monkeypatch: pytest.MonkeyPatch,
    kernel_error: Exception | None = None,
    compute: Callable[[np.ndarray], np.ndarray] = lambda x: x * 2 + 1,
    devices: bool = True,
) -> list[str]:
    """Install a ``cupy`` whose ElementwiseKernel raises ``kernel_error`` when called (CuPy
    compiles on the first call) or returns ``compute(x)``; returns the operations compiled."""
    compiled: list[str] = []

    def elementwise_kernel(in_params: str, out_params: str, operation: str, name: str):
        def call(x: SimpleNamespace) -> SimpleNamespace:
            if kernel_error is not None:
                raise kernel_error
            compiled.append(operation)
            return SimpleNamespace(get=lambda: compute(x.host))

        return call

    module = types.ModuleType("cupy")
    module.cuda = SimpleNamespace(is_available=lambda: devices)
    module.ElementwiseKernel = elementwise_kernel
    module.asarray = lambda array: SimpleNamespace(host=np.array(array))
    monkeypatch.setitem(sys.modules, "cupy", module)
    return compiled
