"""Fixtures of the decode tests."""

from types import ModuleType

import numpy as np
import pytest

from decode.device_stand_in import stand_in_cupy

__all__ = ["stand_in_cupy", "xp"]


@pytest.fixture(params=["numpy", pytest.param("cupy", marks=pytest.mark.gpu)])
def xp(request: pytest.FixtureRequest) -> ModuleType:
    """The maps' namespace: NumPy (the compiled host decoders), then CuPy (the CUDA kernels of
    ``gpu.decode_cuda``) where a CUDA device is usable, else skipped with the reason."""
    if request.param == "numpy":
        return np
    from posenet_ros.gpu.cuda import cuda_unavailable_reason

    reason = cuda_unavailable_reason()
    if reason is not None:
        pytest.skip(f"needs a CUDA device through CuPy: {reason}")
    import cupy

    return cupy
