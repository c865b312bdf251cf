"""The benches' pre-serialized frames: what the node receives is the Image message it would
get from a publisher of that message, stamped per publish; answers' stamps read from bytes."""

import pytest

from .requirements import require_ros_build

require_ros_build()

import numpy as np  # noqa: E402
from builtin_interfaces.msg import Time  # noqa: E402
from posenet_ros.msg import Poses  # noqa: E402
from rclpy.serialization import deserialize_message, serialize_message  # noqa: E402
from sensor_msgs.msg import Image  # noqa: E402
from std_msgs.msg import Header  # noqa: E402

from posenet_ros.ros.bench_frames import SerializedFrames, stamp_ns  # noqa: E402
from posenet_ros.ros.image_conversions import rgb_to_image  # noqa: E402


def test_a_stamped_frame_is_the_image_message_with_that_stamp():
    rng = np.random.default_rng(0)
    images = [rng.integers(0, 256, (h, w, 3), dtype=np.uint8) for h, w in [(5, 7), (4, 4)]]
    frames = SerializedFrames(images, frame_id="cam")
    for index, stamp in [(0, 1_700_000_123_456_789_012), (3, 5), (2, 2**31 * 10**9 - 1)]:
        received = deserialize_message(frames.stamped(index, stamp), Image)
        expected = rgb_to_image(
            images[index % 2],
            Header(frame_id="cam", stamp=Time(sec=stamp // 10**9, nanosec=stamp % 10**9)),
        )
        assert received == expected


def test_the_stamp_of_serialized_poses_is_read_without_building_the_message():
    for sec, nanosec in [(0, 0), (12, 34), (1_700_000_000, 999_999_999)]:
        msg = Poses(header=Header(stamp=Time(sec=sec, nanosec=nanosec), frame_id="x" * 5))
        assert stamp_ns(serialize_message(msg)) == sec * 10**9 + nanosec


@pytest.mark.parametrize("raw", [b"", b"\x00\x01\x00\x00\x01", b"\x01\x01\x00\x00" + bytes(8)])
def test_bytes_that_are_not_a_serialized_header_are_refused(raw):
    with pytest.raises(ValueError, match="not a serialized CDR message"):
        stamp_ns(raw)
