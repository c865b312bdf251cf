"""The one ``main`` body of our executables: init, build the node, spin until SIGINT, clean up."""

from __future__ import annotations

from collections.abc import Callable

import rclpy
from rclpy.executors import ExternalShutdownException
from rclpy.node import Node

from posenet_ros.errors import PoseNetError


def run_node(make_node: Callable[[], Node], name: str, args: list[str] | None = None) -> int:
    """Spin the node ``make_node`` builds; exit 1 with a fatal log if it cannot start."""
    rclpy.init(args=args)
    try:
        node = make_node()
    except PoseNetError as exc:
        rclpy.logging.get_logger(name).fatal(f"cannot start: {exc}")
        rclpy.try_shutdown()
        return 1
    try:
        rclpy.spin(node)
    except (KeyboardInterrupt, ExternalShutdownException):
        pass  # SIGINT or a shutdown from elsewhere: close cleanly below
    finally:
        node.destroy_node()
        rclpy.try_shutdown()
    return 0
