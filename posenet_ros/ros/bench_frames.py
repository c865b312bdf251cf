"""The benches' camera: frames serialized once, each publish only stamps a copy.

A camera driver (C++, publishing from its own buffers) costs the machine next to nothing per
frame; a Python publisher converting an ``Image`` message each time cost ~1.1 ms of CPU per
512x512 frame on the 2-core machine, beside the node it measures. So the benches publish
pre-serialized bytes (``Publisher.publish`` takes them as they are) and read the answers'
stamps from the serialized ``Poses`` without building the message.

Serialized ROS 2 messages are CDR: a 4-byte encapsulation header, then the fields in order.
Both ``sensor_msgs/Image`` and ``posenet_ros/Poses`` start with a ``std_msgs/Header``, whose
first field is the stamp: int32 seconds and uint32 nanoseconds at byte offsets 4 and 8.
"""

from __future__ import annotations

import struct

import numpy as np
from rclpy.serialization import serialize_message
from std_msgs.msg import Header

from posenet_ros.ros.image_conversions import rgb_to_image
from posenet_ros.ros.image_wire import plain_cdr_order

_STAMP = "iI"  # std_msgs/Header's stamp: int32 seconds, uint32 nanoseconds
_STAMP_OFFSET = 4


def _stamp_format(raw: bytes | bytearray) -> str:
    order = plain_cdr_order(raw)
    if order is None or len(raw) < _STAMP_OFFSET + struct.calcsize(_STAMP):
        raise ValueError(f"not a serialized CDR message with a header ({len(raw)} bytes)")
    return order + _STAMP


def stamp_ns(raw: bytes) -> int:
    """The header stamp (ns) of a serialized message that starts with a ``std_msgs/Header``."""
    sec, nanosec = struct.unpack_from(_stamp_format(raw), raw, _STAMP_OFFSET)
    return sec * 1_000_000_000 + nanosec


class SerializedFrames:
    """``rgb8`` images with frame id ``frame_id``, serialized once, stamped per publish."""

    def __init__(self, images: list[np.ndarray], frame_id: str = "bench") -> None:
        self._frames = [
            bytearray(serialize_message(rgb_to_image(image, Header(frame_id=frame_id))))
            for image in images
        ]

    def __len__(self) -> int:
        return len(self._frames)

    def stamped(self, index: int, stamp_ns: int) -> bytes:
        """Frame ``index`` (cycling) as bytes, its header stamped ``stamp_ns``."""
        frame = self._frames[index % len(self._frames)]
        struct.pack_into(
            _stamp_format(frame), frame, _STAMP_OFFSET, *divmod(stamp_ns, 1_000_000_000)
        )
        return bytes(frame)
