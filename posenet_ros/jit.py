"""The one way our kernels are compiled: ``numba.njit`` with numba's on-disk cache."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterable

import numba

log = logging.getLogger(__name__)

_compile_lock = threading.Lock()


def compiled(function: Callable) -> Callable:
    """``numba.njit(nogil=True)`` with its on-disk cache, or without one where no cache dir is
    writable (then it compiles on every start, with a warning)."""
    try:
        return numba.njit(cache=True, nogil=True)(function)
    except RuntimeError as exc:  # no writable __pycache__, NUMBA_CACHE_DIR or user cache dir
        log.warning("compiling %s on every start: %s", function.__name__, exc)
        return numba.njit(nogil=True)(function)


def compile_for(kernel: Callable, signatures: Iterable[tuple]) -> Callable:
    """``kernel`` compiled (or loaded from the cache) for ``signatures`` only, once; later
    compiles are disabled, so no frame ever pays for one. Thread-safe: estimators built on
    two threads at once, the second waits."""
    with _compile_lock:
        if not kernel.signatures:
            for signature in signatures:
                kernel.compile(signature)
            kernel.disable_compile()
    return kernel
