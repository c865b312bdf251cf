"""Host-to-device copies through a reusable pinned buffer (asynchronous on one stream), and
device-to-host fetches of several arrays in one copy."""

from __future__ import annotations

import functools
from collections.abc import Sequence
from types import ModuleType
from typing import Any

import numpy as np


class PinnedStaging:
    """Copies host arrays to device arrays through one page-locked buffer.

    Page-locked memory lets the copy run asynchronously on ``stream``; the buffer is reused,
    so a copy first waits (host side) until the previous one has read it.
    """

    def __init__(self, stream: Any) -> None:
        self._stream = stream
        self._host: np.ndarray | None = None
        self._copied: Any = None  # event recorded after the last copy

    def to_device(self, host: np.ndarray, device: Any) -> None:
        """Queue one copy of ``host`` into ``device`` (same shape; cast to its dtype)."""
        if host.shape != device.shape:
            raise ValueError(f"shape mismatch: host {host.shape}, device {device.shape}")
        if self._copied is not None:
            self._copied.synchronize()
        if self._host is None or self._host.shape != host.shape or self._host.dtype != device.dtype:
            import cupyx  # ships with CuPy, which the caller already uses

            self._host = cupyx.empty_pinned(host.shape, device.dtype)
        np.copyto(self._host, host, casting="same_kind")  # also packs strided frames
        device.set(self._host, stream=self._stream)
        self._copied = self._stream.record()


# Up to this many arrays per packing launch, passed as kernel arguments: a pointer table in
# device memory would cost a host-to-device copy of its own.
_PACK_SLOTS = 6
_PACK = r"""
extern "C" __global__ void pack(
        const unsigned char* a0, const unsigned char* a1, const unsigned char* a2,
        const unsigned char* a3, const unsigned char* a4, const unsigned char* a5,
        const long long s0, const long long s1, const long long s2,
        const long long s3, const long long s4, const long long s5,
        const long long e0, const long long e1, const long long e2,
        const long long e3, const long long e4, const long long e5,
        unsigned char* out, const long long end) {
    const unsigned char* const sources[6] = {a0, a1, a2, a3, a4, a5};
    const long long starts[6] = {s0, s1, s2, s3, s4, s5};
    const long long ends[6] = {e0, e1, e2, e3, e4, e5};
    for (long long j = (long long)blockIdx.x * blockDim.x + threadIdx.x; j < end;
            j += (long long)blockDim.x * gridDim.x) {
        for (int k = 0; k < 6; ++k) {
            if (j >= starts[k] && j < ends[k]) { out[j] = sources[k][j - starts[k]]; break; }
        }
    }
}
"""
_THREADS = 256
_MAX_BLOCKS = 1024


def fetch(cp: ModuleType, arrays: Sequence[Any], starts: Sequence[int], total: int) -> np.ndarray:
    """The raw bytes of device ``arrays`` laid out at ``starts`` in one host buffer of
    ``total`` bytes (page-locked), through one packing kernel per six arrays and exactly one
    device-to-host copy, on the current stream."""
    packed = cp.empty(total, cp.uint8)
    kernel = _pack_kernel(cp)
    sources = [cp.ascontiguousarray(a) for a in arrays]
    for group in range(0, len(sources), _PACK_SLOTS):
        chunk = sources[group : group + _PACK_SLOTS]
        begins = [int(s) for s in starts[group : group + _PACK_SLOTS]]
        ends = [b + a.nbytes for b, a in zip(begins, chunk, strict=True)]
        unused = _PACK_SLOTS - len(chunk)
        chunk += [packed] * unused  # never read: an empty range
        begins += [0] * unused
        ends += [0] * unused
        end = max(ends)  # the group's last byte: the threads scan no further
        blocks = max(1, min(_MAX_BLOCKS, -(-end // _THREADS)))
        kernel(
            (blocks,),
            (_THREADS,),
            (*chunk, *map(np.int64, begins), *map(np.int64, ends), packed, np.int64(end)),
        )
    import cupyx  # ships with CuPy

    host = cupyx.empty_pinned(total, np.uint8)
    stream = cp.cuda.get_current_stream()
    cp.asnumpy(packed, stream=stream, out=host, blocking=False)
    stream.synchronize()
    return host


@functools.cache
def _pack_kernel(cp: ModuleType) -> Any:
    return cp.RawKernel(_PACK, "pack")
