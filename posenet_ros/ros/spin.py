"""The one ``main`` body of our executables: init, build the node, spin until SIGINT, clean up.

The executor is rclpy's ``EventsExecutor`` where this rclpy has it (Jazzy and later, in
``rclpy.experimental``): it waits and dispatches in C++, so between callbacks it holds neither
the GIL nor a core, which the inference thread needs. Older rclpy (Humble) gets the
``SingleThreadedExecutor`` that ``rclpy.spin`` uses. ``POSENET_ROS_EXECUTOR=single`` picks the
latter everywhere (to compare the two: ``python -m posenet_ros.ros.bench --executor single``,
or should the experimental one misbehave); ``events`` insists on the former.

Both are driven by ``spin_once`` with a timeout rather than ``spin()``: Jazzy's
``EventsExecutor`` (rclpy 7.1.5) takes "no timeout" as zero, so its ``spin()`` (and
``rclpy.spin``) busy-loops on a core while idle and never returns on SIGINT; with a timeout it
sleeps until an event, and SIGINT wakes it (the context's shutdown callback).
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable

import rclpy
from rclpy.executors import Executor, ExternalShutdownException, SingleThreadedExecutor
from rclpy.node import Node

from posenet_ros.errors import InvalidConfigError, PoseNetError

# Longest wait of one spin_once; events and SIGINT end it sooner.
SPIN_TIMEOUT_S = 1.0
EXECUTOR_ENV = "POSENET_ROS_EXECUTOR"
EXECUTOR_CHOICES = ("events", "single")


def events_executor_class() -> Callable[..., Executor] | None:
    """rclpy's ``EventsExecutor`` factory, or None where this rclpy has none (Humble)."""
    try:
        from rclpy.experimental import EventsExecutor
    except ImportError:
        return None
    return EventsExecutor


def make_executor(context: rclpy.Context | None = None, choice: str | None = None) -> Executor:
    """The executor our nodes spin in: ``EventsExecutor`` if present, else single-threaded.

    ``choice`` (default: ``$POSENET_ROS_EXECUTOR``; unset or empty for the default) is
    ``single`` or ``events``; ``events`` where this rclpy has none is an error.
    """
    choice = os.environ.get(EXECUTOR_ENV, "") if choice is None else choice
    if choice not in ("", *EXECUTOR_CHOICES):
        raise InvalidConfigError(
            f"invalid {EXECUTOR_ENV} {choice!r}: expected one of {', '.join(EXECUTOR_CHOICES)} "
            "(or unset for the default)"
        )
    events = None if choice == "single" else events_executor_class()
    if events is None:
        if choice == "events":
            raise InvalidConfigError(
                f"{EXECUTOR_ENV}=events, but this rclpy has no rclpy.experimental.EventsExecutor"
            )
        return SingleThreadedExecutor(context=context)
    return events(context=context)


def spin_once(executor: Executor, context: rclpy.Context | None = None) -> None:
    """One wait-and-dispatch; an error because SIGINT shut the context down meanwhile is the
    end of spinning, not a failure (the single-threaded executor may be taking a message as
    the context goes: rclpy then raises a plain RuntimeError)."""
    try:
        executor.spin_once(timeout_sec=SPIN_TIMEOUT_S)
    except Exception:
        if rclpy.ok(context=context):
            raise


def spin_in_background(executor: Executor, context: rclpy.Context) -> threading.Thread:
    """Spin ``executor`` on a daemon thread until ``context`` shuts down (then join it)."""

    def run() -> None:
        while context.ok():
            spin_once(executor, context)

    thread = threading.Thread(target=run, name="spin", daemon=True)
    thread.start()
    return thread


def run_node(make_node: Callable[[], Node], name: str, args: list[str] | None = None) -> int:
    """Spin the node ``make_node`` builds; exit 1 with a fatal log if it cannot start."""
    rclpy.init(args=args)
    try:
        executor = make_executor()
        node = make_node()
    except PoseNetError as exc:
        rclpy.logging.get_logger(name).fatal(f"cannot start: {exc}")
        rclpy.try_shutdown()
        return 1
    try:
        executor.add_node(node)
        while rclpy.ok():
            spin_once(executor)
    except (KeyboardInterrupt, ExternalShutdownException):
        pass  # SIGINT or a shutdown from elsewhere: close cleanly below
    finally:
        executor.remove_node(node)
        node.destroy_node()
        rclpy.try_shutdown()
    return 0
