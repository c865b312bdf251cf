"""The GPU probe's cached answers are forgotten around every test (tests fake CuPy/TensorRT)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from posenet_ros.gpu import probe


@pytest.fixture(autouse=True)
def _fresh_probe() -> Iterator[None]:
    probe.clear_cache()
    yield
    probe.clear_cache()
