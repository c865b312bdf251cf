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
horizontal first), stored as float32. It runs separably, in cache-sized bands of rows, with
index and weight tables and work buffers built once per frame geometry, and skips the output
rows/columns that only see padding: about 0.5-0.9 ms per frame at 257 and 2-3.6 ms at 513 on
the 2-core development CPU, where a fully fancy-indexed NumPy version takes several times that.
"""

from __future__ import annotations

import math
from collections import OrderedDict
from dataclasses import dataclass
from typing import NamedTuple

import numpy as np

from posenet_ros.config import EstimatorConfig
from posenet_ros.types import Pose

NORMALISE_SCALE = np.float32(127.5)
NORMALISE_SHIFT = np.float32(1.0)
_CACHED_PLANS = 4  # distinct frame geometries kept (ROS streams use one or two)
_BAND_BYTES = 1 << 19  # float64 work per band of output rows: fits a 1 MiB L2 cache


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

    Output positions ``active`` have at least one neighbour inside the frame; the others only
    see padding and come out 0. ``index`` is ``[lower..., upper...]`` for the active positions,
    clipped into the frame (mirrored if asked); ``outside`` marks those that are padding.
    """

    active: slice
    index: np.ndarray
    outside: np.ndarray
    frac: np.ndarray


def _axis(size: int, pad_before: int, pad_after: int, out_size: int, mirror: bool) -> _Axis:
    padded = size + pad_before + pad_after
    position = np.arange(out_size, dtype=np.float64) * (padded / out_size)
    lower = np.floor(position)
    frac = position - lower
    upper = np.minimum(np.ceil(position), padded - 1)
    lower = lower.astype(np.intp) - pad_before
    upper = upper.astype(np.intp) - pad_before
    inside = ((lower >= 0) & (lower < size)) | ((upper >= 0) & (upper < size))
    positions = np.flatnonzero(inside)
    active = slice(int(positions[0]), int(positions[-1]) + 1) if positions.size else slice(0, 0)
    index = np.concatenate([lower[active], upper[active]])
    outside = (index < 0) | (index >= size)
    index = np.clip(index, 0, size - 1)
    if mirror:
        index = size - 1 - index
    return _Axis(active, index, outside, frac[active])


def _runs(mask: np.ndarray) -> list[slice]:
    """The maximal runs of True in a 1-D mask, as slices."""
    edges = np.flatnonzero(np.diff(np.concatenate([[False], mask, [False]]).astype(np.int8)))
    return [slice(int(a), int(b)) for a, b in zip(edges[::2], edges[1::2], strict=True)]


class _Block(NamedTuple):
    """A band of output rows resized together (small enough to stay in the CPU cache)."""

    out: slice  # rows of the output window
    rows: np.ndarray  # source rows [lower..., upper...] of those output rows
    zero: list[slice]  # spans of ``rows`` that are padding
    frac: np.ndarray  # (n, 1) vertical lerp fractions


class BilinearResizer:
    """tfjs ``resizeBilinear`` (no align-corners, no half-pixel centres) of a zero-padded frame.

    Tables and work buffers are built once per geometry, so ``run`` is not thread-safe. Only
    the output ``window`` that sees the frame is computed (the rest is padding), in bands of
    rows whose float64 work buffers fit the CPU cache.
    """

    def __init__(
        self,
        shape: tuple[int, int],
        out_shape: tuple[int, int],
        padding: Padding = NO_PADDING,
        mirror: bool = False,
        dtype: np.dtype | type = np.uint8,
    ) -> None:
        (height, width), (out_h, out_w) = shape, out_shape
        rows = _axis(height, padding.top, padding.bottom, out_h, False)
        cols = _axis(width, padding.left, padding.right, out_w, mirror)
        self.shape = (height, width)
        self.out_shape = (out_h, out_w)
        self.window = (rows.active, cols.active)
        n_rows, n_cols = rows.frac.size, cols.frac.size
        band = max(1, _BAND_BYTES // (2 * 3 * 8 * max(n_cols, 1)))
        self._blocks = []
        for start in range(0, n_rows, band):
            part = np.r_[start : min(start + band, n_rows)]
            both = np.concatenate([part, part + n_rows])
            self._blocks.append(
                _Block(
                    slice(start, start + part.size),
                    rows.index[both],
                    _runs(rows.outside[both]),
                    rows.frac[part, None],
                )
            )
        # Columns as flat (pixel * 3 + channel) offsets into a gathered row: a 1-byte take
        # is faster than gathering 3-byte pixels.
        flat = (cols.index[:, None] * 3 + np.arange(3)).reshape(2, -1)
        self._cols_left, self._cols_right = flat[0], flat[1]
        self._zero_left = [slice(3 * s.start, 3 * s.stop) for s in _runs(cols.outside[:n_cols])]
        self._zero_right = [slice(3 * s.start, 3 * s.stop) for s in _runs(cols.outside[n_cols:])]
        self._col_frac = np.repeat(cols.frac, 3)[None, :]
        band = min(band, n_rows)
        self._row_buf = np.empty((2 * band, width * 3), dtype)
        self._left = np.empty((2 * band, n_cols * 3), dtype)
        self._right = np.empty_like(self._left)
        self._horizontal = np.empty((2 * band, n_cols * 3), np.float64)
        self._vertical = np.empty((band, n_cols * 3), np.float64)

    def run(self, image: np.ndarray, out: np.ndarray, normalise: bool = False) -> np.ndarray:
        """Resize a C-contiguous (H, W, 3) ``image`` into ``out``, the float32 (rows, cols, 3)
        ``window`` of the output; ``normalise`` maps it with ``x / 127.5 - 1`` (in float32,
        after rounding to float32, as tfjs does)."""
        height, width = self.shape
        source = image.reshape(height, width * 3)
        for block in self._blocks:
            n = block.frac.shape[0]
            rows = self._row_buf[: 2 * n]
            np.take(source, block.rows, axis=0, out=rows)
            for span in block.zero:
                rows[span] = 0
            left, right = self._left[: 2 * n], self._right[: 2 * n]
            np.take(rows, self._cols_left, axis=1, out=left)
            np.take(rows, self._cols_right, axis=1, out=right)
            for span in self._zero_left:
                left[:, span] = 0
            for span in self._zero_right:
                right[:, span] = 0
            # top = a + (b - a) * frac for each source row, in float64 like tfjs's JS numbers ...
            horizontal = self._horizontal[: 2 * n]
            np.subtract(right, left, out=horizontal, dtype=np.float64)
            np.multiply(horizontal, self._col_frac, out=horizontal)
            np.add(horizontal, left, out=horizontal)
            # ... then between the lower and upper source rows, stored as float32.
            top, bottom = horizontal[:n], horizontal[n:]
            vertical = self._vertical[:n]
            np.subtract(bottom, top, out=vertical)
            np.multiply(vertical, block.frac, out=vertical)
            np.add(vertical, top, out=vertical)
            vertical = vertical.reshape(n, -1, 3)  # a view: ``out`` may be strided
            target = out[block.out]
            if normalise:  # dtype= rounds to float32 before dividing
                np.divide(vertical, NORMALISE_SCALE, out=target, dtype=np.float32)
                np.subtract(target, NORMALISE_SHIFT, out=target)
            else:
                target[...] = vertical
        return out

    def resize_into(self, image: np.ndarray, out: np.ndarray) -> np.ndarray:
        """Write the full float32 (out_h, out_w, 3) resize of ``image`` into ``out``."""
        out.fill(0)
        self.run(image, out[self.window])
        return out


def resize_bilinear(
    image: np.ndarray,
    out_shape: tuple[int, int],
    padding: Padding = NO_PADDING,
    mirror: bool = False,
) -> np.ndarray:
    """One-off tfjs ``resizeBilinear`` of ``pad(image)`` to ``out_shape``: (h, w, 3) float32."""
    image = np.ascontiguousarray(image)
    resizer = BilinearResizer(image.shape[:2], out_shape, padding, mirror, image.dtype)
    return resizer.resize_into(image, np.empty((*out_shape, 3), np.float32))


class _Plan(NamedTuple):
    resizer: BilinearResizer
    tensor: np.ndarray  # (1, H, W, 3) float32, reused frame after frame; padding preset to -1
    window: np.ndarray  # the view of ``tensor`` that sees the frame


class Preprocessor:
    """Frames → network tensors, with resize tables and buffers cached per frame geometry.

    The returned tensor is reused by the next call with the same geometry (copy it to keep
    it). One instance per thread.
    """

    def __init__(self) -> None:
        self._plans: OrderedDict[tuple, _Plan] = OrderedDict()

    def __call__(
        self, image: np.ndarray, config: EstimatorConfig
    ) -> tuple[np.ndarray, InputTransform]:
        """Return the (1, H, W, 3) float32 tensor in [-1, 1] and its ``InputTransform``."""
        height, width = image.shape[:2]
        transform = input_transform(height, width, config)
        plan = self._plan(transform, image.dtype)
        image = np.ascontiguousarray(image)
        plan.resizer.run(image, plan.window, normalise=True)
        return plan.tensor, transform

    def _plan(self, transform: InputTransform, dtype: np.dtype) -> _Plan:
        key = (transform, dtype)
        plan = self._plans.get(key)
        if plan is None:
            shape = (transform.input_height, transform.input_width)
            resizer = BilinearResizer(
                (transform.source_height, transform.source_width),
                shape,
                transform.padding,
                transform.mirror_input,
                dtype,
            )
            tensor = np.full((1, *shape, 3), -NORMALISE_SHIFT, np.float32)
            plan = _Plan(resizer, tensor, tensor[0][resizer.window])
            self._plans[key] = plan
            if len(self._plans) > _CACHED_PLANS:
                self._plans.popitem(last=False)
        else:
            self._plans.move_to_end(key)
        return plan
