"""One array namespace for NumPy and CuPy arrays, and a single device-to-host copy.

The decoders do their per-pixel work with the namespace of their inputs (``numpy`` or
``cupy``), so one implementation serves the CPU and GPU backends. CuPy is imported only when
a CuPy array is actually passed, so the CPU path never needs it installed.
"""

from __future__ import annotations

from types import ModuleType
from typing import Any

import numpy as np

_ALIGN = 8  # bytes; the widest dtype the decoders move (int64 / float64)


def is_cupy_array(array: Any) -> bool:
    """True for ``cupy.ndarray`` (checked by module name, so CuPy need not be importable)."""
    return type(array).__module__.split(".", 1)[0] == "cupy"


def array_namespace(*arrays: Any) -> ModuleType:
    """The module (``numpy`` or ``cupy``) that owns ``arrays``; mixing the two is refused.

    Hand-written rather than ``array_api_compat.array_namespace``: the decoders use NumPy's
    own API (``take`` with ``axis``, ufuncs with ``out``, ``view``), which CuPy mirrors, and
    one extra dependency for two branches would not pay.
    """
    on_device = {is_cupy_array(a) for a in arrays}
    if len(on_device) > 1:
        raise TypeError("arrays mix NumPy and CuPy; pass them all on the host or all on the GPU")
    if on_device == {True}:
        import cupy  # optional dependency, imported only for GPU arrays

        return cupy
    return np


def to_host(*arrays: Any) -> tuple[np.ndarray, ...]:
    """C-contiguous NumPy copies (or views) of ``arrays``, fetched from the GPU in one copy.

    NumPy inputs are returned as they are when already C-contiguous. CuPy inputs are packed
    as raw bytes into one device buffer, so a frame costs a single device-to-host transfer
    however many arrays the caller needs.
    """
    if not any(is_cupy_array(a) for a in arrays):
        return tuple(np.ascontiguousarray(a) for a in arrays)
    xp = array_namespace(*arrays)
    # Each chunk starts 8-byte aligned, so each host view below stays aligned for its dtype.
    sizes = [a.size * a.dtype.itemsize for a in arrays]
    *starts, total = np.cumsum([0] + [n + (-n % _ALIGN) for n in sizes]).tolist()
    from posenet_ros.gpu.transfer import fetch  # CuPy arrays only

    packed = fetch(xp, arrays, starts, max(total, 1))
    return tuple(
        packed[start : start + n].view(a.dtype).reshape(a.shape)
        for a, start, n in zip(arrays, starts, sizes, strict=True)
    )
