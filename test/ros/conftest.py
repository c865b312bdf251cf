"""ROS tests: need the colcon build (`make setup-ros`) and its environment (install/setup.sh).

Every process here talks DDS on loopback only, in a domain id of this test session's own.
"""

from __future__ import annotations

import os

import pytest

import posenet_ros.ros  # noqa: F401  (extends the package path to the installed messages)


def _domain_id() -> int:
    # 0..101 are safe on any host; stay clear of 0 and the Makefile's 57.
    return 60 + os.getpid() % 40


os.environ["ROS_DOMAIN_ID"] = os.environ.get("POSENET_TEST_ROS_DOMAIN_ID", str(_domain_id()))
os.environ["ROS_AUTOMATIC_DISCOVERY_RANGE"] = "LOCALHOST"
if os.environ.get("ROS_DISTRO") == "humble":
    os.environ["ROS_LOCALHOST_ONLY"] = "1"


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    for item in items:
        if "test/ros/" in item.nodeid.replace("\\", "/"):
            item.add_marker(pytest.mark.ros)


# The module-scoped posenet_node process and client most node test modules share in shape (each
# module gets its own node; a module needing other arguments defines its own fixtures).
@pytest.fixture(scope="module")
def node():
    from .harness import NodeProcess  # imports rclpy: only once a test needs a node

    process = NodeProcess()
    yield process
    process.stop()


@pytest.fixture(scope="module")
def client(node):
    from .harness import Client

    client = Client()
    client.wait_for_node()
    yield client
    client.close()
