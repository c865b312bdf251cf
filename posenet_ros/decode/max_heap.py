"""The reference's max-heap, reproduced for its dequeue order among equal scores.

Any max-heap dequeues distinct scores in descending order; among equal scores the order
depends on the heap's layout and its exact swaps. The reference's heap sits on a 0-based
array with parent ``k // 2``, so slot 0 is the root with slot 1 as its only child and slot
k >= 1 has children 2k and 2k + 1; it only swaps on a strict ``<``. ``heapq`` has another
layout, hence these functions, compiled (``decode.compiled``) on parallel ``keys`` and
``items`` arrays of which the first ``size`` slots are the heap.
"""

from __future__ import annotations

import numpy as np

from posenet_ros.decode.compiled import compiled


@compiled
def heap_push(keys: np.ndarray, items: np.ndarray, size: int, key: float, item: int) -> int:
    """Append at slot ``size``, then swim up past every parent with a smaller key; the new
    size."""
    keys[size], items[size] = key, item
    k = size
    while k > 0 and keys[k // 2] < keys[k]:
        _swap(keys, items, k, k // 2)
        k //= 2
    return size + 1


@compiled
def heap_pop(keys: np.ndarray, items: np.ndarray, size: int) -> int:
    """Remove the root: swap it with the last slot, drop it, sink the new root. The root
    ends in slot ``size - 1``, the new size; ``IndexError`` on an empty heap."""
    if size <= 0:
        raise IndexError("pop from an empty heap")
    _swap(keys, items, 0, size - 1)
    last = size - 2
    k = 0
    while 2 * k <= last:
        j = 2 * k
        if j < last and keys[j] < keys[j + 1]:
            j += 1
        if not keys[k] < keys[j]:
            break
        _swap(keys, items, k, j)
        k = j
    return size - 1


@compiled
def _swap(keys: np.ndarray, items: np.ndarray, i: int, j: int) -> None:
    keys[i], keys[j] = keys[j], keys[i]
    items[i], items[j] = items[j], items[i]
