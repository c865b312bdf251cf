"""The real posenet_node over DDS, fed every YUV 4:2:2, Bayer and 16-bit encoding.

Each frame is built here from a photo, and the expected poses are the core ``PoseEstimator``'s
on OpenCV's RGB of the same bytes (``cvtColor``; 16-bit: its channel order, then the high
byte), so the node must convert as OpenCV does and then estimate as the core does.
"""

from __future__ import annotations

import array

import cv2
import numpy as np
import pytest

from .requirements import require_ros_build

require_ros_build()

from posenet_ros.estimator import PoseEstimator  # noqa: E402
from posenet_ros.image_io import load_image  # noqa: E402
from posenet_ros.ros.parameters import PARAMETERS, estimator_config  # noqa: E402

from .harness import DATA_DIR  # noqa: E402

PADDING = 3  # bytes after each row: odd, so 16-bit rows start at odd offsets too
BAYER = {  # ROS pattern -> (OpenCV code, colour of the 2x2 cell's sites as RGB channels)
    "bayer_rggb8": (cv2.COLOR_BayerBG2RGB, (0, 1, 1, 2)),
    "bayer_bggr8": (cv2.COLOR_BayerRG2RGB, (2, 1, 1, 0)),
    "bayer_gbrg8": (cv2.COLOR_BayerGR2RGB, (1, 2, 0, 1)),
    "bayer_grbg8": (cv2.COLOR_BayerGB2RGB, (1, 0, 2, 1)),
}
YUV = {  # encoding -> (OpenCV code, byte order of a pixel pair)
    "uyvy": (cv2.COLOR_YUV2RGB_UYVY, "UYVY"),
    "yuv422": (cv2.COLOR_YUV2RGB_UYVY, "UYVY"),
    "yuyv": (cv2.COLOR_YUV2RGB_YUY2, "YUYV"),
    "yuv422_yuy2": (cv2.COLOR_YUV2RGB_YUY2, "YUYV"),
}
SIXTEEN_BIT = {  # encoding -> (channel order as RGB indices, OpenCV code to RGB)
    "rgb16": ((0, 1, 2), None),
    "bgr16": ((2, 1, 0), cv2.COLOR_BGR2RGB),
    "rgba16": ((0, 1, 2, 0), cv2.COLOR_RGBA2RGB),
    "bgra16": ((2, 1, 0, 0), cv2.COLOR_BGRA2RGB),
    "mono16": ((1,), cv2.COLOR_GRAY2RGB),
}


@pytest.fixture(scope="module")
def photo() -> np.ndarray:
    """Two people at half size (keeps the run short), cropped to an odd width and height."""
    people = np.hstack(
        [load_image(DATA_DIR / "astronaut.jpg"), load_image(DATA_DIR / "astronaut_mirrored.jpg")]
    )
    return people[::2, ::2][:-1, :-1]


@pytest.fixture(scope="module")
def estimator() -> PoseEstimator:
    return PoseEstimator(estimator_config({spec.name: spec.default for spec in PARAMETERS}))


def padded(rows: np.ndarray) -> tuple[int, array.array]:
    """(step, data) of the (H, row_bytes) uint8 rows with PADDING filler bytes per row."""
    filler = np.full((rows.shape[0], PADDING), 0xA5, np.uint8)
    data = np.hstack([rows, filler])
    return data.shape[1], array.array("B", data.tobytes())


def bayer_frame(encoding: str, rgb: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(mosaic rows, OpenCV's RGB of them)."""
    code, cell = BAYER[encoding]
    mosaic = np.empty(rgb.shape[:2], np.uint8)
    for index, channel in enumerate(cell):
        mosaic[index // 2 :: 2, index % 2 :: 2] = rgb[index // 2 :: 2, index % 2 :: 2, channel]
    return mosaic, cv2.cvtColor(mosaic, code)


def yuv_frame(encoding: str, rgb: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(4:2:2 rows, OpenCV's RGB of them); BT.601 video range, chroma averaged per pair."""
    code, order = YUV[encoding]
    r, g, b = (rgb[:, :, c].astype(np.float64) for c in range(3))
    planes = {
        "Y": 16 + (65.481 * r + 128.553 * g + 24.966 * b) / 255,
        "U": 128 + (-37.797 * r - 74.203 * g + 112.0 * b) / 255,
        "V": 128 + (112.0 * r - 93.786 * g - 18.214 * b) / 255,
    }
    luma, u, v = planes["Y"], planes["U"], planes["V"]
    y0, y1 = luma[:, 0::2], luma[:, 1::2]
    u, v = (u[:, 0::2] + u[:, 1::2]) / 2, (v[:, 0::2] + v[:, 1::2]) / 2
    columns = {"UYVY": (u, y0, v, y1), "YUYV": (y0, u, y1, v)}[order]
    packed = np.rint(np.stack(columns, axis=2)).clip(0, 255).astype(np.uint8)
    return packed.reshape(rgb.shape[0], -1), cv2.cvtColor(packed.reshape(*rgb.shape[:2], 2), code)


def sixteen_bit_frame(
    encoding: str, rgb: np.ndarray, big_endian: bool
) -> tuple[np.ndarray, np.ndarray]:
    """(16-bit rows with random low bytes, OpenCV's RGB of the samples, high byte)."""
    channels, code = SIXTEEN_BIT[encoding]
    noise = np.random.default_rng(16).integers(0, 256, (*rgb.shape[:2], len(channels)))
    samples = (rgb[:, :, list(channels)].astype(np.uint16) << 8) | noise.astype(np.uint16)
    image = samples[:, :, 0] if len(channels) == 1 else samples
    expected = samples if code is None else cv2.cvtColor(image, code)
    raw = np.ascontiguousarray(samples, ">u2" if big_endian else "<u2").view(np.uint8)
    return raw.reshape(rgb.shape[0], -1), (expected >> 8).astype(np.uint8)


def frames() -> list[tuple[str, bool]]:
    big = [(encoding, True) for encoding in SIXTEEN_BIT]
    return [(encoding, False) for encoding in [*YUV, *BAYER, *SIXTEEN_BIT]] + big


def assert_same_poses(msg, expected) -> None:
    """Same poses as the core, up to the float32 of the message fields."""
    assert len(msg.poses) == len(expected)
    for got, want in zip(msg.poses, expected, strict=True):
        assert got.score == pytest.approx(want.score, rel=1e-6, abs=1e-7)
        keypoints = np.array([[k.x, k.y, k.score] for k in got.keypoints], np.float64)
        np.testing.assert_allclose(keypoints, want.keypoints, rtol=1e-6, atol=1e-4)


@pytest.mark.parametrize(
    ("encoding", "big_endian"),
    frames(),
    ids=[f"{e}{'-big-endian' if big else ''}" for e, big in frames()],
)
def test_node_gives_the_core_poses_on_opencvs_rgb(client, photo, estimator, encoding, big_endian):
    rgb = photo[:, :-1] if encoding in YUV else photo  # 4:2:2 needs an even width
    if encoding in YUV:
        rows, expected_rgb = yuv_frame(encoding, rgb)
    elif encoding in BAYER:
        rows, expected_rgb = bayer_frame(encoding, rgb)
    else:
        rows, expected_rgb = sixteen_bit_frame(encoding, rgb, big_endian)
    msg = client.raw_image(rgb)
    msg.encoding, msg.is_bigendian = encoding, big_endian
    msg.step, msg.data = padded(rows)
    expected = estimator.estimate(expected_rgb)
    assert expected, "the photo should show people after conversion"
    reply = client.infer(msg)
    assert (reply.image_width, reply.image_height) == (rgb.shape[1], rgb.shape[0])
    assert_same_poses(reply, expected)


# encoding, (height, width), step, the reason the node must give
BAD_FRAMES = {
    "depth 16UC1": ("16UC1", (4, 6), 12, "'16UC1': a depth image"),
    "depth 32FC1": ("32FC1", (4, 6), 24, "'32FC1': a depth image"),
    "odd-width yuyv": ("yuyv", (4, 5), 10, "'yuyv' for an odd width (5)"),
    "tiny bayer": ("bayer_rggb8", (2, 6), 6, "'bayer_rggb8' for 6x2 pixels"),
    "short rgb16 step": ("rgb16", (4, 6), 35, "step 35 is shorter than a row of 6 rgb16"),
}


@pytest.mark.parametrize("frame", BAD_FRAMES.values(), ids=BAD_FRAMES.keys())
def test_bad_frames_are_refused_with_the_reason(client, node, photo, estimator, frame):
    encoding, (height, width), step, reason = frame
    bad = client.raw_image(photo[:height, :width])
    bad.encoding, bad.step = encoding, step
    bad.data = array.array("B", bytes(step * height))
    client.raw.publish(bad)
    values = client.wait_diagnostics(lambda v: reason in v["last_error"])
    assert values["last_error"].startswith("bad frame dropped")
    assert node.alive(), node.log()
    assert_same_poses(client.infer(client.raw_image(photo)), estimator.estimate(photo))
