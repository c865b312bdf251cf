"""The one way our kernels are compiled: ``numba.njit`` with numba's on-disk cache."""

from __future__ import annotations

import logging
from collections.abc import Callable

import numba

log = logging.getLogger(__name__)


def compiled(function: Callable) -> Callable:
    """``numba.njit(nogil=True)`` with its on-disk cache, or without one where no cache dir is
    writable (then it compiles on every start, with a warning)."""
    try:
        return numba.njit(cache=True, nogil=True)(function)
    except RuntimeError as exc:  # no writable __pycache__, NUMBA_CACHE_DIR or user cache dir
        log.warning("compiling %s on every start: %s", function.__name__, exc)
        return numba.njit(nogil=True)(function)
