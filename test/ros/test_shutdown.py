"""SIGINT (Ctrl-C) stops the node cleanly: exit code 0, no traceback, promptly."""

import pytest

from .requirements import require_ros_build

require_ros_build()

from posenet_ros.image_io import load_image  # noqa: E402

from .harness import DATA_DIR, Client, NodeProcess  # noqa: E402


@pytest.fixture
def running():
    node = NodeProcess(namespace="/sigint")
    client = Client(namespace="/sigint")
    client.wait_for_node()
    yield node, client
    client.close()
    node.stop()


def test_sigint_while_processing_exits_cleanly(running, record_property):
    node, client = running
    image = load_image(DATA_DIR / "astronaut.jpg")
    assert client.infer(client.raw_image(image)).poses
    for _ in range(5):  # frames in flight while the signal arrives
        client.raw.publish(client.raw_image(image))
    code, seconds = node.interrupt()
    record_property("sigint_exit_seconds", round(seconds, 3))
    assert code == 0, node.log()
    assert "Traceback" not in node.log()


def test_sigint_during_a_model_rebuild_exits_cleanly(running):
    node, client = running
    assert client.set_parameters(output_stride=8)[0].successful
    code, _ = node.interrupt()
    assert code == 0, node.log()
    assert "Traceback" not in node.log()
