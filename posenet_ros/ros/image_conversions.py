"""sensor_msgs images <-> NumPy RGB arrays.

ROS 2 ``cv_bridge`` is not installable from the package registries this project uses (it is
built against OpenCV from the ROS apt repositories), so raw images go through the core
``pixel_formats`` (every REP-104 colour-video encoding; interleaved ones as zero-copy views
into the message buffer) and compressed images are decoded with Pillow through the core
``image_io``.
"""

from __future__ import annotations

import array

import numpy as np
from sensor_msgs.msg import CompressedImage, Image

from posenet_ros.errors import InvalidImageError
from posenet_ros.image_io import load_image
from posenet_ros.pixel_formats import to_rgb
from posenet_ros.ros.image_wire import WireImage


def image_to_rgb(msg: Image | WireImage) -> np.ndarray:
    """A read-only (H, W, 3) uint8 RGB image of ``msg`` (a message, or one read from its
    serialized bytes): a view of ``msg.data`` (keeping it alive) for interleaved encodings,
    a converted copy for YUV 4:2:2 and Bayer.

    Raises ``InvalidImageError`` for an unknown or depth encoding, an empty image, or a
    ``step`` or size that does not fit the encoding or the data.
    """
    return to_rgb(msg.encoding, msg.data, msg.height, msg.width, msg.step, bool(msg.is_bigendian))


def compressed_to_rgb(msg: CompressedImage) -> np.ndarray:
    """Decode a ``sensor_msgs/CompressedImage`` (JPEG, PNG, ...) to (H, W, 3) uint8 RGB."""
    if len(msg.data) == 0:
        raise InvalidImageError("empty compressed image")
    return load_image(memoryview(msg.data).tobytes())


def rgb_to_image(rgb: np.ndarray, header) -> Image:
    """An ``rgb8`` ``sensor_msgs/Image`` holding a copy of ``rgb`` with the given header."""
    height, width = rgb.shape[:2]
    data = array.array("B")
    # array.array from bytes is one memcpy; the message setter's generic path checks every byte.
    data.frombytes(np.ascontiguousarray(rgb, dtype=np.uint8).tobytes())
    return Image(
        header=header, height=height, width=width, encoding="rgb8", step=width * 3, data=data
    )
