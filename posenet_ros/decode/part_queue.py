"""Root candidates for multi-pose decoding, best first (reference ``buildPartWithScoreQueue``)."""

from __future__ import annotations

import functools
import math
from collections.abc import Iterator
from typing import Any

import numpy as np

from posenet_ros.arrays import array_namespace
from posenet_ros.decode.local_maximum import is_local_maximum, window_index
from posenet_ros.decode.max_heap import MaxHeap
from posenet_ros.decode.scores import heatmap_scores


def candidate_mask(heatmap_logits: Any, score_threshold: float) -> Any:
    """Boolean (H * W * C,): which cells are root candidates, by flat index
    ``(y * W + x) * C + part`` (ascending is the reference's scan order).

    A candidate is a cell whose score (the float32 sigmoid of its logit) is at least
    ``score_threshold`` and a local maximum of its part, judged exactly as the reference
    judges it: on float32 scores, whose saturation ties logits that differ. Runs in the
    namespace of the logits. On the host only cells whose logit reaches ``logit_floor``
    can pass (the sigmoid is monotonic), so only their windows are read. On the GPU every
    cell is judged: picking the hot cells first would make the host wait for their count.
    """
    xp = array_namespace(heatmap_logits)
    logits = heatmap_logits.reshape(-1)
    floor, threshold = _thresholds(score_threshold, heatmap_logits.dtype)
    windows = window_index(xp, *heatmap_logits.shape)  # (cells, window)
    if xp is not np:
        return is_local_maximum(heatmap_scores(logits.take(windows.T)), threshold)
    (hot,) = (logits >= floor).nonzero()
    scores = heatmap_scores(logits.take(windows.take(hot, axis=0).T))  # (window, hot cell)
    mask = np.zeros(logits.size, dtype=bool)
    mask[hot] = is_local_maximum(scores, threshold)
    return mask


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


def root_order(scores: np.ndarray, flat_index: np.ndarray) -> Iterator[tuple[float, int]]:
    """(score, flat index) of the candidates in the order the reference's queue dequeues them.

    ``flat_index`` lists the candidates in scan order (``np.flatnonzero`` of
    ``candidate_mask``), ``scores`` their scores. Without equal scores that order is by
    score, descending; with some, the reference heap is replayed on the candidates in scan
    order, lazily, so only the roots actually used cost a pop.
    """
    values = scores.tolist()
    flat = flat_index.tolist()
    if len(set(values)) == len(values):
        order = sorted(range(len(values)), key=values.__getitem__, reverse=True)
        yield from ((values[i], flat[i]) for i in order)
        return
    heap: MaxHeap[int] = MaxHeap()
    for value, cell in zip(values, flat, strict=True):
        heap.push(value, cell)
    while heap:
        yield heap.pop()
