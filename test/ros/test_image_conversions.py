"""Raw and compressed images -> RGB arrays, and back; every bad frame kind is refused."""

import array
import io

import numpy as np
import pytest

from .requirements import require_ros_build

require_ros_build()

from PIL import Image as PILImage  # noqa: E402
from sensor_msgs.msg import CompressedImage, Image  # noqa: E402
from std_msgs.msg import Header  # noqa: E402

from posenet_ros.errors import InvalidImageError  # noqa: E402
from posenet_ros.ros.image_conversions import (  # noqa: E402
    compressed_to_rgb,
    image_to_rgb,
    rgb_to_image,
)

RNG = np.random.default_rng(3)
RGB = RNG.integers(0, 256, size=(5, 7, 3), dtype=np.uint8)


def raw(pixels: np.ndarray, encoding: str, padding: int = 0) -> Image:
    height, width = pixels.shape[:2]
    rows = pixels.reshape(height, -1)
    padded = np.concatenate([rows, np.full((height, padding), 77, np.uint8)], axis=1)
    data = array.array("B")
    data.frombytes(padded.tobytes())
    return Image(height=height, width=width, encoding=encoding, step=padded.shape[1], data=data)


ENCODED = {
    "rgb8": RGB,
    "bgr8": RGB[:, :, ::-1],
    "rgba8": np.dstack([RGB, np.full(RGB.shape[:2], 255, np.uint8)]),
    "bgra8": np.dstack([RGB[:, :, ::-1], np.zeros(RGB.shape[:2], np.uint8)]),
}


@pytest.mark.parametrize("padding", [0, 3])
@pytest.mark.parametrize("encoding", sorted(ENCODED))
def test_colour_encodings_give_rgb(encoding, padding):
    msg = raw(ENCODED[encoding], encoding, padding)
    np.testing.assert_array_equal(image_to_rgb(msg), RGB)


@pytest.mark.parametrize("padding", [0, 5])
def test_mono8_repeats_the_channel(padding):
    gray = RGB[:, :, 0]
    rgb = image_to_rgb(raw(gray, "mono8", padding))
    np.testing.assert_array_equal(rgb, np.dstack([gray, gray, gray]))


def test_raw_conversion_is_a_view_of_the_message_buffer():
    msg = raw(ENCODED["bgra8"], "bgra8", padding=2)
    rgb = image_to_rgb(msg)
    assert not rgb.flags.owndata
    assert np.shares_memory(rgb, np.frombuffer(msg.data, np.uint8))


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"encoding": "yuv422"}, "unsupported encoding 'yuv422'"),
        ({"encoding": ""}, "unsupported encoding ''"),
        ({"height": 0}, "empty image"),
        ({"width": 0, "step": 0}, "empty image"),
        ({"step": 20}, "step 20 is shorter"),
        ({"step": 22}, "expected step*height"),
        ({"data": array.array("B", bytes(10))}, "data has 10 bytes"),
    ],
)
def test_bad_raw_frames_are_refused(change, message):
    msg = raw(RGB, "rgb8")
    for name, value in change.items():
        setattr(msg, name, value)
    with pytest.raises(InvalidImageError, match=message.replace("*", r"\*")):
        image_to_rgb(msg)


def encode(pixels: np.ndarray, fmt: str, **options: object) -> CompressedImage:
    buffer = io.BytesIO()
    PILImage.fromarray(pixels).save(buffer, format=fmt, **options)
    return CompressedImage(format=fmt.lower(), data=array.array("B", buffer.getvalue()))


def test_png_decodes_exactly():
    np.testing.assert_array_equal(compressed_to_rgb(encode(RGB, "PNG")), RGB)


def decoded_by_pillow(msg: CompressedImage) -> np.ndarray:
    """The stored pixels of a compressed frame, decoded without any EXIF turn."""
    return np.asarray(PILImage.open(io.BytesIO(msg.data.tobytes())).convert("RGB"))


def test_jpeg_decodes_to_rgb():
    msg = encode(RGB, "JPEG")
    np.testing.assert_array_equal(compressed_to_rgb(msg), decoded_by_pillow(msg))


def test_jpeg_exif_orientation_is_applied():
    exif = PILImage.Exif()
    exif[0x0112] = 6  # shown rotated 90 degrees clockwise
    msg = encode(RGB, "JPEG", exif=exif)
    np.testing.assert_array_equal(compressed_to_rgb(msg), np.rot90(decoded_by_pillow(msg), k=-1))


@pytest.mark.parametrize(
    "data", [b"", b"not an image at all", encode(RGB, "PNG").data.tobytes()[:40]]
)
def test_bad_compressed_frames_are_refused(data):
    with pytest.raises(InvalidImageError):
        compressed_to_rgb(CompressedImage(format="png", data=array.array("B", data)))


def test_rgb_to_image_round_trip_keeps_header():
    header = Header(frame_id="cam")
    header.stamp.sec = 12
    msg = rgb_to_image(RGB[:, ::-1], header)
    assert (msg.encoding, msg.step, msg.header.frame_id, msg.header.stamp.sec) == (
        "rgb8",
        21,
        "cam",
        12,
    )
    np.testing.assert_array_equal(image_to_rgb(msg), RGB[:, ::-1])
