"""Suite-wide: a run that requires ROS (`make test`) stops at once without it; tests that
need longer than the suite-wide timeout get theirs."""

from __future__ import annotations

from types import ModuleType

import pytest
from ros.requirements import REQUIRE_ROS_ENV, missing_ros_build, ros_required


def pytest_configure(config: pytest.Config) -> None:
    # Before collection, so every ROS test module (today's and future ones) is covered
    # without doing anything itself, and the run ends with one clear error.
    if ros_required() and (reason := missing_ros_build()) is not None:
        raise pytest.UsageError(f"{REQUIRE_ROS_ENV} is set and {reason}")


# Tests that legitimately need longer than the suite-wide ``timeout`` (pyproject.toml), by
# marker: a parity test's fixtures may run `npm ci` (up to 600 s) and then the reference.
TIMEOUT_S_BY_MARKER = {"parity": 1800}


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    for item in items:
        if item.get_closest_marker("timeout") is not None:
            continue
        for marker, timeout_s in TIMEOUT_S_BY_MARKER.items():
            if item.get_closest_marker(marker) is not None:
                item.add_marker(pytest.mark.timeout(timeout_s))
                break


@pytest.fixture
def cp() -> ModuleType:
    """CuPy with a CUDA device, else the test is skipped saying what is missing."""
    from posenet_ros.gpu.cuda import cuda_unavailable_reason

    reason = cuda_unavailable_reason()
    if reason is not None:
        pytest.skip(f"needs a CUDA device through CuPy: {reason}")
    import cupy

    return cupy
