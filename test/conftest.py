"""Suite-wide checks: a run that requires ROS (``make test``) stops at once without it."""

from __future__ import annotations

import pytest
from ros.requirements import REQUIRE_ROS_ENV, missing_ros_build, ros_required


def pytest_configure(config: pytest.Config) -> None:
    # Before collection, so every ROS test module (today's and future ones) is covered
    # without doing anything itself, and the run ends with one clear error.
    if ros_required() and (reason := missing_ros_build()) is not None:
        raise pytest.UsageError(f"{REQUIRE_ROS_ENV} is set and {reason}")
