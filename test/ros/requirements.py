"""Whether the ROS test modules can run: they need the colcon build and its environment.

A plain ``pytest`` (say, after a pip-only core install) skips them with the reason. With
``POSENET_REQUIRE_ROS=1``, which ``make test`` (and so ``.ci/run``) sets, a missing build is
an error instead: a broken message build must not turn the suite green by skipping.
"""

from __future__ import annotations

import importlib
import os

import pytest

REQUIRE_ROS_ENV = "POSENET_REQUIRE_ROS"
NO_BUILD = (
    "the colcon build of posenet_ros is absent or not sourced: run `make setup-ros` and "
    "`. install/setup.sh` (`make test` does both)"
)
# What a ROS test imports beyond the core: rclpy, and the messages the colcon build generates.
ROS_MODULES = ("rclpy", "posenet_ros.msg")


def ros_required() -> bool:
    """True when the run must have the ROS build (``POSENET_REQUIRE_ROS`` set, not ``0``)."""
    return os.environ.get(REQUIRE_ROS_ENV, "") not in ("", "0")


def missing_ros_build() -> str | None:
    """Why the ROS build cannot be used (the failed import and its error), or None."""
    importlib.import_module("posenet_ros.ros")  # finds the installed posenet_ros.msg
    for name in ROS_MODULES:
        try:
            importlib.import_module(name)
        except ImportError as exc:
            return f"{NO_BUILD}; `import {name}` failed: {exc}"
    return None


def require_ros_build() -> None:
    """Call at the top of a test module, before importing rclpy or posenet_ros.msg: skips
    the module without the build (a run that requires ROS has already stopped, in
    ``test/conftest.py``)."""
    reason = missing_ros_build()
    if reason is not None:
        pytest.skip(reason, allow_module_level=True)
