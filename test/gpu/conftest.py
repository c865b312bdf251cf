"""Fixtures for the GPU tests: each skips with the reason when CuPy/CUDA/TensorRT is missing;
the GPU probe's cached answers are forgotten around every test (tests fake CuPy/TensorRT)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from posenet_ros.backends.tensorrt_backend import tensorrt_unavailable_reason
from posenet_ros.gpu import probe


@pytest.fixture(autouse=True)
def _fresh_probe() -> Iterator[None]:
    probe.clear_cache()
    yield
    probe.clear_cache()


@pytest.fixture
def trt_ready() -> None:
    """Skips unless TensorRT imports and a CUDA device is usable."""
    reason = tensorrt_unavailable_reason()
    if reason is not None:
        pytest.skip(f"needs TensorRT and a CUDA device: {reason}")
