"""Every raw encoding -> RGB, against OpenCV's cvtColor for the same conversion."""

from __future__ import annotations

from collections.abc import Callable

import cv2
import numpy as np
import pytest

from posenet_ros.errors import InvalidImageError
from posenet_ros.pixel_formats import FORMATS, to_rgb

RNG = np.random.default_rng(104)
PAD_BYTE = 77

# ROS names a Bayer pattern by its first 2x2 cell from the top left; OpenCV's classic codes by
# the second row's second and third pixels (checked by test_opencv_bayer_codes_for_ros_patterns).
BAYER_CODES = {
    "bayer_rggb8": cv2.COLOR_BayerBG2RGB,
    "bayer_bggr8": cv2.COLOR_BayerRG2RGB,
    "bayer_gbrg8": cv2.COLOR_BayerGR2RGB,
    "bayer_grbg8": cv2.COLOR_BayerGB2RGB,
}
YUV_CODES = {
    "uyvy": cv2.COLOR_YUV2RGB_UYVY,
    "yuv422": cv2.COLOR_YUV2RGB_UYVY,
    "yuyv": cv2.COLOR_YUV2RGB_YUY2,
    "yuv422_yuy2": cv2.COLOR_YUV2RGB_YUY2,
}
# encoding -> (channels, OpenCV code to RGB, or None when the samples are RGB already)
INTERLEAVED = {
    "rgb8": (3, None),
    "bgr8": (3, cv2.COLOR_BGR2RGB),
    "rgba8": (4, cv2.COLOR_RGBA2RGB),
    "bgra8": (4, cv2.COLOR_BGRA2RGB),
    "mono8": (1, cv2.COLOR_GRAY2RGB),
    "rgb16": (3, None),
    "bgr16": (3, cv2.COLOR_BGR2RGB),
    "rgba16": (4, cv2.COLOR_RGBA2RGB),
    "bgra16": (4, cv2.COLOR_BGRA2RGB),
    "mono16": (1, cv2.COLOR_GRAY2RGB),
}
SIZES = [(1, 2), (3, 3), (5, 8), (6, 7), (7, 4), (480, 640)]  # (height, width); 640: SIMD paths


def frame_bytes(rows: np.ndarray, padding: int) -> bytes:
    """The (H, row_bytes) uint8 rows, each followed by ``padding`` filler bytes."""
    filler = np.full((rows.shape[0], padding), PAD_BYTE, np.uint8)
    return np.concatenate([rows, filler], axis=1).tobytes()


def convert(encoding: str, rows: np.ndarray, width: int, padding: int, big: bool = False):
    height, row_bytes = rows.shape
    step = row_bytes + padding
    return to_rgb(encoding, frame_bytes(rows, padding), height, width, step, big)


def assert_within_one_level(actual: np.ndarray, expected: np.ndarray) -> None:
    assert actual.shape == expected.shape and actual.dtype == np.uint8
    difference = np.abs(actual.astype(np.int16) - expected.astype(np.int16))
    assert difference.max() <= 1, f"{(difference > 1).sum()} values off by more than 1"


def test_every_supported_encoding_is_covered_here():
    assert set(FORMATS) == set(BAYER_CODES) | set(YUV_CODES) | set(INTERLEAVED)


@pytest.mark.parametrize("padding", [0, 5])
@pytest.mark.parametrize("size", [s for s in SIZES if min(s) >= 3], ids=str)
@pytest.mark.parametrize("encoding", sorted(BAYER_CODES))
def test_bayer_matches_opencv_bilinear_demosaicing(encoding, size, padding):
    mosaic = RNG.integers(0, 256, size, dtype=np.uint8)
    expected = cv2.cvtColor(mosaic, BAYER_CODES[encoding])
    assert_within_one_level(convert(encoding, mosaic, size[1], padding), expected)


@pytest.mark.parametrize(
    ("encoding", "cell"),
    [
        ("bayer_rggb8", "RGGB"),
        ("bayer_bggr8", "BGGR"),
        ("bayer_gbrg8", "GBRG"),
        ("bayer_grbg8", "GRBG"),
    ],
)
def test_opencv_bayer_codes_for_ros_patterns(encoding, cell):
    """A flat colour mosaicked as ROS lays the pattern out comes back as that colour, from
    OpenCV with the code used above and from the conversion."""
    colour = {"R": 200, "G": 90, "B": 20}
    mosaic = np.empty((8, 10), np.uint8)
    for index, name in enumerate(cell):
        mosaic[index // 2 :: 2, index % 2 :: 2] = colour[name]
    expected = np.broadcast_to(np.array([200, 90, 20], np.uint8), (8, 10, 3))
    np.testing.assert_array_equal(cv2.cvtColor(mosaic, BAYER_CODES[encoding]), expected)
    np.testing.assert_array_equal(convert(encoding, mosaic, 10, 0), expected)


@pytest.mark.parametrize("padding", [0, 6])
@pytest.mark.parametrize("size", [s for s in SIZES if s[1] % 2 == 0], ids=str)
@pytest.mark.parametrize("encoding", sorted(YUV_CODES))
def test_yuv422_matches_opencv(encoding, size, padding):
    pairs = RNG.integers(0, 256, (*size, 2), dtype=np.uint8)
    expected = cv2.cvtColor(pairs, YUV_CODES[encoding])
    actual = convert(encoding, pairs.reshape(size[0], -1), size[1], padding)
    assert_within_one_level(actual, expected)


def test_yuv422_known_values():
    """BT.601 video range: Y 16 is black, 235 white, and U/V move blue and red."""
    uyvy = np.array([[128, 16, 128, 235, 90, 81, 240, 81]], np.uint8)  # black, white, red, red
    rgb = convert("uyvy", uyvy, 4, 0)
    assert rgb[0, 0].tolist() == [0, 0, 0]
    assert rgb[0, 1].tolist() == [255, 255, 255]
    assert rgb[0, 2, 0] > 240 and rgb[0, 2, 1:].max() < 10


def interleaved_samples(encoding: str, size: tuple[int, int]) -> np.ndarray:
    channels, _ = INTERLEAVED[encoding]
    dtype = np.uint16 if encoding.endswith("16") else np.uint8
    return RNG.integers(0, np.iinfo(dtype).max + 1, (*size, channels), dtype=dtype)


def opencv_rgb(encoding: str, samples: np.ndarray) -> np.ndarray:
    """OpenCV's RGB of the samples; 16-bit ones are then mapped to 8 bits by their high byte."""
    _, code = INTERLEAVED[encoding]
    image = samples[:, :, 0] if samples.shape[2] == 1 else samples
    rgb = samples if code is None else cv2.cvtColor(image, code)
    return (rgb >> 8).astype(np.uint8) if rgb.dtype == np.uint16 else rgb


@pytest.mark.parametrize("big_endian", [False, True])
@pytest.mark.parametrize("padding", [0, 3])  # 3: an odd step for 16-bit rows
@pytest.mark.parametrize("size", SIZES, ids=str)
@pytest.mark.parametrize("encoding", sorted(INTERLEAVED))
def test_interleaved_matches_opencv(encoding, size, padding, big_endian):
    samples = interleaved_samples(encoding, size)
    order = ">" if big_endian else "<"
    raw = samples.astype(samples.dtype.newbyteorder(order)).view(np.uint8)
    actual = convert(encoding, raw.reshape(size[0], -1), size[1], padding, big_endian)
    np.testing.assert_array_equal(actual, opencv_rgb(encoding, samples))


def test_sixteen_bit_keeps_the_high_byte_within_one_level_of_scaling():
    """High byte (>> 8) against OpenCV's rounded 8-bit scaling (x / 256): at most 1 apart."""
    samples = np.array([[[0, 127, 128], [255, 256, 383], [32767, 65407, 65535]]], np.uint16)
    rgb = convert("rgb16", samples.view(np.uint8).reshape(1, -1), 3, 0)
    assert rgb.reshape(-1).tolist() == [0, 0, 0, 0, 1, 1, 127, 255, 255]
    assert_within_one_level(rgb, cv2.convertScaleAbs(samples, alpha=1 / 256))


@pytest.mark.parametrize("encoding", ["rgb8", "bgra8", "mono8", "bgr16", "rgba16", "mono16"])
def test_interleaved_results_are_read_only_views_of_the_buffer(encoding):
    samples = interleaved_samples(encoding, (4, 5))
    buffer = bytearray(frame_bytes(samples.view(np.uint8).reshape(4, -1), 2))
    rgb = to_rgb(encoding, buffer, 4, 5, samples[0].nbytes + 2, True)
    assert np.shares_memory(rgb, np.frombuffer(buffer, np.uint8))
    assert not rgb.flags.writeable


@pytest.mark.parametrize("encoding", ["yuyv", "bayer_grbg8"])
def test_computed_results_are_new_read_only_arrays(encoding):
    buffer = bytearray(RNG.integers(0, 256, 4 * 6 * 2, dtype=np.uint8).tobytes())
    step = 12 if encoding == "yuyv" else 6
    rgb = to_rgb(encoding, buffer, len(buffer) // step, 6, step)
    assert rgb.shape == (len(buffer) // step, 6, 3)
    assert not np.shares_memory(rgb, np.frombuffer(buffer, np.uint8))
    assert not rgb.flags.writeable


Frame = tuple[str, int, int, int, int]  # encoding, data bytes, height, width, step


@pytest.mark.parametrize(
    ("frame", "message"),
    [
        (("yuv420", 12, 2, 2, 6), r"unsupported encoding 'yuv420': expected one of rgb8, "),
        (("", 12, 2, 2, 6), r"unsupported encoding ''"),
        (("16UC1", 8, 2, 2, 4), r"unsupported encoding '16UC1': a depth image"),
        (("32FC1", 16, 2, 2, 8), r"unsupported encoding '32FC1': a depth image"),
        (("rgb8", 0, 0, 2, 6), r"empty image 2x0"),
        (("mono16", 0, 3, 0, 0), r"empty image 0x3"),
        (("rgb16", 22, 2, 2, 11), r"step 11 is shorter than a row of 2 rgb16 pixels \(12 bytes\)"),
        (("yuyv", 14, 2, 4, 7), r"step 7 is shorter than a row of 4 yuyv pixels \(8 bytes\)"),
        (("bayer_rggb8", 11, 3, 4, 4), r"data has 11 bytes, expected step\*height = 12"),
        (("bgra8", 40, 2, 4, 16), r"data has 40 bytes, expected step\*height = 32"),
        (("uyvy", 30, 3, 5, 10), r"'uyvy' for an odd width \(5\): .* width must be even"),
        (("bayer_bggr8", 10, 2, 5, 5), r"'bayer_bggr8' for 5x2 pixels: .* at least 3x3"),
        (("bayer_gbrg8", 6, 3, 2, 2), r"'bayer_gbrg8' for 2x3 pixels: .* at least 3x3"),
    ],
    ids=lambda value: str(value) if isinstance(value, tuple) else "",
)
def test_bad_frames_are_refused_with_the_reason(frame: Frame, message: str):
    encoding, size, height, width, step = frame
    with pytest.raises(InvalidImageError, match=message):
        to_rgb(encoding, bytes(size), height, width, step)


def test_any_buffer_object_is_accepted():
    rows = RNG.integers(0, 256, (3, 8), dtype=np.uint8)
    kinds: list[Callable[[bytes], object]] = [bytes, bytearray, memoryview, np.frombuffer]
    results = [to_rgb("yuyv", kind(rows.tobytes()), 3, 4, 8) for kind in kinds]
    for result in results[1:]:
        np.testing.assert_array_equal(result, results[0])


@pytest.mark.parametrize("data", [np.zeros((3, 16), np.uint8)[:, ::2], "not bytes", None])
def test_data_that_is_no_byte_buffer_is_refused(data):
    with pytest.raises(InvalidImageError, match="data is not a contiguous buffer of bytes"):
        to_rgb("mono8", data, 3, 8, 8)
