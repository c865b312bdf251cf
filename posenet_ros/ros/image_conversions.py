"""sensor_msgs images <-> NumPy RGB arrays.

ROS 2 ``cv_bridge`` is not installable from the package registries this project uses (it is
built against OpenCV from the ROS apt repositories), so the conversions are done here with
NumPy: raw images become zero-copy views into the message buffer (row ``step`` padding and
channel order are handled by strides, not copies); compressed images are decoded with Pillow
through the core ``image_io``.
"""

from __future__ import annotations

import array

import numpy as np
from sensor_msgs.msg import CompressedImage, Image

from posenet_ros.errors import InvalidImageError
from posenet_ros.image_io import load_image

# encoding -> (channels, index of R, G, B within a pixel); mono8 repeats its one channel.
RAW_ENCODINGS: dict[str, tuple[int, tuple[int, int, int]]] = {
    "rgb8": (3, (0, 1, 2)),
    "bgr8": (3, (2, 1, 0)),
    "rgba8": (4, (0, 1, 2)),
    "bgra8": (4, (2, 1, 0)),
    "mono8": (1, (0, 0, 0)),
}


def image_to_rgb(msg: Image) -> np.ndarray:
    """A read-only (H, W, 3) uint8 RGB view of ``msg.data`` (no copy; keeps ``msg.data`` alive).

    Raises ``InvalidImageError`` for an unknown encoding, an empty image, or a ``step`` that
    does not match the width or the data size.
    """
    layout = RAW_ENCODINGS.get(msg.encoding)
    if layout is None:
        raise InvalidImageError(
            f"unsupported encoding {msg.encoding!r}: expected one of {', '.join(RAW_ENCODINGS)}"
        )
    channels, rgb_index = layout
    height, width, step = msg.height, msg.width, msg.step
    if height == 0 or width == 0:
        raise InvalidImageError(f"empty image {width}x{height}")
    if step < width * channels:
        raise InvalidImageError(
            f"step {step} is shorter than a row of {width} {msg.encoding} pixels "
            f"({width * channels} bytes)"
        )
    if len(msg.data) != step * height:
        raise InvalidImageError(
            f"data has {len(msg.data)} bytes, expected step*height = {step * height}"
        )
    rows = np.frombuffer(msg.data, dtype=np.uint8).reshape(height, step)
    pixels = rows[:, : width * channels].reshape(height, width, channels)
    if rgb_index == (0, 1, 2):
        return pixels[:, :, :3]
    if rgb_index == (2, 1, 0):
        return pixels[:, :, 2::-1]
    return np.broadcast_to(pixels, (height, width, 3))


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
