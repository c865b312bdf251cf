"""``sensor_msgs/Image`` read from its serialized bytes, the pixels left where they arrived.

rclpy's conversion of a received ``Image`` builds the Python message and copies the pixels into
an ``array.array`` on the executor thread: 0.39 ms of CPU per 512x512 ``rgb8`` frame, measured
in the node at full rate, while ONNX Runtime infers the previous frame on the same two cores.
The node takes images serialized instead (``raw=True``: rclpy hands over the bytes) and reads
the few fields here; the pixel data is a read-only view into those bytes.

CDR as ROS 2's middlewares write ROS messages (XCDR1): a 4-byte encapsulation header, whose
second byte is 1 for little-endian and 0 for big-endian data, then the fields in order, each
number aligned to its size counted from the end of that header; a string is a uint32 length
that counts its terminating NUL, then its bytes. Any other encapsulation goes through rclpy's
own deserialization.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass

from builtin_interfaces.msg import Time
from rclpy.serialization import deserialize_message
from sensor_msgs.msg import Image
from std_msgs.msg import Header

from posenet_ros.errors import InvalidImageError

_ORIGIN = 4  # alignment counts from the end of the encapsulation header
_PLAIN_CDR = {1: "<", 0: ">"}  # second encapsulation byte -> struct byte order


@dataclass(frozen=True, slots=True)
class WireImage:
    """The fields of a ``sensor_msgs/Image``, named as in the message; ``data`` a read-only
    view of the received bytes."""

    header: Header
    height: int
    width: int
    encoding: str
    is_bigendian: int
    step: int
    data: memoryview


def plain_cdr_order(raw: bytes | bytearray) -> str | None:
    """The ``struct`` byte order ("<" or ">") of a plain-CDR serialized message; None for
    any other encapsulation, or bytes too short to hold one."""
    return _PLAIN_CDR.get(raw[1]) if len(raw) >= _ORIGIN and raw[0] == 0 else None


def parse_image(raw: bytes) -> WireImage | Image:
    """The image in ``raw`` (a serialized ``sensor_msgs/Image``): a ``WireImage`` for plain
    CDR, rclpy's ``Image`` for any other encapsulation.

    Raises ``InvalidImageError`` when the bytes end before the fields they announce.
    """
    order = plain_cdr_order(raw)
    if order is None:
        try:
            return deserialize_message(raw, Image)
        except Exception as exc:  # rclpy raises its own exception types
            raise InvalidImageError(f"not a serialized sensor_msgs/Image: {exc}") from None
    reader = _Reader(raw, order)
    try:
        stamp = Time(sec=reader.number("i"), nanosec=reader.number("I"))
        header = Header(stamp=stamp, frame_id=reader.string())
        height, width = reader.number("I"), reader.number("I")
        encoding = reader.string()
        is_bigendian = reader.number("B")
        step = reader.number("I")
        data = reader.sequence()
    except (struct.error, UnicodeDecodeError) as exc:
        raise InvalidImageError(
            f"serialized sensor_msgs/Image of {len(raw)} bytes is cut short or corrupt ({exc})"
        ) from None
    return WireImage(header, height, width, encoding, is_bigendian, step, data)


class _Reader:
    def __init__(self, raw: bytes, order: str) -> None:
        self._raw = raw
        self._view = memoryview(raw).toreadonly()
        self._order = order
        self._pos = _ORIGIN

    def number(self, code: str) -> int:
        size = struct.calcsize(code)
        self._pos += -(self._pos - _ORIGIN) % size
        (value,) = struct.unpack_from(self._order + code, self._raw, self._pos)
        self._pos += size
        return value

    def _bytes(self) -> memoryview:
        length = self.number("I")
        end = self._pos + length
        if end > len(self._raw):
            raise struct.error(f"a field of {length} bytes at offset {self._pos} runs past the end")
        view, self._pos = self._view[self._pos : end], end
        return view

    def string(self) -> str:
        return bytes(self._bytes()).rstrip(b"\0").decode()

    def sequence(self) -> memoryview:
        return self._bytes()
