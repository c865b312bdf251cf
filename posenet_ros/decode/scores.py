"""Heatmap logits to part scores, rounded as the reference rounds them."""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from posenet_ros.arrays import array_namespace
from posenet_ros.decode.compiled import compiled


def heatmap_scores(logits: Any) -> Any:
    """``sigmoid(logits)`` as float32, in the namespace of ``logits``.

    tfjs's CPU kernel evaluates ``1 / (1 + exp(-x))`` in float64 (JS numbers) and stores a
    float32. Doing the same keeps argmax ties, local maxima and the candidate threshold
    identical to the reference; a float32 sigmoid differs in the last bit for some values.
    On CuPy arrays two things can differ from NumPy: CUDA's float64 ``exp`` may be off by an
    ulp, and CuPy compiles kernels with flush-to-zero, so scores below 1.2e-38 (logits below
    -87.3) become 0. Either can only change ties between such scores.
    """
    xp = array_namespace(logits)
    wide = logits.astype(xp.float64)
    xp.negative(wide, out=wide)
    xp.exp(wide, out=wide)
    wide += 1.0
    xp.reciprocal(wide, out=wide)
    return wide.astype(xp.float32)


@compiled
def sigmoid32(logit: float) -> np.float32:
    """``heatmap_scores`` of one logit, in compiled kernels: the same float64 operations.

    Its ``exp`` is the C library's, NumPy's has its own SIMD loops: over all 2**32 float32
    logits the two scores differ at one (9.894371e-06), where this one equals the
    reference's (V8's ``Math.exp``). Over all float32 it is also monotonic, which the
    kernels' shortcuts (``logit_floor``, neighbours' logits) rely on.
    """
    return np.float32(1.0 / (1.0 + math.exp(-np.float64(logit))))


@compiled
def score_logit_floor(score: np.float32) -> float:
    """A logit below every logit whose ``sigmoid32`` is >= ``score`` (-inf for 0 or less).

    Such a sigmoid exceeds, before its rounding to float32, the float32 just below
    ``score``; the floor is that value's logit less a margin far wider than the few-ulp
    error of the float64 ``exp`` (as ``part_queue.logit_floor``, in float64).
    """
    below = np.float64(np.nextafter(np.float32(score), np.float32(0.0)))
    if not below > 0.0:
        return -np.inf
    logit = math.log(below) - math.log1p(-below)
    return logit - 1e-6 * max(1.0, abs(logit))
