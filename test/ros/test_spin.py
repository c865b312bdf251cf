"""The executor our nodes spin in: EventsExecutor where rclpy has it, else single-threaded."""

import importlib.util
import sys

from .requirements import require_ros_build

require_ros_build()

import rclpy  # noqa: E402
from rclpy.executors import SingleThreadedExecutor  # noqa: E402

from posenet_ros.ros import spin  # noqa: E402


def test_the_events_executor_is_found_where_rclpy_has_it():
    has_it = importlib.util.find_spec("rclpy.experimental") is not None
    assert (spin.events_executor_class() is not None) == has_it


def test_without_rclpy_experimental_the_single_threaded_executor_is_used(monkeypatch):
    monkeypatch.setitem(sys.modules, "rclpy.experimental", None)  # import fails, as on Humble
    assert spin.events_executor_class() is None
    context = rclpy.Context()
    rclpy.init(context=context)
    try:
        executor = spin.make_executor(context)
        assert type(executor) is SingleThreadedExecutor
        assert executor.context is context
        executor.shutdown()
    finally:
        rclpy.try_shutdown(context=context)


def test_the_events_executor_is_made_for_the_given_context(monkeypatch):
    made = []

    def fake_events_executor(*, context):
        made.append(context)
        return "events executor"

    monkeypatch.setattr(spin, "events_executor_class", lambda: fake_events_executor)
    context = object()
    assert spin.make_executor(context) == "events executor"
    assert made == [context]
