"""Images read from their serialized bytes: every field as rclpy's own deserialization reads
it, whatever the string lengths (alignment), padding and byte order; bytes cut short refused."""

import struct

import numpy as np
import pytest

from .requirements import require_ros_build

require_ros_build()

from builtin_interfaces.msg import Time  # noqa: E402
from rclpy.serialization import deserialize_message, serialize_message  # noqa: E402
from sensor_msgs.msg import Image  # noqa: E402
from std_msgs.msg import Header  # noqa: E402

from posenet_ros.errors import InvalidImageError  # noqa: E402
from posenet_ros.ros.image_conversions import image_to_rgb  # noqa: E402
from posenet_ros.ros.image_wire import WireImage, parse_image  # noqa: E402

RNG = np.random.default_rng(5)


def image(frame_id: str, encoding: str, height: int, step: int, bigendian: int = 0) -> Image:
    return Image(
        header=Header(stamp=Time(sec=1_700_000_001, nanosec=123_456_789), frame_id=frame_id),
        height=height,
        width=3,
        encoding=encoding,
        is_bigendian=bigendian,
        step=step,
        data=RNG.integers(0, 256, height * step, dtype=np.uint8).tobytes(),
    )


def fields(msg) -> tuple:
    return (
        msg.header.stamp.sec,
        msg.header.stamp.nanosec,
        msg.header.frame_id,
        msg.height,
        msg.width,
        msg.encoding,
        msg.is_bigendian,
        msg.step,
        bytes(msg.data),
    )


# frame ids and encodings of every length modulo 4, so each later field lands on each alignment
CASES = [
    image(frame_id, encoding, height, step, bigendian)
    for frame_id, encoding, height, step, bigendian in [
        ("", "rgb8", 2, 9, 0),
        ("c", "mono8", 3, 3, 0),
        ("ca", "bgra8", 1, 12, 0),
        ("cam", "yuv422", 2, 8, 0),
        ("camera_optical", "mono16", 2, 7, 1),
        ("front/camera_link", "bayer_rggb8", 4, 5, 0),
        ("x", "rgb16", 0, 0, 1),
    ]
]


@pytest.mark.parametrize("msg", CASES, ids=lambda m: f"{m.header.frame_id!r}-{m.encoding}")
def test_every_field_reads_as_rclpy_reads_it(msg):
    raw = serialize_message(msg)
    parsed = parse_image(raw)
    assert isinstance(parsed, WireImage)
    assert fields(parsed) == fields(deserialize_message(raw, Image))
    assert parsed.data.readonly


def test_the_pixels_are_a_view_of_the_received_bytes_not_a_copy():
    raw = serialize_message(image("cam", "rgb8", 2, 9))
    rgb = image_to_rgb(parse_image(raw))
    assert np.shares_memory(rgb, np.frombuffer(raw, np.uint8))


def to_big_endian(msg: Image) -> bytes:
    """``msg`` as a big-endian CDR stream (what a big-endian machine's middleware writes)."""

    def string(text: str, pos: int) -> tuple[bytes, int]:
        pad = -pos % 4
        body = text.encode() + b"\0"
        return b"\0" * pad + struct.pack(">I", len(body)) + body, pos + pad + 4 + len(body)

    out, pos = struct.pack(">iI", msg.header.stamp.sec, msg.header.stamp.nanosec), 8
    chunk, pos = string(msg.header.frame_id, pos)
    out += chunk
    pad = -pos % 4
    out += b"\0" * pad + struct.pack(">II", msg.height, msg.width)
    pos += pad + 8
    chunk, pos = string(msg.encoding, pos)
    out += chunk + struct.pack(">B", msg.is_bigendian)
    pos += 1
    pad = -pos % 4
    out += b"\0" * pad + struct.pack(">II", msg.step, len(msg.data)) + bytes(msg.data)
    return b"\x00\x00\x00\x00" + out


@pytest.mark.parametrize("msg", CASES[:5], ids=lambda m: f"{m.header.frame_id!r}")
def test_big_endian_cdr_reads_the_same(msg):
    assert fields(parse_image(to_big_endian(msg))) == fields(msg)


def test_another_encapsulation_goes_through_rclpy():
    raw = bytearray(serialize_message(CASES[3]))
    raw[0] = 0x7F  # not plain CDR: rclpy's deserialization decides (and refuses this one)
    with pytest.raises(InvalidImageError, match="not a serialized sensor_msgs/Image"):
        parse_image(bytes(raw))


@pytest.mark.parametrize("keep", [0, 3, 10, 20, 40, -1])
def test_bytes_cut_short_are_refused_with_the_reason(keep):
    raw = serialize_message(image("camera_optical", "rgb8", 2, 9))
    with pytest.raises(InvalidImageError, match=r"cut short|not a serialized"):
        parse_image(raw[:keep])
