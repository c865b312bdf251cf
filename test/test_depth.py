"""Depth → 3D: payload decoding, window median, pinhole back-projection against analytic planes.

Expected points are computed here from the plane equations and K (ray through a pixel,
intersected with the plane), never with the code under test.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from posenet_ros.depth import (
    DepthConfig,
    Intrinsics,
    check_depth_size,
    depth_to_metres,
    keypoints_3d,
    poses_3d,
)
from posenet_ros.errors import InvalidConfigError, InvalidImageError
from posenet_ros.types import Pose

WIDTH, HEIGHT = 160, 120
FX, FY, CX, CY = 140.0, 135.0, 79.3, 61.7
K = (FX, 0.0, CX, 0.0, FY, CY, 0.0, 0.0, 1.0)
INTRINSICS = Intrinsics.from_k(K)
MM = 1e-3

# Keypoints at sub-pixel positions over the image (x, y, score).
KEYPOINTS = np.array(
    [(10.2 + 8.3 * i, 8.7 + 6.1 * i, 0.9) for i in range(17)],
    dtype=np.float64,
)


def ray(u: np.ndarray, v: np.ndarray) -> np.ndarray:
    """Direction (z = 1) of the camera ray through pixel (u, v)."""
    return np.stack([(u - CX) / FX, (v - CY) / FY, np.ones_like(u)], axis=-1)


def plane_depth(normal: tuple[float, float, float], offset: float) -> np.ndarray:
    """Depth (z, metres) at each pixel centre of the plane normal . P = offset."""
    v, u = np.mgrid[0:HEIGHT, 0:WIDTH].astype(np.float64)
    return offset / (ray(u, v) @ np.asarray(normal))


def expected_points(normal: tuple[float, float, float], offset: float) -> np.ndarray:
    """The sub-pixel keypoints back-projected at the plane's depth read at their nearest pixel
    (the median of a symmetric window on a plane is the centre reading)."""
    u, v = np.floor(KEYPOINTS[:, 0] + 0.5), np.floor(KEYPOINTS[:, 1] + 0.5)
    z = offset / (ray(u, v) @ np.asarray(normal))
    return ray(KEYPOINTS[:, 0], KEYPOINTS[:, 1]) * z[:, None]


def encode(depth_m: np.ndarray, encoding: str, big_endian: bool, padding: int) -> bytes:
    """A sensor_msgs/Image payload: rows of ``padding`` extra 0xFF bytes after the pixels."""
    order = ">" if big_endian else "<"
    if encoding == "16UC1":
        pixels = np.round(depth_m * 1000.0).astype(f"{order}u2")
    else:
        pixels = depth_m.astype(f"{order}f4")
    rows = pixels.view(np.uint8).reshape(depth_m.shape[0], -1)
    pad = np.full((depth_m.shape[0], padding), 0xFF, dtype=np.uint8)
    return np.hstack([rows, pad]).tobytes()


def decode(depth_m: np.ndarray, encoding: str, big_endian: bool = False, padding: int = 0):
    pixel_bytes = 2 if encoding == "16UC1" else 4
    step = WIDTH * pixel_bytes + padding
    data = encode(depth_m, encoding, big_endian, padding)
    return depth_to_metres(data, encoding, HEIGHT, WIDTH, step, big_endian)


FLAT = ((0.0, 0.0, 1.0), 2.0)  # z = 2 m
# Tilted 35 degrees about the y axis and 20 about x, 1.8 m from the camera centre.
TILTED = (
    (
        math.sin(math.radians(35)) * math.cos(math.radians(20)),
        math.sin(math.radians(20)),
        math.cos(math.radians(35)) * math.cos(math.radians(20)),
    ),
    1.8,
)


@pytest.mark.parametrize("plane", [FLAT, TILTED], ids=["flat", "tilted"])
@pytest.mark.parametrize("encoding", ["16UC1", "32FC1"])
@pytest.mark.parametrize("big_endian", [False, True], ids=["little", "big"])
@pytest.mark.parametrize("padding", [0, 6], ids=["packed", "padded"])
def test_plane_keypoints_match_the_analytic_back_projection(
    plane, encoding: str, big_endian: bool, padding: int
) -> None:
    normal, offset = plane
    depth = decode(plane_depth(normal, offset), encoding, big_endian, padding)
    points, valid = keypoints_3d(KEYPOINTS, depth, INTRINSICS, DepthConfig())
    assert valid.all()
    assert points.shape == (17, 3) and points.dtype == np.float64
    np.testing.assert_allclose(points, expected_points(normal, offset), rtol=0, atol=1 * MM)


@pytest.mark.parametrize("encoding", ["16UC1", "32FC1"])
def test_keypoints_on_pixel_centres_lie_on_the_tilted_plane(encoding: str) -> None:
    normal, offset = TILTED
    on_centres = np.column_stack([np.arange(17) * 9.0 + 3, np.arange(17) * 6.0 + 5, np.ones(17)])
    points, valid = keypoints_3d(
        on_centres, decode(plane_depth(normal, offset), encoding), INTRINSICS, DepthConfig()
    )
    assert valid.all()
    np.testing.assert_allclose(points @ np.asarray(normal), offset, rtol=0, atol=1 * MM)


def test_poses_3d_lifts_every_pose() -> None:
    depth = decode(plane_depth(*FLAT), "32FC1")
    shifted = KEYPOINTS.copy()
    shifted[:, 0] += 3.0
    points, valid = poses_3d(
        [Pose(0.8, KEYPOINTS), Pose(0.7, shifted)], depth, INTRINSICS, DepthConfig()
    )
    assert points.shape == (2, 17, 3) and valid.shape == (2, 17) and valid.all()
    np.testing.assert_allclose(points[0], expected_points(*FLAT), atol=1 * MM)
    np.testing.assert_allclose(points[1, :, 0] - points[0, :, 0], 3.0 * 2.0 / FX, atol=1 * MM)
    empty_points, empty_valid = poses_3d([], depth, INTRINSICS, DepthConfig())
    assert empty_points.shape == (0, 17, 3) and empty_valid.shape == (0, 17)


def test_holes_make_keypoints_invalid_and_partial_holes_are_skipped() -> None:
    depth = np.full((HEIGHT, WIDTH), 2.0)
    u0, v0 = int(np.floor(KEYPOINTS[0, 0] + 0.5)), int(np.floor(KEYPOINTS[0, 1] + 0.5))
    depth[v0 - 2 : v0 + 3, u0 - 2 : u0 + 3] = 0.0  # whole 5x5 window: no reading
    u1, v1 = int(np.floor(KEYPOINTS[5, 0] + 0.5)), int(np.floor(KEYPOINTS[5, 1] + 0.5))
    depth[v1 - 2 : v1 + 3, u1 - 2 : u1 + 3] = 0.0
    depth[v1 + 2, u1 + 2] = 3.0  # one reading left in keypoint 5's window
    points, valid = keypoints_3d(KEYPOINTS, decode(depth, "16UC1"), INTRINSICS, DepthConfig())
    assert not valid[0] and np.isnan(points[0]).all()
    assert valid[5] and points[5, 2] == pytest.approx(3.0, abs=MM)
    assert valid[np.r_[1:5, 6:17]].all()


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf, -1.0, 0.0])
def test_non_finite_and_non_positive_32fc1_readings_are_no_reading(bad: float) -> None:
    depth = np.full((HEIGHT, WIDTH), bad)
    depth[0, 0] = 1.5
    metres = decode(depth, "32FC1")
    assert metres.dtype == np.float32 and metres.shape == (HEIGHT, WIDTH)
    assert metres[0, 0] == pytest.approx(1.5)
    assert np.isnan(metres[1:]).all()
    _, valid = keypoints_3d(KEYPOINTS, metres, INTRINSICS, DepthConfig())
    assert not valid.any()


def test_zero_16uc1_readings_are_no_reading() -> None:
    metres = decode(np.zeros((HEIGHT, WIDTH)), "16UC1")
    assert np.isnan(metres).all()


def test_readings_out_of_range_are_ignored() -> None:
    depth = np.full((HEIGHT, WIDTH), 0.05)  # closer than depth_min
    depth[:, ::5] = 2.5  # one column in five (5 of a window's 25 readings) is in range
    depth[::4, 1::5] = 40.0  # farther than depth_max
    points, valid = keypoints_3d(
        KEYPOINTS, decode(depth, "32FC1"), INTRINSICS, DepthConfig(depth_min=0.1, depth_max=10.0)
    )
    assert valid.all()
    np.testing.assert_allclose(points[:, 2], 2.5, atol=1e-6)


def test_an_even_number_of_readings_takes_the_mean_of_the_middle_two() -> None:
    depth = np.full((HEIGHT, WIDTH), np.nan)
    x, y = 40.2, 30.6  # nearest pixel (40, 31)
    depth[31, 40], depth[32, 41], depth[30, 39], depth[33, 42] = 1.0, 2.0, 4.0, 9.0
    points, valid = keypoints_3d(
        np.array([[x, y, 1.0]] * 17), depth.astype(np.float32), INTRINSICS, DepthConfig()
    )
    assert valid.all()
    np.testing.assert_allclose(points[:, 2], 3.0)  # median of 1, 2, 4, 9
    np.testing.assert_allclose(points[:, 0], (x - CX) * 3.0 / FX)


def test_window_one_reads_the_nearest_pixel_only() -> None:
    depth = np.full((HEIGHT, WIDTH), 1.0, dtype=np.float32)
    depth[31, 40] = 2.0
    keypoints = np.array([[40.4, 30.6, 1.0]] * 17)
    points, _ = keypoints_3d(keypoints, depth, INTRINSICS, DepthConfig(window=1))
    np.testing.assert_allclose(points[:, 2], 2.0)


def test_keypoints_off_the_image_or_non_finite_are_invalid_and_edges_are_clipped() -> None:
    depth = np.full((HEIGHT, WIDTH), 2.0, dtype=np.float32)
    keypoints = np.tile([[5.0, 5.0, 1.0]], (17, 1))
    keypoints[0, :2] = (-0.6, 10.0)  # nearest pixel column -1
    keypoints[1, :2] = (10.0, HEIGHT - 0.5)  # nearest pixel row HEIGHT
    keypoints[2, :2] = (np.nan, 10.0)
    keypoints[3, :2] = (10.0, np.inf)
    keypoints[4, :2] = (-0.4, HEIGHT - 0.6)  # corner pixel (0, HEIGHT - 1): window clipped
    keypoints[5, :2] = (WIDTH - 0.6, 0.0)
    points, valid = keypoints_3d(keypoints, depth, INTRINSICS, DepthConfig())
    np.testing.assert_array_equal(valid[:6], [False, False, False, False, True, True])
    assert np.isnan(points[:4]).all()
    np.testing.assert_allclose(points[4], [(-0.4 - CX) * 2 / FX, (HEIGHT - 0.6 - CY) * 2 / FY, 2])


def test_a_depth_image_of_another_size_than_the_colour_image_is_refused() -> None:
    depth = np.zeros((HEIGHT, WIDTH), dtype=np.float32)
    check_depth_size(depth, WIDTH, HEIGHT)
    with pytest.raises(InvalidImageError, match=f"{WIDTH}x{HEIGHT}.*{WIDTH}x{HEIGHT + 1}"):
        check_depth_size(depth, WIDTH, HEIGHT + 1)


def test_k_is_read_row_major_and_bad_k_is_refused() -> None:
    assert Intrinsics.from_k(K) == Intrinsics(FX, FY, CX, CY)
    assert Intrinsics.from_k(np.array(K).reshape(3, 3)) == Intrinsics(FX, FY, CX, CY)
    with pytest.raises(InvalidConfigError, match="all zeros"):
        Intrinsics.from_k([0.0] * 9)
    with pytest.raises(InvalidConfigError, match="non-finite"):
        Intrinsics.from_k((FX, 0, CX, 0, np.nan, CY, 0, 0, 1))
    with pytest.raises(InvalidConfigError, match="focal lengths"):
        Intrinsics.from_k((-FX, 0, CX, 0, FY, CY, 0, 0, 1))
    with pytest.raises(InvalidConfigError, match="9 entries"):
        Intrinsics.from_k((FX, FY, CX, CY))


@pytest.mark.parametrize(
    ("encoding", "height", "width", "step", "size", "message"),
    [
        ("rgb8", 2, 3, 9, 18, "unsupported depth encoding 'rgb8'"),
        ("mono16", 2, 3, 6, 12, "unsupported depth encoding"),
        ("16UC1", 0, 3, 6, 0, "empty depth image"),
        ("32FC1", 2, 0, 0, 0, "empty depth image"),
        ("16UC1", 2, 3, 5, 10, "step 5 is shorter than a row"),
        ("32FC1", 2, 3, 12, 20, "20 bytes, expected step \\* height = 24"),
        ("16UC1", 2, 3, 6, 14, "14 bytes"),
    ],
)
def test_bad_payloads_are_refused(encoding, height, width, step, size, message) -> None:
    with pytest.raises(InvalidImageError, match=message):
        depth_to_metres(bytes(size), encoding, height, width, step, False)


def test_payload_types_rclpy_may_hand_over() -> None:
    import array

    values = np.array([[1000, 2000], [0, 65535]], dtype="<u2")
    expected = [[1.0, 2.0], [np.nan, 65.535]]
    for data in (values.tobytes(), bytearray(values.tobytes()), array.array("B", values.tobytes())):
        np.testing.assert_allclose(depth_to_metres(data, "16UC1", 2, 2, 4, False), expected)
    np.testing.assert_allclose(
        depth_to_metres(values.view(np.uint8), "16UC1", 2, 2, 4, False), expected
    )


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"window": 4}, "odd"),
        ({"window": 0}, "window"),
        ({"window": 3.0}, "window"),
        ({"depth_min": 5.0, "depth_max": 2.0}, "below depth_max"),
        ({"depth_min": -1.0}, "depth_min"),
        ({"depth_max": float("nan")}, "depth_max"),
    ],
)
def test_bad_depth_config_is_refused(changes: dict, message: str) -> None:
    with pytest.raises(InvalidConfigError, match=message):
        DepthConfig(**changes)
