"""The one ``main`` body of our executables: init, build the node, spin until SIGINT, clean up.

The executor is rclpy's ``EventsExecutor`` where this rclpy has it (Jazzy and later, in
``rclpy.experimental``): it waits and dispatches in C++, so between callbacks it holds
neither the GIL nor a core, which the inference thread needs (``python -m
posenet_ros.ros.bench`` compares it). Older rclpy (Humble) gets the ``SingleThreadedExecutor``
``rclpy.spin`` used before.
"""

from __future__ import annotations

from collections.abc import Callable

import rclpy
from rclpy.executors import Executor, ExternalShutdownException, SingleThreadedExecutor
from rclpy.node import Node

from posenet_ros.errors import PoseNetError

# Longest wait of one spin_once; events and SIGINT end it sooner.
SPIN_TIMEOUT_S = 1.0


def events_executor_class() -> Callable[..., Executor] | None:
    """rclpy's ``EventsExecutor`` factory, or None where this rclpy has none (Humble)."""
    try:
        from rclpy.experimental import EventsExecutor
    except ImportError:
        return None
    return EventsExecutor


def make_executor(context: rclpy.Context | None = None) -> Executor:
    """The executor our nodes spin in: ``EventsExecutor`` if present, else single-threaded."""
    events = events_executor_class()
    if events is None:
        return SingleThreadedExecutor(context=context)
    return events(context=context)


def run_node(make_node: Callable[[], Node], name: str, args: list[str] | None = None) -> int:
    """Spin the node ``make_node`` builds; exit 1 with a fatal log if it cannot start."""
    rclpy.init(args=args)
    try:
        node = make_node()
    except PoseNetError as exc:
        rclpy.logging.get_logger(name).fatal(f"cannot start: {exc}")
        rclpy.try_shutdown()
        return 1
    executor = make_executor()
    try:
        executor.add_node(node)
        while rclpy.ok():
            executor.spin_once(timeout_sec=SPIN_TIMEOUT_S)
    except (KeyboardInterrupt, ExternalShutdownException):
        pass  # SIGINT or a shutdown from elsewhere: close cleanly below
    finally:
        executor.remove_node(node)
        node.destroy_node()
        rclpy.try_shutdown()
    return 0
