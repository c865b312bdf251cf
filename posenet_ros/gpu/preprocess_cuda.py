"""Preprocessing on the GPU: one upload of the uint8 frame, then one kernel that pads, resizes
and normalises straight into the network's input buffer.

The arithmetic is the reference's (tfjs CPU ``resizeBilinear``, align_corners=False,
half_pixel_centers=False, then ``x / 127.5 - 1`` in float32), operation by operation:
``src = dst * (in / out)`` in float64, floor/ceil neighbours, two horizontal lerps and one
vertical lerp in float64, rounded to float32, divided, subtracted. The ``__d*_rn`` /
``__f*_rn`` intrinsics keep NVRTC from fusing multiply-adds, so results equal the CPU path
bit for bit (FP16 inputs are that float32 value rounded once more).
"""

from __future__ import annotations

from types import ModuleType
from typing import Any

import numpy as np

from posenet_ros.errors import InvalidImageError
from posenet_ros.gpu.transfer import PinnedStaging
from posenet_ros.preprocess import InputTransform

_OPERATION = r"""
const int c = (int)(i % 3);
const long long p = i / 3;
const int x = (int)(p % out_w);
const int y = (int)(p / out_w);
auto px = [&](int yy, int xx) -> double {
    const int sy = yy - pad_top;
    int sx = xx - pad_left;
    if (sy < 0 || sy >= src_h || sx < 0 || sx >= src_w) return 0.0;
    if (mirror) sx = src_w - 1 - sx;
    return (double)src[((long long)sy * src_w + sx) * 3 + c];
};
const double fy_src = __dmul_rn(row_ratio, (double)y);
const double fx_src = __dmul_rn(col_ratio, (double)x);
const int y0 = (int)floor(fy_src);
const int x0 = (int)floor(fx_src);
const int y1 = min(padded_h - 1, (int)ceil(fy_src));
const int x1 = min(padded_w - 1, (int)ceil(fx_src));
const double fy = __dsub_rn(fy_src, (double)y0);
const double fx = __dsub_rn(fx_src, (double)x0);
const double tl = px(y0, x0), tr = px(y0, x1), bl = px(y1, x0), br = px(y1, x1);
const double top = __dadd_rn(tl, __dmul_rn(__dsub_rn(tr, tl), fx));
const double bottom = __dadd_rn(bl, __dmul_rn(__dsub_rn(br, bl), fx));
const double value = __dadd_rn(top, __dmul_rn(__dsub_rn(bottom, top), fy));
out = (T)__fsub_rn(__fdiv_rn(__double2float_rn(value), 127.5f), 1.0f);
"""

_PARAMS = (
    "raw uint8 src, int32 src_h, int32 src_w, int32 pad_top, int32 pad_left, "
    "int32 padded_h, int32 padded_w, float64 row_ratio, float64 col_ratio, int32 out_w, "
    "bool mirror"
)


def check_frame(image: Any) -> np.ndarray:
    """The frame as a (H, W, 3) uint8 NumPy array, or ``InvalidImageError`` naming the fault."""
    if not isinstance(image, np.ndarray):
        raise InvalidImageError(f"expected a NumPy (H, W, 3) uint8 image, got {type(image)!r}")
    if image.dtype != np.uint8 or image.ndim != 3 or image.shape[2] != 3:
        raise InvalidImageError(
            f"expected a (H, W, 3) uint8 RGB image, got shape {image.shape} dtype {image.dtype}"
        )
    if image.shape[0] == 0 or image.shape[1] == 0:
        raise InvalidImageError(f"image is empty: shape {image.shape}")
    return image


class GpuPreprocessor:
    """Uploads frames (one pinned host-to-device copy each) and runs the preprocessing kernel.

    All work is queued on ``stream``; the host waits only before reusing the pinned buffer.
    """

    def __init__(self, cp: ModuleType, stream: Any) -> None:
        self._cp = cp
        self._stream = stream
        self._kernel = cp.ElementwiseKernel(
            _PARAMS,
            "T out",
            _OPERATION,
            name="posenet_pad_resize_normalize",
            options=("--fmad=false",),
        )
        self._staging = PinnedStaging(stream)
        self._frame: Any = None

    def upload(self, image: np.ndarray) -> Any:
        """Queue the one host-to-device copy of a (H, W, 3) uint8 frame; return the device copy."""
        image = check_frame(image)
        if self._frame is None or self._frame.shape != image.shape:
            with self._stream:  # memory-pool blocks belong to the stream that uses them
                self._frame = self._cp.empty(image.shape, np.uint8)
        self._staging.to_device(image, self._frame)
        return self._frame

    def resize_into(self, frame: Any, transform: InputTransform, out: Any) -> None:
        """Pad, resize (and mirror, 0.x style) the device ``frame`` into ``out`` per ``transform``.

        ``out`` is a contiguous (1, input_height, input_width, 3) float32 or float16 device
        array, e.g. an engine's input binding.
        """
        src_h, src_w = frame.shape[:2]
        out_h, out_w = transform.input_height, transform.input_width
        if (src_h, src_w) != (transform.source_height, transform.source_width):
            raise InvalidImageError(
                f"frame is {src_w}x{src_h} but the transform is for "
                f"{transform.source_width}x{transform.source_height}"
            )
        if out.shape != (1, out_h, out_w, 3) or not out.flags.c_contiguous:
            raise ValueError(f"output must be a contiguous (1, {out_h}, {out_w}, 3) array")
        if out.dtype not in (np.float32, np.float16):
            raise ValueError(f"output dtype must be float32 or float16, got {out.dtype}")
        pad = transform.padding
        padded_h, padded_w = src_h + pad.top + pad.bottom, src_w + pad.left + pad.right
        with self._stream:
            self._kernel(
                frame.reshape(-1),
                src_h,
                src_w,
                pad.top,
                pad.left,
                padded_h,
                padded_w,
                padded_h / out_h,
                padded_w / out_w,
                out_w,
                transform.mirror_input,
                out,
            )

    def __call__(self, image: np.ndarray, transform: InputTransform, out: Any) -> None:
        """Upload ``image`` (one host-to-device copy) and write its network input into ``out``."""
        self.resize_into(self.upload(image), transform, out)
