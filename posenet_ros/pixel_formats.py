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
thread, output allocation included): numba 0.21 ms (YUV) and 0.19 ms (Bayer) per frame,
OpenCV 5.0 0.12 ms for both (its SIMD code; 0.07 ms on two idle cores, which the node's
inference keeps busy). OpenCV is ~0.08 ms a frame faster, on these encodings only; that does not
pay for a ~50 MB run-time dependency (and, on ROS installs, a second OpenCV beside the
distribution's ``python3-opencv``). The results are the same, bit for bit on the test frames;
OpenCV is the reference in the tests.
"""

from __future__ import annotations

import array
import functools
from dataclasses import dataclass
from typing import Protocol

import numba
import numpy as np

from posenet_ros.depth import DEPTH_ENCODINGS
from posenet_ros.errors import InvalidImageError
from posenet_ros.jit import compile_for, compiled

# BT.601 video range, OpenCV's fixed point (modules/imgproc/src/color_yuv): 20-bit coefficients.
_SHIFT = np.int32(20)
_CY, _CVR, _CVG, _CUG, _CUB = 1220542, 1673527, -852492, -409993, 2116026


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
    """4:2:2: two pixels share one U and one V; Y first (YUYV) or U first (UYVY)."""

    luma_first: bool
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
        (_yuyv_to_rgb if self.luma_first else _uyvy_to_rgb)(buffer, step, rgb)
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
    "uyvy": _Yuv422(luma_first=False),
    "yuv422": _Yuv422(luma_first=False),  # the older name of uyvy
    "yuyv": _Yuv422(luma_first=True),
    "yuv422_yuy2": _Yuv422(luma_first=True),  # the older name of yuyv
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
    try:
        buffer = np.frombuffer(data, dtype=np.uint8)
    except (TypeError, ValueError, BufferError) as exc:
        raise InvalidImageError(f"data is not a contiguous buffer of bytes ({exc})") from None
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


# Compiled loops rather than OpenCV: see the module docstring. What made them fast (each step
# measured): rows as contiguous slices of the 1-D frame (not a strided 2-D array); no
# data-dependent branches (noisy frames mispredict them), so clamps and parity choices are
# selects; byte offsets known at compile time (one YUV kernel per order); simple loops over
# a row that LLVM vectorises, then one interleaving pass into the RGB row.
@numba.njit(nogil=True, inline="always")
def _yuv422_rows(frame: np.ndarray, step: int, rgb: np.ndarray, y0, u, y1, v) -> None:
    """OpenCV's YUV422toRGB8 arithmetic; ``y0, u, y1, v``: byte offsets in a pixel pair."""
    height, width = rgb.shape[:2]
    half = np.int32(1 << (_SHIFT - 1))
    unclamped = np.empty(3 * width, np.int32)
    for i in range(height):
        row = frame[i * step : i * step + 2 * width]
        for pair in range(width // 2):
            k, q = 4 * pair, 6 * pair
            cu = np.int32(row[k + u]) - np.int32(128)
            cv = np.int32(row[k + v]) - np.int32(128)
            ruv = half + np.int32(_CVR) * cv
            guv = half + np.int32(_CVG) * cv + np.int32(_CUG) * cu
            buv = half + np.int32(_CUB) * cu
            luma = np.int32(row[k + y0]) - np.int32(16)
            luma = (luma & ~(luma >> 31)) * np.int32(_CY)  # max(y - 16, 0) * CY
            unclamped[q] = (luma + ruv) >> _SHIFT
            unclamped[q + 1] = (luma + guv) >> _SHIFT
            unclamped[q + 2] = (luma + buv) >> _SHIFT
            luma = np.int32(row[k + y1]) - np.int32(16)
            luma = (luma & ~(luma >> 31)) * np.int32(_CY)
            unclamped[q + 3] = (luma + ruv) >> _SHIFT
            unclamped[q + 4] = (luma + guv) >> _SHIFT
            unclamped[q + 5] = (luma + buv) >> _SHIFT
        out = rgb[i].reshape(-1)
        for q in range(3 * width):
            out[q] = min(max(unclamped[q], np.int32(0)), np.int32(255))


@compiled
def _uyvy_to_rgb(frame: np.ndarray, step: int, rgb: np.ndarray) -> None:
    _yuv422_rows(frame, step, rgb, 1, 0, 3, 2)


@compiled
def _yuyv_to_rgb(frame: np.ndarray, step: int, rgb: np.ndarray) -> None:
    _yuv422_rows(frame, step, rgb, 0, 1, 2, 3)


@compiled
def _demosaic(frame: np.ndarray, step: int, red_row: int, red_col: int, rgb: np.ndarray) -> None:
    """OpenCV's Bayer2RGB_ (bilinear): the interior from 3x3 neighbourhoods with its rounding,
    then the first/last column and row copied from their neighbours.

    A row's sites alternate between its own colour (R on red rows, B on blue rows) and green:
    each row is computed into three planes (its own colour, green, the other colour), which
    are then interleaved as RGB.
    """
    height, width = rgb.shape[:2]
    vertical = np.zeros(width, np.int32)  # above + below
    own = np.empty(width, np.uint8)
    green = np.empty(width, np.uint8)
    other = np.empty(width, np.uint8)
    for i in range(1, height - 1):
        above = frame[(i - 1) * step : (i - 1) * step + width]
        row = frame[i * step : i * step + width]
        below = frame[(i + 1) * step : (i + 1) * step + width]
        red_line = (i - red_row) % 2 == 0
        own_col = red_col if red_line else 1 - red_col  # column parity of the row's colour
        for j in range(width):
            vertical[j] = np.int32(above[j]) + np.int32(below[j])
        for j in range(1, width - 1):
            centre = np.int32(row[j])
            across = np.int32(row[j - 1]) + np.int32(row[j + 1])
            diagonal = vertical[j - 1] + vertical[j + 1]
            if (j + own_col) & 1 == 0:  # a site of the row's colour (compiles to selects)
                own[j], green[j] = centre, (vertical[j] + across + 2) >> 2
                other[j] = (diagonal + 2) >> 2
            else:  # green between two of them
                own[j], green[j] = (across + 1) >> 1, centre
                other[j] = (vertical[j] + 1) >> 1
        red, blue = (own, other) if red_line else (other, own)
        out = rgb[i].reshape(-1)
        for j in range(1, width - 1):
            out[3 * j], out[3 * j + 1], out[3 * j + 2] = red[j], green[j], blue[j]
        out[0:3] = out[3:6]
        out[3 * width - 3 :] = out[3 * width - 6 : 3 * width - 3]
    rgb[0] = rgb[1]
    rgb[height - 1] = rgb[height - 2]


@functools.cache  # once: convert calls it on every frame
def _compile() -> None:
    """Compile the YUV and Bayer kernels (or load them from numba's cache) for the read-only
    frame bytes, once."""
    frame = numba.types.Array(numba.uint8, 1, "C", readonly=True)
    out = numba.uint8[:, :, ::1]
    for kernel in (_uyvy_to_rgb, _yuyv_to_rgb):
        compile_for(kernel, [(frame, numba.intp, out)])
    compile_for(_demosaic, [(frame, numba.intp, numba.intp, numba.intp, out)])


def warm_up() -> None:
    """Compile the YUV and Bayer kernels now rather than on the first such frame."""
    _compile()
