"""Image decoding and array checks: every conversion and every refusal, one line each."""

from __future__ import annotations

import io
import struct
import zlib
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from posenet_ros.errors import InvalidImageError
from posenet_ros.image_io import MAX_IMAGE_PIXELS, check_image_array, load_image

RNG = np.random.default_rng(0)
RGB = RNG.integers(0, 256, (30, 40, 3), dtype=np.uint8)


def encode(image: Image.Image | np.ndarray, fmt: str = "PNG", **options: object) -> bytes:
    if isinstance(image, np.ndarray):
        image = Image.fromarray(image)
    buffer = io.BytesIO()
    image.save(buffer, fmt, **options)
    return buffer.getvalue()


def raw_png(width: int, height: int, bit_depth: int, colour_type: int, rows: bytes) -> bytes:
    """A PNG written by hand, for what Pillow refuses to write (0x0, 16-bit RGB, huge)."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        crc = zlib.crc32(kind + data) & 0xFFFFFFFF
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", crc)

    header = struct.pack(">IIBBBBB", width, height, bit_depth, colour_type, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(rows))
        + chunk(b"IEND", b"")
    )


def refused(source: object) -> str:
    with pytest.raises(InvalidImageError) as info:
        load_image(source)  # type: ignore[arg-type]
    message = str(info.value)
    assert "\n" not in message
    return message


def test_png_round_trip_from_bytes_path_and_str(tmp_path: Path) -> None:
    data = encode(RGB)
    path = tmp_path / "frame.png"
    path.write_bytes(data)
    for source in (data, bytearray(data), memoryview(data), path, str(path)):
        image = load_image(source)
        assert image.dtype == np.uint8 and image.flags.writeable
        np.testing.assert_array_equal(image, RGB)


def test_jpeg_decodes_to_rgb() -> None:
    image = load_image(encode(RGB, "JPEG", quality=95))
    assert image.shape == (30, 40, 3) and image.dtype == np.uint8


def test_grayscale_becomes_three_equal_channels() -> None:
    gray = RGB[:, :, 0]
    image = load_image(encode(gray))
    for channel in range(3):
        np.testing.assert_array_equal(image[:, :, channel], gray)


def test_rgba_drops_alpha() -> None:
    rgba = np.dstack([RGB, np.zeros((30, 40), np.uint8)])
    np.testing.assert_array_equal(load_image(encode(rgba)), RGB)


def test_palette_with_transparency_and_bilevel_are_converted() -> None:
    palette = Image.fromarray(RGB).quantize(16)
    palette.info["transparency"] = 0
    image = load_image(encode(palette))
    np.testing.assert_array_equal(image, np.asarray(palette.convert("RGB")))
    bilevel = load_image(encode(Image.fromarray(RGB[:, :, 0] > 128)))
    assert set(np.unique(bilevel)) <= {0, 255}


def test_sixteen_bit_grayscale_keeps_the_high_byte() -> None:
    values = np.array([[0, 255, 256], [65535, 32768, 1000]], np.uint16)
    image = load_image(encode(Image.fromarray(values)))
    np.testing.assert_array_equal(image[:, :, 1], values >> 8)


def test_sixteen_bit_rgb_keeps_the_high_byte() -> None:
    values = np.array([[[0, 256, 65535], [1000, 2000, 40000]]], ">u2")
    data = raw_png(2, 1, 16, 2, b"\x00" + values.tobytes())
    np.testing.assert_array_equal(load_image(data), (values >> 8).astype(np.uint8))


def test_cmyk_jpeg_is_converted() -> None:
    image = load_image(encode(Image.fromarray(RGB).convert("CMYK"), "JPEG"))
    assert image.shape == (30, 40, 3)


# EXIF orientation tag -> how the stored pixels are shown (the TIFF/EXIF definitions).
ORIENTATIONS = {
    1: lambda a: a,
    2: lambda a: a[:, ::-1],  # mirrored left-right
    3: lambda a: a[::-1, ::-1],  # rotated 180 degrees
    4: lambda a: a[::-1],  # mirrored top-bottom
    5: lambda a: a.transpose(1, 0, 2),  # mirrored about the main diagonal
    6: lambda a: np.rot90(a, k=-1),  # rotated 90 degrees clockwise
    7: lambda a: a[::-1, ::-1].transpose(1, 0, 2),  # mirrored about the anti-diagonal
    8: lambda a: np.rot90(a, k=1),  # rotated 90 degrees counter-clockwise
}
EXIF_ORIENTATION = 0x0112


@pytest.mark.parametrize("orientation", ORIENTATIONS)
def test_exif_orientation_is_applied(orientation: int) -> None:
    exif = Image.Exif()
    exif[EXIF_ORIENTATION] = orientation
    data = encode(RGB, "JPEG", exif=exif)
    stored = np.asarray(Image.open(io.BytesIO(data)).convert("RGB"))  # as decoded, unturned
    np.testing.assert_array_equal(load_image(data), ORIENTATIONS[orientation](stored))


def test_not_an_image(tmp_path: Path) -> None:
    text = tmp_path / "notes.txt"
    text.write_text("hello")
    assert "is not an image" in refused(text)
    assert "is not an image" in refused(b"hello")


def test_missing_file_and_directory(tmp_path: Path) -> None:
    assert "No such file" in refused(tmp_path / "missing.png")
    assert "cannot read image" in refused(tmp_path)


@pytest.mark.parametrize("fraction", [0.5, 0.8])
def test_truncated_png(fraction: float) -> None:
    data = encode(RGB)
    assert "PNG data in <bytes> is truncated or corrupt" in refused(
        data[: int(len(data) * fraction)]
    )


def test_png_cut_inside_its_header() -> None:
    assert "PNG data in <bytes> is truncated or corrupt" in refused(encode(RGB)[:40])


def test_truncated_jpeg(tmp_path: Path) -> None:
    data = encode(RGB, "JPEG")
    path = tmp_path / "cut.jpg"
    path.write_bytes(data[: len(data) // 2])
    assert "JPEG data in" in refused(path) and "truncated or corrupt" in refused(path)
    assert "JPEG data" in refused(data[:10])


@pytest.mark.parametrize(("width", "height"), [(0, 0), (0, 5), (5, 0)])
def test_zero_sized_png(width: int, height: int) -> None:
    assert f"is empty ({width}x{height} pixels)" in refused(raw_png(width, height, 8, 2, b""))


def test_too_large_is_refused_before_decoding() -> None:
    data = raw_png(9000, 9000, 8, 0, b"\x00")  # header only: decoding would be refused anyway
    message = refused(data)
    assert "too large: 9000x9000 = 81,000,000 pixels" in message
    assert "MAX_IMAGE_PIXELS" in message


def test_decompression_bomb_is_refused() -> None:
    assert "too large" in refused(raw_png(20000, 20000, 8, 0, b"\x00"))


@pytest.mark.parametrize("mode", ["F", "I"])
def test_unsupported_modes(mode: str) -> None:
    image = Image.fromarray(RGB[:, :, 0]).convert(mode)
    assert f"unsupported image mode {mode!r}" in refused(encode(image, "TIFF"))


def test_check_image_array_accepts_uint8_and_float() -> None:
    assert check_image_array(RGB) is RGB
    floats = RGB.astype(np.float32)
    assert check_image_array(floats) is floats


@pytest.mark.parametrize(
    ("image", "expected"),
    [
        ([[1, 2, 3]], "must be a NumPy array"),
        (np.zeros((4, 4), np.uint8), "shape (height, width, 3)"),
        (np.zeros((4, 4, 4), np.uint8), "got (4, 4, 4)"),
        (np.zeros((0, 4, 3), np.uint8), "empty (4x0 pixels)"),
        (np.zeros((4, 4, 3), np.int16), "unsupported image dtype int16"),
        (np.zeros((4, 4, 3), bool), "unsupported image dtype bool"),
        (np.full((4, 4, 3), np.nan, np.float32), "NaN or infinite"),
        (np.full((4, 4, 3), np.inf), "NaN or infinite"),
        (np.full((4, 4, 3), -1.0), "lie in [0, 255], got [-1, -1]"),
        (np.full((4, 4, 3), 256.0), "[0, 255]"),
        (np.broadcast_to(np.zeros((1, 1, 3), np.uint8), (9000, 9000, 3)), "too large"),
    ],
)
def test_check_image_array_refusals(image: object, expected: str) -> None:
    with pytest.raises(InvalidImageError) as info:
        check_image_array(image)
    assert expected in str(info.value)
    assert "\n" not in str(info.value)


def test_limit_is_generous_for_cameras() -> None:
    assert MAX_IMAGE_PIXELS > 7680 * 4320
