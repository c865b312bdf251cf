"""Root candidates for multi-pose decoding, best first (reference ``buildPartWithScoreQueue``)."""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from typing import Any

import numpy as np

from posenet_ros.arrays import array_namespace
from posenet_ros.decode.local_maximum import local_maximum_mask
from posenet_ros.decode.max_heap import MaxHeap


def part_candidates(scores: Any, score_threshold: float) -> tuple[Any, Any]:
    """Scores and flat (H, W, C) indices of all root candidates, best first.

    A candidate is a cell whose score is at least ``score_threshold`` and a local maximum of
    its part. The flat index ``(y * W + x) * C + part`` is also the reference's scan
    (enqueue) order; candidates are sorted by score descending, stably, so equal scores stay
    in scan order. Runs in the namespace of ``scores`` (NumPy or CuPy).
    """
    xp = array_namespace(scores)
    mask = local_maximum_mask(scores)
    mask &= scores >= float32_at_least(score_threshold)
    index = xp.flatnonzero(mask)
    values = scores.reshape(-1)[index]
    order = xp.argsort(-values, kind="stable")
    return values[order], index[order]


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


def root_order(values: list[float], index: list[int]) -> Iterator[tuple[float, int]]:
    """(score, flat index) pairs in the order the reference's queue dequeues them.

    ``values`` and ``index`` come from ``part_candidates`` (score descending). Without equal
    scores that is already the dequeue order; with some, the reference heap is replayed on
    the candidates in scan order, lazily, so only the roots actually used cost a pop.
    """
    if all(a != b for a, b in itertools.pairwise(values)):
        yield from zip(values, index, strict=True)
        return
    heap: MaxHeap[int] = MaxHeap()
    for flat, value in sorted(zip(index, values, strict=True)):
        heap.push(value, flat)
    while heap:
        yield heap.pop()
