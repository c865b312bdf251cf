"""Raw camera buffers in the REP-104 colour-video encodings -> (H, W, 3) uint8 RGB.

``to_rgb(encoding, data, height, width, step, is_bigendian)`` takes what a
``sensor_msgs/Image`` carries, without importing ROS. Interleaved 8- and 16-bit encodings
(rgb/bgr/rgba/bgra/mono, 8 or 16 bits) become read-only zero-copy views of ``data``: row
padding, channel order and mono are strides. 16-bit samples keep their high byte (``>> 8``,
as ``image_io.load_image`` does for 16-bit PNGs), which is one of the two bytes of each
sample, so ``is_bigendian`` only picks the byte offset and these stay views too.

YUV 4:2:2 (``uyvy``/``yuv422``, ``yuyv``/``yuv422_yuy2``) and Bayer (``bayer_rggb8`` ...)
are computed into a new array, matching OpenCV's ``cvtColor`` (``COLOR_YUV2RGB_UYVY`` /
``_YUY2``: BT.601 video range in OpenCV's 20-bit fixed point; ``COLOR_Bayer**2RGB``: bilinear
demosaicing with its rounding and its border rule, first/last row and column copied from
their neighbours) bit for bit. OpenCV names a Bayer pattern by the second row's second and
third pixels, so ROS ``bayer_rggb8`` is OpenCV's ``BayerBG`` (``BayerRGGB`` in OpenCV 5).

Why compiled loops (numba, already a dependency) and not OpenCV in the node, decided from
``python -m posenet_ros.pixel_formats_bench`` on the 2-core development machine (640x480, one
thread, output allocation included): numba 0.55 ms (YUV) and 0.58 ms (Bayer) per frame,
OpenCV 5.0 0.12 ms for both (its SIMD code; no faster on two threads there, which inference
keeps busy). OpenCV is 4-5x faster, but both are within the 1 ms target and the difference
(~0.45 ms, on these encodings only) does not pay for a ~50 MB run-time dependency (and, for
ROS installs, the second OpenCV next to the distribution's ``python3-opencv``). The results
are the same (bit for bit on the test frames); OpenCV stays the reference in the tests.
"""

from __future__ import annotations

import array
import functools
import logging
import threading
from dataclasses import dataclass
from typing import Protocol

import numba
import numpy as np

from posenet_ros.errors import InvalidImageError

log = logging.getLogger(__name__)

# REP 118 depth images: named in the refusal, since they reach the colour input by mistake.
DEPTH_ENCODINGS = frozenset({"16UC1", "32FC1"})

# BT.601 video range, OpenCV's fixed point (modules/imgproc/src/color_yuv): 20-bit coefficients.
_SHIFT = np.int32(20)
_CY, _CVR, _CVG, _CUG, _CUB = 1220542, 1673527, -852492, -409993, 2116026

_compile_lock = threading.Lock()


class _Format(Protocol):
    pixel_bytes: int

    def refuse(self, height: int, width: int) -> str | None:
        """Why this frame size cannot be converted, or None."""

    def convert(
        self, buffer: np.ndarray, height: int, width: int, step: int, is_bigendian: bool
    ) -> np.ndarray:
        """(H, W, 3) RGB from the frame's bytes ``buffer`` (sizes already checked)."""


@dataclass(frozen=True)
class _Interleaved:
    """Channels side by side; RGB is a strided view (channel stride 0 repeats mono)."""

    channels: int
    red: int  # channel index of R (0 for mono)
    channel_step: int  # +1 (RGB order), -1 (BGR order) or 0 (mono), in channels
    sample_bytes: int  # 1 or 2

    @property
    def pixel_bytes(self) -> int:
        return self.channels * self.sample_bytes

    def refuse(self, height: int, width: int) -> str | None:
        return None

    def convert(
        self, buffer: np.ndarray, height: int, width: int, step: int, is_bigendian: bool
    ) -> np.ndarray:
        high_byte = 0 if self.sample_bytes == 1 or is_bigendian else 1
        return np.lib.stride_tricks.as_strided(
            buffer[self.red * self.sample_bytes + high_byte :],
            shape=(height, width, 3),
            strides=(step, self.pixel_bytes, self.channel_step * self.sample_bytes),
            writeable=False,
        )


@dataclass(frozen=True)
class _Yuv422:
    """4:2:2: two pixels share one U and one V; byte offsets within each 4-byte pair."""

    y0: int
    u: int
    y1: int
    v: int
    pixel_bytes: int = 2

    def refuse(self, height: int, width: int) -> str | None:
        if width % 2:
            return (
                f"for an odd width ({width}): 4:2:2 pixels share chroma in pairs, so the width "
                "must be even"
            )
        return None

    def convert(
        self, buffer: np.ndarray, height: int, width: int, step: int, is_bigendian: bool
    ) -> np.ndarray:
        rgb = np.empty((height, width, 3), np.uint8)
        _compile()
        _yuv422_to_rgb(buffer, step, self.y0, self.u, self.y1, self.v, rgb)
        return rgb


@dataclass(frozen=True)
class _Bayer:
    """One colour per pixel in a 2x2 mosaic, located by where its red pixel sits."""

    red_row: int
    red_col: int
    pixel_bytes: int = 1

    def refuse(self, height: int, width: int) -> str | None:
        if height < 3 or width < 3:
            # OpenCV returns an all-black image there; a camera never sends one.
            return f"for {width}x{height} pixels: bilinear demosaicing needs at least 3x3"
        return None

    def convert(
        self, buffer: np.ndarray, height: int, width: int, step: int, is_bigendian: bool
    ) -> np.ndarray:
        rgb = np.empty((height, width, 3), np.uint8)
        _compile()
        _demosaic(buffer, step, self.red_row, self.red_col, rgb)
        return rgb


FORMATS: dict[str, _Format] = {
    "rgb8": _Interleaved(3, 0, 1, 1),
    "bgr8": _Interleaved(3, 2, -1, 1),
    "rgba8": _Interleaved(4, 0, 1, 1),
    "bgra8": _Interleaved(4, 2, -1, 1),
    "mono8": _Interleaved(1, 0, 0, 1),
    "rgb16": _Interleaved(3, 0, 1, 2),
    "bgr16": _Interleaved(3, 2, -1, 2),
    "rgba16": _Interleaved(4, 0, 1, 2),
    "bgra16": _Interleaved(4, 2, -1, 2),
    "mono16": _Interleaved(1, 0, 0, 2),
    "uyvy": _Yuv422(y0=1, u=0, y1=3, v=2),
    "yuv422": _Yuv422(y0=1, u=0, y1=3, v=2),  # the older name of uyvy
    "yuyv": _Yuv422(y0=0, u=1, y1=2, v=3),
    "yuv422_yuy2": _Yuv422(y0=0, u=1, y1=2, v=3),  # the older name of yuyv
    "bayer_rggb8": _Bayer(0, 0),
    "bayer_bggr8": _Bayer(1, 1),
    "bayer_gbrg8": _Bayer(1, 0),
    "bayer_grbg8": _Bayer(0, 1),
}


def to_rgb(
    encoding: str,
    data: bytes | bytearray | memoryview | array.array | np.ndarray,
    height: int,
    width: int,
    step: int,
    is_bigendian: bool = False,
) -> np.ndarray:
    """A read-only (H, W, 3) uint8 RGB image from a raw frame buffer (any buffer object).

    A view of ``data`` (keeping it alive) for interleaved encodings, a new array for YUV and
    Bayer. Raises ``InvalidImageError`` for an unknown or depth encoding, an empty image, a
    ``step`` shorter than a row, a data size other than ``step * height``, or a size the
    encoding cannot have.
    """
    layout = FORMATS.get(encoding)
    if layout is None:
        raise InvalidImageError(_unsupported(encoding))
    if height == 0 or width == 0:
        raise InvalidImageError(f"empty image {width}x{height}")
    row_bytes = width * layout.pixel_bytes
    if step < row_bytes:
        raise InvalidImageError(
            f"step {step} is shorter than a row of {width} {encoding} pixels ({row_bytes} bytes)"
        )
    buffer = np.frombuffer(data, dtype=np.uint8)
    if buffer.size != step * height:
        raise InvalidImageError(
            f"data has {buffer.size} bytes, expected step*height = {step * height}"
        )
    reason = layout.refuse(height, width)
    if reason is not None:
        raise InvalidImageError(f"unsupported encoding {encoding!r} {reason}")
    buffer.flags.writeable = False  # one compiled signature (read-only) for every buffer
    rgb = layout.convert(buffer, height, width, step, is_bigendian)
    rgb.flags.writeable = False
    return rgb


def _unsupported(encoding: str) -> str:
    depth = "a depth image, not colour or mono video; " if encoding in DEPTH_ENCODINGS else ""
    return f"unsupported encoding {encoding!r}: {depth}expected one of {', '.join(FORMATS)}"


def _compiled(function):
    """``numba.njit`` with its on-disk cache, or without one where no cache dir is writable."""
    try:
        return numba.njit(cache=True, nogil=True)(function)
    except RuntimeError as exc:  # no writable __pycache__, NUMBA_CACHE_DIR or user cache dir
        log.warning("compiling %s on every start: %s", function.__name__, exc)
        return numba.njit(nogil=True)(function)


# Compiled loops rather than OpenCV: see the module docstring (same results, no 50 MB wheel).
# Both kernels keep clamps and parity choices out of their inner loops: with them there, the
# branch mispredictions of noisy frames made each kernel 2-4x slower.
@numba.njit(nogil=True, inline="always")
def _luma(y: np.uint8) -> np.int32:
    """``max(y - 16, 0) * CY`` without a branch."""
    luma = np.int32(y) - np.int32(16)
    return (luma & ~(luma >> 31)) * np.int32(_CY)


@_compiled
def _yuv422_to_rgb(
    frame: np.ndarray, step: int, y0: int, u: int, y1: int, v: int, rgb: np.ndarray
) -> None:
    """OpenCV's YUV422toRGB8 arithmetic, one pair of pixels (4 bytes) at a time: unclamped
    values of a row first, then one clamping pass over the row."""
    height, width = rgb.shape[:2]
    half = np.int32(1 << (_SHIFT - 1))
    unclamped = np.empty(3 * width, np.int32)
    for i in range(height):
        # The frame comes 1-D so that rows are contiguous slices: a 2-D strided array of the
        # rows made both kernels 1.3-1.6x slower.
        row = frame[i * step : i * step + 2 * width]
        for pair in range(width // 2):
            k, q = 4 * pair, 6 * pair
            cu = np.int32(row[k + u]) - np.int32(128)
            cv = np.int32(row[k + v]) - np.int32(128)
            ruv = half + np.int32(_CVR) * cv
            guv = half + np.int32(_CVG) * cv + np.int32(_CUG) * cu
            buv = half + np.int32(_CUB) * cu
            luma = _luma(row[k + y0])
            unclamped[q] = (luma + ruv) >> _SHIFT
            unclamped[q + 1] = (luma + guv) >> _SHIFT
            unclamped[q + 2] = (luma + buv) >> _SHIFT
            luma = _luma(row[k + y1])
            unclamped[q + 3] = (luma + ruv) >> _SHIFT
            unclamped[q + 4] = (luma + guv) >> _SHIFT
            unclamped[q + 5] = (luma + buv) >> _SHIFT
        out = rgb[i].reshape(-1)
        for q in range(3 * width):
            out[q] = min(max(unclamped[q], np.int32(0)), np.int32(255))


@_compiled
def _demosaic(frame: np.ndarray, step: int, red_row: int, red_col: int, rgb: np.ndarray) -> None:
    """OpenCV's Bayer2RGB_ (bilinear): the interior from 3x3 neighbourhoods with its rounding,
    then the first/last column and row copied from their neighbours.

    A row's sites alternate between its own colour (R on red rows, B on blue rows) and green;
    ``near``/``far`` are the channels of the row's colour and of the other one.
    """
    height, width = rgb.shape[:2]
    vertical = np.empty(width, np.int32)  # above + below
    across = np.empty(width, np.int32)  # left + right
    for i in range(1, height - 1):
        above = frame[(i - 1) * step : (i - 1) * step + width]
        row = frame[i * step : i * step + width]
        below = frame[(i + 1) * step : (i + 1) * step + width]
        for j in range(width):
            vertical[j] = np.int32(above[j]) + np.int32(below[j])
        for j in range(1, width - 1):
            across[j] = np.int32(row[j - 1]) + np.int32(row[j + 1])
        red_line = (i - red_row) % 2 == 0
        near, far = (0, 2) if red_line else (2, 0)
        own = red_col if red_line else 1 - red_col  # column parity of the row's colour
        out = rgb[i]
        for j in range(2 - own, width - 1, 2):
            out[j, near] = row[j]
            out[j, 1] = (vertical[j] + across[j] + 2) >> 2
            out[j, far] = (vertical[j - 1] + vertical[j + 1] + 2) >> 2
        for j in range(1 + own, width - 1, 2):
            out[j, near] = (across[j] + 1) >> 1
            out[j, 1] = row[j]
            out[j, far] = (vertical[j] + 1) >> 1
        out[0] = out[1]
        out[width - 1] = out[width - 2]
    rgb[0] = rgb[1]
    rgb[height - 1] = rgb[height - 2]


def _compile() -> None:
    """Compile the YUV and Bayer kernels (or load them from numba's cache), once."""
    with _compile_lock:
        _compiled_kernels()


@functools.cache
def _compiled_kernels() -> None:
    """One signature each, for the read-only frame bytes; later compiles are disabled."""
    frame = numba.types.Array(numba.uint8, 1, "C", readonly=True)
    out = numba.uint8[:, :, ::1]
    _yuv422_to_rgb.compile((frame, *[numba.intp] * 5, out))
    _demosaic.compile((frame, *[numba.intp] * 3, out))
    for kernel in (_yuv422_to_rgb, _demosaic):
        kernel.disable_compile()


def warm_up() -> None:
    """Compile the YUV and Bayer kernels now rather than on the first such frame."""
    _compile()
