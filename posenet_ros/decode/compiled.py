"""Compiled (numba) host kernels of the decoders, and their compile at start-up.

Right after the network has run, the many small NumPy calls of a decode find their code and
data out of the CPU caches: a 257 / stride 16 multi-pose decode measured 0.10 ms warm but
0.34 ms right after ONNX Runtime. The host steps therefore run as a few compiled loops over
the maps, each in its step's module; CuPy maps keep their array code on the device. The
kernels are compiled (or loaded from numba's on-disk cache) for fixed signatures by
``warm_up``, at estimator construction, never on a frame; later compiles are disabled.
They keep the GIL (unlike the resize's): a call lasts tens of µs, and releasing the GIL
would let another Python thread take it for up to its switch interval (5 ms) before the
decode could go on.
"""

from __future__ import annotations

import functools
import hashlib
import logging
from collections.abc import Callable
from pathlib import Path

import numba

log = logging.getLogger(__name__)

# Logits as the backends return them: C-contiguous float32 (float64 for float64 outputs).
LOGITS = tuple(numba.types.Array(t, 3, "C", readonly=True) for t in (numba.float32, numba.float64))


def compiled(function: Callable) -> Callable:
    """``numba.njit`` with its on-disk cache, or without one where no cache dir is writable.

    numba keys a function's cached machine code on its own source file, but the code
    holds the kernels it calls, from the other step files: the cache entry is keyed on
    all the decoders' sources instead, so that an edit of any step recompiles. (Through
    numba's cache object; where it has no such attribute the function is not cached.)
    """
    try:
        kernel = numba.njit(cache=True)(function)
    except RuntimeError as exc:  # no writable __pycache__, NUMBA_CACHE_DIR or user cache dir
        log.warning("compiling %s on every start: %s", function.__name__, exc)
        return numba.njit(function)
    cache_file = getattr(getattr(kernel, "_cache", None), "_cache_file", None)
    if not hasattr(cache_file, "_source_stamp"):
        log.warning("compiling %s on every start: unknown numba cache layout", function.__name__)
        return numba.njit(function)
    cache_file._source_stamp = _sources_stamp()
    return kernel


@functools.cache
def _sources_stamp() -> bytes:
    """SHA-256 of the decoders' source files (this package's ``*.py``) and of the skeleton
    table their kernels bake in (``keypoints.py``)."""
    digest = hashlib.sha256()
    here = Path(__file__).parent
    for path in [*sorted(here.glob("*.py")), here.parent / "keypoints.py"]:
        digest.update(path.name.encode() + b"\0" + path.read_bytes())
    return digest.digest()
