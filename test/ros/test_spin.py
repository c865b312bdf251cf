"""The executor our nodes spin in: EventsExecutor where rclpy has it, else single-threaded."""

import importlib.util
import sys

import pytest

from .requirements import require_ros_build

require_ros_build()

import rclpy  # noqa: E402
from rclpy.executors import SingleThreadedExecutor  # noqa: E402

from posenet_ros.errors import InvalidConfigError  # noqa: E402
from posenet_ros.ros import spin  # noqa: E402


def test_the_events_executor_is_found_where_rclpy_has_it():
    has_it = importlib.util.find_spec("rclpy.experimental") is not None
    assert (spin.events_executor_class() is not None) == has_it


@pytest.fixture
def context():
    context = rclpy.Context()
    rclpy.init(context=context)
    yield context
    rclpy.try_shutdown(context=context)


def test_without_rclpy_experimental_the_single_threaded_executor_is_used(monkeypatch, context):
    monkeypatch.delenv(spin.EXECUTOR_ENV, raising=False)
    monkeypatch.setitem(sys.modules, "rclpy.experimental", None)  # import fails, as on Humble
    assert spin.events_executor_class() is None
    executor = spin.make_executor(context)
    assert type(executor) is SingleThreadedExecutor
    assert executor.context is context
    executor.shutdown()


def test_single_is_chosen_by_the_environment(monkeypatch, context):
    monkeypatch.setenv(spin.EXECUTOR_ENV, "single")
    monkeypatch.setattr(spin, "events_executor_class", lambda: pytest.fail("not wanted"))
    executor = spin.make_executor(context)
    assert type(executor) is SingleThreadedExecutor
    executor.shutdown()


def test_a_bad_choice_or_events_where_absent_is_a_clear_error(monkeypatch):
    with pytest.raises(
        InvalidConfigError,
        match=r"invalid POSENET_ROS_EXECUTOR 'multi': expected one of events, single",
    ):
        spin.make_executor(choice="multi")
    monkeypatch.setattr(spin, "events_executor_class", lambda: None)
    with pytest.raises(InvalidConfigError, match=r"no rclpy\.experimental\.EventsExecutor"):
        spin.make_executor(choice="events")


def test_the_events_executor_is_made_for_the_given_context(monkeypatch):
    monkeypatch.delenv(spin.EXECUTOR_ENV, raising=False)
    made = []

    def fake_events_executor(*, context):
        made.append(context)
        return "events executor"

    monkeypatch.setattr(spin, "events_executor_class", lambda: fake_events_executor)
    context = object()
    assert spin.make_executor(context) == "events executor"
    assert made == [context]


class FailingExecutor:
    def spin_once(self, timeout_sec):
        raise RuntimeError("Unable to convert call argument '0' to Python object")


def test_an_error_as_the_context_shuts_down_ends_spinning_quietly(monkeypatch):
    # SIGINT shut the context down
    monkeypatch.setattr(spin.rclpy, "ok", lambda context=None: False)
    spin.spin_once(FailingExecutor())
    monkeypatch.setattr(spin.rclpy, "ok", lambda context=None: True)  # still running: a real error
    with pytest.raises(RuntimeError, match="Unable to convert"):
        spin.spin_once(FailingExecutor())


def test_spinning_in_the_background_ends_when_its_context_shuts_down():
    context = rclpy.Context()
    rclpy.init(context=context)
    node = rclpy.create_node("spin_in_background_test", context=context)
    executor = spin.make_executor(context)
    executor.add_node(node)
    thread = spin.spin_in_background(executor, context)
    assert thread.is_alive()
    rclpy.try_shutdown(context=context)
    thread.join(5.0)  # the shutdown wakes the wait: no need to sit out its timeout
    assert not thread.is_alive()
    executor.shutdown()
    node.destroy_node()
