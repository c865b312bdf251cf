"""The newest-frame slot: replaces and counts drops, never queues, closes cleanly."""

import threading

from posenet_ros.ros.frame_slot import LatestSlot

TIMEOUT_S = 10.0


def test_newest_item_wins_and_drops_are_counted():
    slot = LatestSlot()
    for item in range(4):
        slot.put(item)
    assert slot.take(0) == 3
    assert slot.dropped == 3
    assert slot.take(0) is None


def test_taken_items_are_not_drops():
    slot = LatestSlot()
    slot.put("a")
    assert slot.take(0) == "a"
    slot.put("b")
    assert slot.take(0) == "b"
    assert slot.dropped == 0


class ObservedCondition(threading.Condition):
    """Sets ``waiting`` when a taker starts waiting (still holding the lock, which the wait
    releases: whoever takes the lock next finds the taker among the waiters)."""

    def __init__(self) -> None:
        super().__init__()
        self.waiting = threading.Event()

    def wait(self, timeout: float | None = None) -> bool:
        self.waiting.set()
        return super().wait(timeout)


def test_close_wakes_a_waiting_taker():
    slot = LatestSlot()
    slot._cond = condition = ObservedCondition()
    results = []
    taker = threading.Thread(target=lambda: results.append(slot.take()), daemon=True)
    taker.start()
    assert condition.waiting.wait(TIMEOUT_S)
    slot.close()
    taker.join(TIMEOUT_S)
    assert not taker.is_alive(), "close() left the taker waiting"
    assert results == [None]
    slot.put("late")
    assert slot.take() is None
