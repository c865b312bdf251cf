"""Fixtures of the decode tests."""

from types import ModuleType

import numpy as np
import pytest


@pytest.fixture(params=["numpy", pytest.param("cupy", marks=pytest.mark.gpu)])
def xp(request: pytest.FixtureRequest) -> ModuleType:
    """The maps' namespace: NumPy (the compiled host decoders), then CuPy (the CUDA kernels of
    ``gpu.decode_cuda``) where a CUDA device is usable, else skipped with the reason."""
    return np if request.param == "numpy" else request.getfixturevalue("cp")
