"""Fixtures for the GPU tests: each skips with the reason when CuPy/CUDA/TensorRT is missing;
the GPU probe's cached answers are forgotten around every test (tests fake CuPy/TensorRT)."""

from __future__ import annotations

from collections.abc import Iterator
from types import ModuleType

import pytest

from posenet_ros.backends.tensorrt_backend import tensorrt_unavailable_reason
from posenet_ros.gpu import probe
from posenet_ros.gpu.cuda import cuda_unavailable_reason


@pytest.fixture(autouse=True)
def _fresh_probe() -> Iterator[None]:
    probe.clear_cache()
    yield
    probe.clear_cache()


@pytest.fixture
def cp() -> ModuleType:
    """CuPy with a CUDA device, else the test is skipped saying what is missing."""
    reason = cuda_unavailable_reason()
    if reason is not None:
        pytest.skip(f"needs a CUDA device through CuPy: {reason}")
    import cupy

    return cupy


@pytest.fixture
def trt_ready() -> None:
    """Skips unless TensorRT imports and a CUDA device is usable."""
    reason = tensorrt_unavailable_reason()
    if reason is not None:
        pytest.skip(f"needs TensorRT and a CUDA device: {reason}")
