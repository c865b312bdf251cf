import numpy as np
import pytest

from posenet_ros.decode.max_heap import heap_pop, heap_push


class MaxHeap:
    """The compiled heap functions on arrays, with any items (by their push order)."""

    def __init__(self, capacity: int = 64) -> None:
        self.keys, self.slots, self.size = np.empty(capacity), np.empty(capacity, np.int64), 0
        self.items: list = []

    def __len__(self) -> int:
        return self.size

    def push(self, key: float, item: object) -> None:
        self.size = heap_push(self.keys, self.slots, self.size, key, len(self.items))
        self.items.append(item)

    def pop(self) -> tuple[float, object]:
        self.size = heap_pop(self.keys, self.slots, self.size)
        return self.keys[self.size], self.items[self.slots[self.size]]


def _drain(heap: MaxHeap) -> list:
    return [heap.pop()[1] for _ in range(len(heap))]


def test_distinct_keys_come_out_in_descending_order():
    keys = np.random.default_rng(3).permutation(50).tolist()
    heap: MaxHeap[int] = MaxHeap()
    for key in keys:
        heap.push(float(key), key)
    assert _drain(heap) == sorted(keys, reverse=True)


def test_equal_keys_follow_the_reference_heap_not_insertion_order():
    # Worked by hand on the reference's swim/sink (root slot 0, parent k // 2):
    # push a=1, b=1 -> [a, b]; c=2 swims to the root -> [c, a, b]; d=1 -> [c, a, b, d].
    # pop: swap root with d, drop c, d stays on top (1 < 1 is false) -> c, then d, b, a.
    heap: MaxHeap[str] = MaxHeap()
    for key, item in ((1.0, "a"), (1.0, "b"), (2.0, "c"), (1.0, "d")):
        heap.push(key, item)
    assert _drain(heap) == ["c", "d", "b", "a"]


def test_all_equal_keys():
    # Pushes never swap: [a, b, c]. pop 1: swap(0, 2) -> [c, b, a], a dequeued; the sink
    # stops at once (ties never swap).
    # pop 2: swap(0, 1) -> [b, c], c dequeued; pop 3: b.
    heap: MaxHeap[str] = MaxHeap()
    for item in "abc":
        heap.push(0.5, item)
    assert _drain(heap) == ["a", "c", "b"]


def test_pop_from_empty_heap_raises():
    with pytest.raises(IndexError):
        MaxHeap().pop()
