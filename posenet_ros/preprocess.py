"""Image → network tensor exactly as @tensorflow-models/posenet, and poses back to source pixels.

Reference 2.x (``input_resolution`` set): the square target ``r`` is made valid for the output
stride (``(r - 1) % stride == 0``, else ``floor(r / stride) * stride + 1``), the frame is
zero-padded to the target aspect (``Math.round`` of half the missing size on each side), resized
with tfjs ``resizeBilinear`` (align-corners and half-pixel-centres off) and mapped with
``x / 127.5 - 1``. Poses are scaled back with ``(size + pads) / target`` minus the leading pad,
then mirrored (``x -> width - 1 - x``) when ``flip_horizontal`` is set.

Reference 0.x (``input_resolution=None``): each axis gets ``getValidResolution(image_scale_factor,
size, stride)``, no padding; ``flip_horizontal`` mirrors the *image* before the resize, so poses
come back in mirrored coordinates and are only scaled (``size / input``) — as 0.x did.

The resize reproduces the tfjs CPU kernel bit for bit: source position ``dst * in / out``,
``floor`` and ``min(ceil, in - 1)`` neighbours, both lerps in float64 (``a + (b - a) * frac``,
horizontal first), stored as float32, then ``/ 127.5 - 1`` in float32. One compiled (numba)
kernel does pad + resize + normalise separably into the reused tensor, with index and weight
tables built once per frame geometry, and skips the output rows/columns that only see
padding: about 0.25-0.3 ms per frame at 257 and 0.6 ms at 513 on the 2-core development CPU
(the banded NumPy version it replaced took 0.5-1.2 and 2-3.6 ms). Output rows are shared
with a helper thread while ONNX Runtime's threads sleep (``posenet_ros.row_sharing``), per
frame geometry only while that is faster than running alone: on the loaded 2-core machine
the fastest of 300 calls went from 0.51 to 0.31 ms at 257 and 1.09 to 0.61 ms at 513, the
median stayed within 0.01 ms. It compiles once per machine (about 0.7 s, cached on disk by
numba); loading it takes about 0.1 s on first use, which ``warm_up`` moves to start-up.
"""

from __future__ import annotations

import functools
import math
import threading
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from typing import NamedTuple

import numba
import numpy as np

from posenet_ros.config import EstimatorConfig
from posenet_ros.jit import compiled
from posenet_ros.row_sharing import Pacing, RowSharer
from posenet_ros.types import Pose

NORMALISE_SCALE = np.float32(127.5)
NORMALISE_SHIFT = np.float32(1.0)

_CACHED_PLANS = 4  # distinct frame geometries kept (ROS streams use one or two)
_compile_lock = threading.Lock()
_ROW_SHARER = RowSharer()  # output rows split with a helper thread (GIL-free kernel)


class Padding(NamedTuple):
    """Zero rows/columns added around the frame before resizing (reference ``padding``)."""

    top: int
    bottom: int
    left: int
    right: int


NO_PADDING = Padding(0, 0, 0, 0)


def js_round(value: float) -> int:
    """JavaScript ``Math.round``: the nearest integer, halves towards +infinity."""
    floor = math.floor(value)
    return floor + 1 if value - floor >= 0.5 else floor


def valid_input_resolution(resolution: int, output_stride: int) -> int:
    """Reference 2.x ``toValidInputResolution``: round down to ``k * stride + 1``."""
    if (resolution - 1) % output_stride == 0:
        return resolution
    return (resolution // output_stride) * output_stride + 1


def scale_factor_resolution(size: int, image_scale_factor: float, output_stride: int) -> int:
    """Reference 0.x ``getValidResolution`` for one axis (JS ``%`` is ``math.fmod``)."""
    even = size * image_scale_factor - 1
    return int(even - math.fmod(even, output_stride) + 1)


def aspect_padding(height: int, width: int, target_height: int, target_width: int) -> Padding:
    """Reference 2.x ``padAndResizeTo`` padding: pad width or height to the target aspect."""
    target_aspect = target_width / target_height
    if width / height < target_aspect:
        side = js_round(0.5 * (target_aspect * height - width))
        return Padding(0, 0, side, side)
    side = js_round(0.5 * ((1.0 / target_aspect) * width - height))
    return Padding(side, side, 0, 0)


@dataclass(frozen=True, slots=True)
class InputTransform:
    """How one frame became the network input, and the way back to source pixels.

    ``mirror_input`` (0.x) means the image was mirrored before resizing; ``flip_output`` (2.x)
    means poses are mirrored after scaling back.
    """

    source_height: int
    source_width: int
    input_height: int
    input_width: int
    padding: Padding = NO_PADDING
    mirror_input: bool = False
    flip_output: bool = False

    @property
    def scale_y(self) -> float:
        padded = self.source_height + self.padding.top + self.padding.bottom
        return padded / self.input_height

    @property
    def scale_x(self) -> float:
        padded = self.source_width + self.padding.left + self.padding.right
        return padded / self.input_width

    def to_source(self, keypoints: np.ndarray) -> np.ndarray:
        """Map an (..., 3) x, y, score array from model-input to source pixels (a new array)."""
        out = np.array(keypoints, dtype=np.float64, copy=True)
        out[..., 0] = out[..., 0] * self.scale_x - self.padding.left
        out[..., 1] = out[..., 1] * self.scale_y - self.padding.top
        if self.flip_output and self.source_width > 0:
            out[..., 0] = self.source_width - 1 - out[..., 0]
        return out

    def poses_to_source(self, poses: list[Pose]) -> list[Pose]:
        """``to_source`` applied to every pose (scores unchanged)."""
        return [Pose(pose.score, self.to_source(pose.keypoints)) for pose in poses]


def input_transform(height: int, width: int, config: EstimatorConfig) -> InputTransform:
    """The network input size, padding and flips the reference uses for a frame and config."""
    stride = config.output_stride
    if config.input_resolution is None:
        return InputTransform(
            height,
            width,
            scale_factor_resolution(height, config.image_scale_factor, stride),
            scale_factor_resolution(width, config.image_scale_factor, stride),
            mirror_input=config.flip_horizontal,
        )
    side = valid_input_resolution(config.input_resolution, stride)
    return InputTransform(
        height,
        width,
        side,
        side,
        padding=aspect_padding(height, width, side, side),
        flip_output=config.flip_horizontal,
    )


class _Axis(NamedTuple):
    """One axis of the tfjs resize over a zero-padded frame, restricted to its active span.

    The ``n`` output positions from ``start`` have at least one neighbour inside the frame;
    the others only see padding and come out 0. For each, ``index`` holds the frame indices of
    its (lower, upper) neighbours, clipped into the frame and mirrored if asked, and ``inside``
    1.0 where that neighbour is in the frame, 0.0 where it is padding (and so reads as 0).
    """

    start: int
    index: np.ndarray  # (2, n) intp
    inside: np.ndarray  # (2, n) float64
    frac: np.ndarray  # (n,) float64

    @property
    def active(self) -> slice:
        return slice(self.start, self.start + self.frac.size)


def _axis(size: int, pad_before: int, pad_after: int, out_size: int, mirror: bool) -> _Axis:
    padded = size + pad_before + pad_after
    position = np.arange(out_size, dtype=np.float64) * (padded / out_size)
    lower = np.floor(position)
    frac = position - lower
    upper = np.minimum(np.ceil(position), padded - 1)
    index = np.stack([lower, upper]).astype(np.intp) - pad_before
    inside = (index >= 0) & (index < size)
    positions = np.flatnonzero(inside.any(axis=0))
    active = slice(int(positions[0]), int(positions[-1]) + 1) if positions.size else slice(0, 0)
    index = np.clip(index, 0, size - 1)
    if mirror:
        index = size - 1 - index
    return _Axis(
        active.start,
        np.ascontiguousarray(index[:, active]),
        inside[:, active].astype(np.float64),
        np.ascontiguousarray(frac[active]),
    )


# Compiled loops rather than a library resize: tfjs's arithmetic must be reproduced exactly
# (float64 lerps at ``dst * in / out``), and OpenCV and Pillow resize with half-pixel centres
# or fixed-point weights; NumPy needs a temporary per step and was 2-4x slower.
@compiled
def _lerp_row(image: np.ndarray, row: int, cols: _Axis, out: np.ndarray) -> None:
    """The horizontal lerps of frame row ``row`` (-1: a padding row) into ``out`` (3 n,)."""
    if row < 0:
        out[:] = 0.0
        return
    source = image[row]
    for j in range(cols.frac.size):
        left, right = cols.index[0, j], cols.index[1, j]
        keep_left, keep_right, frac = cols.inside[0, j], cols.inside[1, j], cols.frac[j]
        for c in range(3):
            a = np.float64(source[left, c]) * keep_left  # 0.0 where the neighbour is padding
            b = np.float64(source[right, c]) * keep_right
            out[3 * j + c] = a + (b - a) * frac


@compiled
def _resize(
    image: np.ndarray,
    rows: _Axis,
    cols: _Axis,
    out: np.ndarray,
    normalise: bool,
    first: int,
    stop: int,
) -> None:
    """Resize ``image`` into rows ``first:stop`` of the active window of the C-contiguous
    ``out`` (out_h, out_w, 3).

    Each frame row is lerped horizontally once into one of two row slots: output rows sample
    frame rows in order, so two slots cover every reuse. Row -1 is a padding row (zeros).
    Every output row is computed the same way whatever the range, so ranges can run on
    different threads.
    """
    width = 3 * cols.frac.size
    lerped = np.empty((2, width), np.float64)
    held = np.full(2, -2)  # the frame row in each slot, -1 for a padding row
    scale, shift = np.float32(127.5), np.float32(1.0)
    first_col = 3 * cols.start
    for i in range(first, stop):
        top = rows.index[0, i] if rows.inside[0, i] else -1
        bottom = rows.index[1, i] if rows.inside[1, i] else -1
        if held[0] != top and held[1] != top:
            slot = 1 if held[0] == bottom else 0  # keep the bottom row if it is held
            _lerp_row(image, top, cols, lerped[slot])
            held[slot] = top
        t = 0 if held[0] == top else 1
        b = t if top == bottom else 1 - t
        if held[b] != bottom:
            _lerp_row(image, bottom, cols, lerped[b])
            held[b] = bottom
        above_row, below_row, frac = lerped[t], lerped[b], rows.frac[i]
        target = out[rows.start + i].reshape(-1)[first_col : first_col + width]
        for k in range(width):  # vertical lerp, stored as float32, then normalised in float32
            above = above_row[k]
            value = np.float32(above + (below_row[k] - above) * frac)
            target[k] = value / scale - shift if normalise else value


def _kernel() -> Callable:
    """``_resize`` compiled (or loaded from numba's cache) for uint8 and float64 images."""
    with _compile_lock:  # estimators built on two threads at once: the second waits
        return _compiled_kernel()


@functools.cache
def _compiled_kernel() -> Callable:
    """One signature per dtype for read-only arrays of any strides, so read-only ROS buffers
    and BGR/RGBA/mono views need no copy and no compile of their own; later compiles are
    disabled."""
    axis = numba.typeof(_axis(1, 0, 0, 1, False))
    for dtype in (numba.uint8, numba.float64):
        image = numba.types.Array(dtype, 3, "A", readonly=True)
        _resize.compile(
            (image, axis, axis, numba.float32[:, :, ::1], numba.boolean, numba.intp, numba.intp)
        )
    _resize.disable_compile()
    return _resize


class BilinearResizer:
    """tfjs ``resizeBilinear`` (no align-corners, no half-pixel centres) of a zero-padded frame.

    Index and weight tables are built once per geometry; only the output window that sees
    the frame is written (the rest is padding, left as it is in ``out``).
    """

    def __init__(
        self,
        shape: tuple[int, int],
        out_shape: tuple[int, int],
        padding: Padding = NO_PADDING,
        mirror: bool = False,
    ) -> None:
        (height, width), (out_h, out_w) = shape, out_shape
        self._shapes = ((height, width, 3), (out_h, out_w, 3))
        self._rows = _axis(height, padding.top, padding.bottom, out_h, False)
        self._cols = _axis(width, padding.left, padding.right, out_w, mirror)
        self._pacing = Pacing()  # whether sharing rows with the helper pays, for this geometry

    def run(self, image: np.ndarray, out: np.ndarray, normalise: bool = False) -> np.ndarray:
        """Resize an (H, W, 3) ``image`` into ``out``, a C-contiguous float32 (out_h, out_w, 3)
        array; ``normalise`` maps values with ``x / 127.5 - 1`` (in float32, after rounding to
        float32, as tfjs does)."""
        # The kernel does not check bounds: refuse what the tables were not built for.
        if (image.shape, out.shape) != self._shapes or not (
            out.dtype == np.float32 and out.flags.c_contiguous
        ):
            raise ValueError(
                f"resizer built for {self._shapes[0]} -> float32 {self._shapes[1]}, got "
                f"{image.shape} -> {out.dtype} {out.shape}"
            )
        if image.dtype != np.uint8:  # float images: float64 holds every value exactly
            image = np.asarray(image, np.float64)
        kernel, rows, cols = _kernel(), self._rows, self._cols
        _ROW_SHARER.run(
            lambda first, stop: kernel(image, rows, cols, out, normalise, first, stop),
            rows.frac.size,
            self._pacing,
        )
        return out

    def resize_into(self, image: np.ndarray, out: np.ndarray) -> np.ndarray:
        """Write the full float32 (out_h, out_w, 3) resize of ``image`` into ``out``."""
        out.fill(0)
        return self.run(image, out)


def resize_bilinear(
    image: np.ndarray,
    out_shape: tuple[int, int],
    padding: Padding = NO_PADDING,
    mirror: bool = False,
) -> np.ndarray:
    """One-off tfjs ``resizeBilinear`` of ``pad(image)`` to ``out_shape``: (h, w, 3) float32."""
    resizer = BilinearResizer(image.shape[:2], out_shape, padding, mirror)
    return resizer.resize_into(image, np.empty((*out_shape, 3), np.float32))


def warm_up() -> None:
    """Compile the kernel (or load it from numba's cache) now rather than on the first frame."""
    _kernel()


class _Plan(NamedTuple):
    resizer: BilinearResizer
    tensor: np.ndarray  # (1, H, W, 3) float32, reused frame after frame; padding preset to -1


class Preprocessor:
    """Frames → network tensors, with resize tables and buffers cached per frame geometry.

    The returned tensor is reused by the next call with the same geometry (copy it to keep
    it). One instance per thread.
    """

    def __init__(self) -> None:
        self._plans: OrderedDict[InputTransform, _Plan] = OrderedDict()

    def __call__(
        self, image: np.ndarray, config: EstimatorConfig
    ) -> tuple[np.ndarray, InputTransform]:
        """Return the (1, H, W, 3) float32 tensor in [-1, 1] and its ``InputTransform``."""
        height, width = image.shape[:2]
        transform = input_transform(height, width, config)
        plan = self._plan(transform)
        plan.resizer.run(image, plan.tensor[0], normalise=True)
        return plan.tensor, transform

    def _plan(self, transform: InputTransform) -> _Plan:
        plan = self._plans.get(transform)
        if plan is None:
            shape = (transform.input_height, transform.input_width)
            resizer = BilinearResizer(
                (transform.source_height, transform.source_width),
                shape,
                transform.padding,
                transform.mirror_input,
            )
            plan = _Plan(resizer, np.full((1, *shape, 3), -NORMALISE_SHIFT, np.float32))
            self._plans[transform] = plan
            if len(self._plans) > _CACHED_PLANS:
                self._plans.popitem(last=False)
        else:
            self._plans.move_to_end(transform)
        return plan
