"""Skip a ROS test module, with the reason, when the colcon build is not there."""

import pytest

NO_BUILD = (
    "the colcon build of posenet_ros is absent or not sourced: run `make setup-ros` and "
    "`. install/setup.sh` (`make test` does both)"
)


def require_ros_build() -> None:
    """Call at the top of a test module, before importing rclpy or posenet_ros.msg."""
    pytest.importorskip("rclpy", reason=NO_BUILD)
    pytest.importorskip("posenet_ros.msg", reason=NO_BUILD)
