"""Depth images to metres, and keypoints lifted to 3D by pinhole back-projection.

Depth follows REP 118: ``16UC1`` in millimetres, ``32FC1`` in metres; 0, NaN and +/-inf mean
"no reading" (NaN after ``depth_to_metres``; negative metres too). The depth image must be
aligned to the colour image (same size, the colour camera's K), as a RealSense
``aligned_depth_to_color`` stream is.

A keypoint's depth is the median of the valid readings within ``[depth_min, depth_max]`` in a
``window`` x ``window`` square around its nearest pixel (edges clipped to the image); its 3D
point, in the camera's optical frame (x right, y down, z forward), is the back-projection of
its sub-pixel (x, y) at that depth: ``X = (x - cx) Z / fx``, ``Y = (y - cy) Z / fy``. A keypoint
without such a reading, with its nearest pixel off the image, or with non-finite coordinates
is invalid: ``valid`` False and position NaN.
"""

from __future__ import annotations

import array
import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from posenet_ros.errors import InvalidConfigError, InvalidImageError
from posenet_ros.ranges import Range, check_ranges
from posenet_ros.types import Pose

# encoding -> (bytes per pixel, numpy dtype kind+size, metres per unit)
DEPTH_ENCODINGS: dict[str, tuple[int, str, float]] = {
    "16UC1": (2, "u2", 0.001),
    "32FC1": (4, "f4", 1.0),
}

DEPTH_RANGES: dict[str, Range] = {
    "window": Range(1, 51, integer=True),
    "depth_min": Range(0.0, 1000.0),
    "depth_max": Range(0.0, 1000.0),
}


@dataclass(frozen=True)
class Intrinsics:
    """Pinhole intrinsics in pixels (focal lengths and principal point)."""

    fx: float
    fy: float
    cx: float
    cy: float

    @classmethod
    def from_k(cls, k: Sequence[float]) -> Intrinsics:
        """From a row-major 3x3 K (``sensor_msgs/CameraInfo.k``); refuses an uncalibrated
        (all-zero) K, non-finite entries and focal lengths <= 0."""
        values = np.asarray(k, dtype=np.float64).ravel()
        if values.size != 9:
            raise InvalidConfigError(f"camera K must have 9 entries, got {values.size}")
        if not np.isfinite(values).all():
            raise InvalidConfigError(f"camera K has non-finite entries: {values.tolist()}")
        if not values.any():
            raise InvalidConfigError("camera K is all zeros (uncalibrated camera_info)")
        fx, fy, cx, cy = (float(values[i]) for i in (0, 4, 2, 5))
        if fx <= 0.0 or fy <= 0.0:
            raise InvalidConfigError(f"camera K focal lengths must be > 0, got fx={fx}, fy={fy}")
        return cls(fx, fy, cx, cy)


@dataclass(frozen=True)
class DepthConfig:
    """How a keypoint's depth is read (ranges in ``DEPTH_RANGES``), checked at construction.

    ``window``: odd side in pixels of the square the median is taken over; readings outside
    ``[depth_min, depth_max]`` metres are ignored.
    """

    window: int = 5
    depth_min: float = 0.1
    depth_max: float = 10.0

    def __post_init__(self) -> None:
        check_ranges(self, DEPTH_RANGES)
        if self.window % 2 == 0:
            raise InvalidConfigError(f"invalid window {self.window}: expected an odd number")
        if self.depth_min >= self.depth_max:
            raise InvalidConfigError(
                f"invalid depth_min {self.depth_min}: must be below depth_max {self.depth_max}"
            )


def depth_to_metres(
    data: bytes | bytearray | memoryview | array.array | np.ndarray,
    encoding: str,
    height: int,
    width: int,
    step: int,
    is_bigendian: bool,
) -> np.ndarray:
    """A ``sensor_msgs/Image`` depth payload as float32 (height, width) metres, NaN = none.

    Raises ``InvalidImageError`` for another encoding, an empty image, a ``step`` shorter than
    a row or a payload of another size than ``step * height``.
    """
    if encoding not in DEPTH_ENCODINGS:
        raise InvalidImageError(
            f"unsupported depth encoding {encoding!r}: expected one of {', '.join(DEPTH_ENCODINGS)}"
        )
    pixel_bytes, kind, scale = DEPTH_ENCODINGS[encoding]
    if height <= 0 or width <= 0:
        raise InvalidImageError(f"empty depth image ({width}x{height})")
    if step < width * pixel_bytes:
        raise InvalidImageError(
            f"depth step {step} is shorter than a row of {width} {encoding} pixels "
            f"({width * pixel_bytes} bytes)"
        )
    if isinstance(data, np.ndarray):
        buffer = np.ascontiguousarray(data).reshape(-1).view(np.uint8)
    else:
        buffer = np.frombuffer(data, dtype=np.uint8)  # bytes, array.array, memoryview
    if buffer.size != step * height:
        raise InvalidImageError(
            f"depth data has {buffer.size} bytes, expected step * height = {step * height}"
        )
    rows = buffer.reshape(height, step)[:, : width * pixel_bytes]
    dtype = np.dtype(kind).newbyteorder(">" if is_bigendian else "<")
    raw = np.ascontiguousarray(rows).view(dtype)
    metres = raw.astype(np.float32) * np.float32(scale)
    metres[~np.isfinite(metres) | (metres <= 0.0)] = np.nan
    return metres


def check_depth_size(depth_m: np.ndarray, width: int, height: int) -> None:
    """Raise ``InvalidImageError`` unless the depth image is ``width`` x ``height`` (aligned
    depth has the colour image's size; another size means another camera's pixels)."""
    if depth_m.shape[:2] != (height, width):
        raise InvalidImageError(
            f"depth image is {depth_m.shape[1]}x{depth_m.shape[0]}, the colour image "
            f"{width}x{height}: depth must be aligned to the colour image"
        )


def keypoints_3d(
    keypoints: np.ndarray,
    depth_m: np.ndarray,
    intrinsics: Intrinsics,
    config: DepthConfig,
) -> tuple[np.ndarray, np.ndarray]:
    """(17, 3) x, y, score colour pixels -> ((17, 3) float64 metres, (17,) bool valid)."""
    positions, valid = _back_project(np.asarray(keypoints)[None], depth_m, intrinsics, config)
    return positions[0], valid[0]


def poses_3d(
    poses: Sequence[Pose],
    depth_m: np.ndarray,
    intrinsics: Intrinsics,
    config: DepthConfig,
) -> tuple[np.ndarray, np.ndarray]:
    """All poses at once: ((N, 17, 3) float64 metres, (N, 17) bool valid)."""
    if not poses:
        return np.empty((0, 17, 3)), np.empty((0, 17), dtype=bool)
    stacked = np.stack([pose.keypoints for pose in poses])
    return _back_project(stacked, depth_m, intrinsics, config)


def _back_project(
    keypoints: np.ndarray,
    depth_m: np.ndarray,
    intrinsics: Intrinsics,
    config: DepthConfig,
) -> tuple[np.ndarray, np.ndarray]:
    """(N, K, >=2) pixel keypoints -> ((N, K, 3) metres, (N, K) valid)."""
    height, width = depth_m.shape
    xy = np.asarray(keypoints, dtype=np.float64)[..., :2]
    with np.errstate(invalid="ignore"):  # non-finite keypoints are marked invalid below
        pixel = np.floor(xy + 0.5)
        on_image = (
            np.isfinite(xy).all(axis=-1)
            & (pixel[..., 0] >= 0)
            & (pixel[..., 0] < width)
            & (pixel[..., 1] >= 0)
            & (pixel[..., 1] < height)
        )
    column = np.where(on_image, pixel[..., 0], 0).astype(np.intp)
    row = np.where(on_image, pixel[..., 1], 0).astype(np.intp)
    offsets = np.arange(config.window) - config.window // 2
    # Window pixels off the image are masked out; clipping only keeps the gather in bounds.
    rows = row[..., None, None] + offsets[:, None]
    columns = column[..., None, None] + offsets[None, :]
    inside = (rows >= 0) & (rows < height) & (columns >= 0) & (columns < width)
    samples = depth_m[np.clip(rows, 0, height - 1), np.clip(columns, 0, width - 1)]
    samples = samples.reshape(*row.shape, -1).astype(np.float64)
    usable = inside.reshape(samples.shape) & (samples >= config.depth_min)
    usable &= samples <= config.depth_max  # NaN compares False: no reading
    depth = _masked_median(samples, usable)
    valid = on_image & np.isfinite(depth)
    depth = np.where(valid, depth, np.nan)
    points = np.empty((*row.shape, 3))
    points[..., 0] = (xy[..., 0] - intrinsics.cx) * depth / intrinsics.fx
    points[..., 1] = (xy[..., 1] - intrinsics.cy) * depth / intrinsics.fy
    points[..., 2] = depth
    points[~valid] = np.nan
    return points, valid


def _masked_median(samples: np.ndarray, usable: np.ndarray) -> np.ndarray:
    """Median over the last axis of the usable samples (NaN where none), as ``np.median``:
    the mean of the two middle values for an even count. Sorting small windows beats
    ``np.nanmedian``'s per-call overhead."""
    ordered = np.sort(np.where(usable, samples, np.inf), axis=-1)
    count = usable.sum(axis=-1)
    lower = np.take_along_axis(ordered, np.maximum(count - 1, 0)[..., None] // 2, axis=-1)
    upper = np.take_along_axis(ordered, (count // 2)[..., None], axis=-1)
    median = 0.5 * (lower[..., 0] + upper[..., 0])
    return np.where(count > 0, median, math.nan)
