"""Heatmap logits to part scores, rounded as the reference rounds them.

tfjs's CPU kernel evaluates ``1 / (1 + exp(-x))`` in float64 (JS numbers) and stores a
float32. Doing the same keeps argmax ties, local maxima and the candidate threshold identical
to the reference; a float32 sigmoid differs in the last bit for some values.
"""

from __future__ import annotations

import math

import numpy as np

from posenet_ros.decode.compiled import compiled


@compiled
def sigmoid32(logit: float) -> np.float32:
    """The score of one logit, in compiled kernels.

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
