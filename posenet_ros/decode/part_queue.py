"""Root candidates for multi-pose decoding, best first (reference ``buildPartWithScoreQueue``)."""

from __future__ import annotations

import functools
import math
from collections.abc import Iterator
from typing import Any

import numpy as np

from posenet_ros.arrays import array_namespace
from posenet_ros.decode.local_maximum import CENTRE, is_local_maximum, window_index
from posenet_ros.decode.max_heap import MaxHeap
from posenet_ros.decode.scores import heatmap_scores


def part_candidates(heatmap_logits: Any, score_threshold: float) -> tuple[Any, Any, Any]:
    """Cells that may be root candidates: (scores, flat indices, is-candidate mask), each (N,).

    A candidate is a cell whose score (the float32 sigmoid of its logit) is at least
    ``score_threshold`` and a local maximum of its part. The sigmoid is monotonic, so only
    cells whose logit reaches ``logit_floor`` can be one: scores are computed for those
    cells' windows alone and judged exactly as the reference judges them (on float32
    scores, whose saturation ties logits that differ). The flat index
    ``(y * W + x) * C + part`` ascends, which is the reference's scan (enqueue) order.
    Runs in the namespace of the logits (NumPy or CuPy); the mask is applied on the host
    (``root_order``), which spares the GPU a second wait for an output size.
    """
    xp = array_namespace(heatmap_logits)
    logits = heatmap_logits.reshape(-1)
    floor, threshold = _thresholds(score_threshold, heatmap_logits.dtype)
    (hot,) = (logits >= floor).nonzero()
    windows = window_index(xp, *heatmap_logits.shape).take(hot, axis=0)
    scores = heatmap_scores(logits.take(windows.T))  # (window cell, hot cell)
    return scores[CENTRE], hot, is_local_maximum(scores, threshold)


@functools.lru_cache(maxsize=64)
def _thresholds(score_threshold: float, dtype: Any) -> tuple[np.generic, np.float32]:
    return logit_floor(score_threshold, dtype), float32_at_least(score_threshold)


def logit_floor(score_threshold: float, dtype: Any) -> np.generic:
    """A logit of ``dtype`` below every logit whose float32 score is >= ``score_threshold``.

    Such a score is at least ``t = float32_at_least(score_threshold)``, so the float64
    sigmoid before rounding exceeds the float32 just below ``t`` (rounding to nearest);
    the floor is that value's logit less a margin far wider than the few-ulp error of the
    float64 ``exp``, rounded down to ``dtype`` (NumPy compares in the array's dtype).
    """
    below = float(np.nextafter(float32_at_least(score_threshold), np.float32(0)))
    kind = np.dtype(dtype).type
    if below <= 0.0:
        return kind(-np.inf)
    logit = math.log(below) - math.log1p(-below)
    floor = logit - 1e-6 * max(1.0, abs(logit))
    rounded = kind(floor)
    if rounded > floor:
        rounded = np.nextafter(rounded, kind(-np.inf))
    return rounded


def float32_at_least(value: float) -> np.float32:
    """The smallest float32 >= ``value``.

    The reference compares the float32 score with the threshold as JS numbers (float64);
    ``score >= float32_at_least(t)`` in float32 gives the same answer for every float32
    score, where rounding ``t`` to the nearest float32 would not when it rounds down.
    """
    rounded = np.float32(value)
    if float(rounded) < value:
        rounded = np.nextafter(rounded, np.float32(np.inf))
    return rounded


def root_order(
    scores: np.ndarray, index: np.ndarray, candidate: np.ndarray
) -> Iterator[tuple[float, int]]:
    """(score, flat index) of the candidates in the order the reference's queue dequeues them.

    The arguments are ``part_candidates``' on the host. Without equal scores that order is
    by score, descending; with some, the reference heap is replayed on the candidates in
    scan order, lazily, so only the roots actually used cost a pop.
    """
    values = scores[candidate].tolist()
    flat = index[candidate].tolist()
    if len(set(values)) == len(values):
        order = sorted(range(len(values)), key=values.__getitem__, reverse=True)
        yield from ((values[i], flat[i]) for i in order)
        return
    heap: MaxHeap[int] = MaxHeap()
    for value, cell in zip(values, flat, strict=True):
        heap.push(value, cell)
    while heap:
        yield heap.pop()
