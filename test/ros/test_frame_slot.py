"""The newest-frame slot: replaces and counts drops, never queues, closes cleanly."""

import threading

from posenet_ros.ros.frame_slot import LatestSlot


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


def test_close_wakes_a_waiting_taker():
    slot = LatestSlot()
    results = []
    taker = threading.Thread(target=lambda: results.append(slot.take()))
    taker.start()
    slot.close()
    taker.join()
    assert results == [None]
    slot.put("late")
    assert slot.take() is None
