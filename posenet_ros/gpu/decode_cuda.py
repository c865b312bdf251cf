"""Single-pose decoding of CuPy maps in one CUDA kernel.

A kernel rather than CuPy array expressions because each CuPy call is a launch with tens of
µs of host overhead: the sigmoid, argmax and fancy indexing took 0.6 ms per frame on an
H200, almost all of it launches (`python -m posenet_ros.gpu.bench`).

The arithmetic is ``sigmoid32``'s (``1 / (1 + exp(-x))`` in float64, rounded to float32)
and the argmax is the host decoder's: the first cell in row-major order wins a tie and a NaN
wins where it first occurs (NumPy's ``argmax``). Compiled without flush-to-zero, so even
scores below 1.2e-38 equal the host's.
"""

from __future__ import annotations

import functools
from string import Template
from types import ModuleType
from typing import Any

import numpy as np

_THREADS = 256

# One block per part: each thread scans a stride of the cells, then a tree reduction.
_SINGLE_POSE = Template(
    r"""
__device__ float sigmoid32(const double logit) {
    return __double2float_rn(1.0 / __dadd_rn(exp(-logit), 1.0));
}

__device__ bool better(const float s, const int c, const float best, const int best_c) {
    if (isnan(s)) return !isnan(best) || c < best_c;
    if (isnan(best)) return false;
    return s > best || (s == best && c < best_c);
}

extern "C" __global__ void single_pose(
        const $logit* logits, const $offset* offsets, const int cells, const int width,
        const int parts, const int stride, float* out) {
    __shared__ float scores[$threads];
    __shared__ int found[$threads];
    const int part = blockIdx.x;
    float score = -1.0f;  // below every sigmoid, so any cell replaces it
    int cell = 2147483647;
    for (int c = threadIdx.x; c < cells; c += blockDim.x) {
        const float s = sigmoid32((double)logits[(long long)c * parts + part]);
        if (better(s, c, score, cell)) { score = s; cell = c; }
    }
    scores[threadIdx.x] = score;
    found[threadIdx.x] = cell;
    __syncthreads();
    for (int half = blockDim.x / 2; half > 0; half /= 2) {
        if (threadIdx.x < half
                && better(scores[threadIdx.x + half], found[threadIdx.x + half],
                          scores[threadIdx.x], found[threadIdx.x])) {
            scores[threadIdx.x] = scores[threadIdx.x + half];
            found[threadIdx.x] = found[threadIdx.x + half];
        }
        __syncthreads();
    }
    if (threadIdx.x == 0) {
        const int c = found[0];
        const long long at = (long long)c * 2 * parts;  // channels: parts y, then parts x
        out[part * 3 + 0] = __fadd_rn((float)(c % width * stride),
                                      (float)offsets[at + parts + part]);
        out[part * 3 + 1] = __fadd_rn((float)(c / width * stride), (float)offsets[at + part]);
        out[part * 3 + 2] = scores[0];
    }
}
"""
)

_C_TYPES = {np.dtype(np.float32): "float", np.dtype(np.float64): "double"}


def single_pose_columns(cp: ModuleType, logits: Any, offsets: Any, stride: int) -> np.ndarray:
    """Host (C, 3) float32 (x, y, score) of each part's best cell, offset-refined as the
    host decoder refines it; one kernel and one small device-to-host copy."""
    logits, offsets = _readable(cp, logits), _readable(cp, offsets)
    height, width, parts = logits.shape
    out = cp.empty((parts, 3), cp.float32)
    kernel = _kernel(cp, _C_TYPES[logits.dtype], _C_TYPES[offsets.dtype])
    kernel(
        (parts,),
        (_THREADS,),
        (
            logits,
            offsets,
            np.int32(height * width),
            np.int32(width),
            np.int32(parts),
            np.int32(stride),
            out,
        ),
    )
    return out.get()


def _readable(cp: ModuleType, array: Any) -> Any:
    """C-contiguous float32 or float64, as the kernels index it (float16 widens exactly)."""
    dtype = array.dtype if array.dtype in _C_TYPES else cp.float32
    return cp.ascontiguousarray(array, dtype)


@functools.cache
def _kernel(cp: ModuleType, logit: str, offset: str) -> Any:
    """The kernel for these element types; CuPy compiles it on first launch (and caches the
    binary on disk)."""
    code = _SINGLE_POSE.substitute(logit=logit, offset=offset, threads=_THREADS)
    return cp.RawKernel(code, "single_pose")
