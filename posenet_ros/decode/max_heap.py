"""The reference's max-heap, reproduced for its dequeue order among equal scores."""

from __future__ import annotations

from typing import Generic, TypeVar

T = TypeVar("T")


class MaxHeap(Generic[T]):
    """A priority queue that dequeues equal scores in the same order as the reference's.

    Any max-heap dequeues distinct scores in descending order; among equal scores the order
    depends on the heap's layout and its exact swaps. The reference's heap sits on a 0-based
    array with parent ``k // 2``, so slot 0 is the root with slot 1 as its only child and
    slot k >= 1 has children 2k and 2k + 1; it only swaps on a strict ``<``. ``heapq`` has
    another layout, hence this class.
    """

    __slots__ = ("_items", "_keys")

    def __init__(self) -> None:
        self._keys: list[float] = []
        self._items: list[T] = []

    def __len__(self) -> int:
        return len(self._keys)

    def push(self, key: float, item: T) -> None:
        """Append at the end, then swim up past every parent with a smaller key."""
        keys = self._keys
        keys.append(key)
        self._items.append(item)
        k = len(keys) - 1
        while k > 0 and keys[k // 2] < keys[k]:
            self._swap(k, k // 2)
            k //= 2

    def pop(self) -> tuple[float, T]:
        """Remove the root: swap it with the last slot, drop it, sink the new root."""
        keys = self._keys
        if not keys:
            raise IndexError("pop from an empty MaxHeap")
        self._swap(0, len(keys) - 1)
        key, item = keys.pop(), self._items.pop()
        last = len(keys) - 1
        k = 0
        while 2 * k <= last:
            j = 2 * k
            if j < last and keys[j] < keys[j + 1]:
                j += 1
            if not keys[k] < keys[j]:
                break
            self._swap(k, j)
            k = j
        return key, item

    def _swap(self, i: int, j: int) -> None:
        keys, items = self._keys, self._items
        keys[i], keys[j] = keys[j], keys[i]
        items[i], items[j] = items[j], items[i]
