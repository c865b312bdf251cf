"""Latest-frame slots per camera, served round-robin: fairness, drops, batches, closing."""

from __future__ import annotations

import threading
import time

import pytest

from posenet_ros.camera_scheduler import CameraScheduler

TIMEOUT_S = 10.0


def test_newest_frame_of_each_camera_wins_and_drops_are_counted_per_camera():
    scheduler = CameraScheduler(["front", "back"])
    for item in range(4):
        scheduler.put("front", item)
    scheduler.put("back", "b0")
    assert scheduler.take(max_items=2, timeout=0) == [("front", 3), ("back", "b0")]
    assert (scheduler.dropped("front"), scheduler.dropped("back")) == (3, 0)
    assert scheduler.take(timeout=0) == []


def test_cameras_with_a_frame_waiting_are_served_in_turn():
    scheduler = CameraScheduler(["a", "b", "c"])
    for camera in ("c", "b", "a"):  # arrival order does not matter, the turn does
        scheduler.put(camera, camera + "1")
    assert [scheduler.take(timeout=0) for _ in range(3)] == [
        [("a", "a1")],
        [("b", "b1")],
        [("c", "c1")],
    ]
    # The turn goes on after the camera served last: c, then a (b has nothing waiting).
    scheduler.put("a", "a2")
    scheduler.put("c", "c2")
    assert scheduler.take(timeout=0) == [("a", "a2")]
    scheduler.put("a", "a3")
    assert scheduler.take(timeout=0) == [("c", "c2")]
    assert scheduler.take(timeout=0) == [("a", "a3")]


def test_a_batch_takes_one_frame_per_camera_and_the_turn_continues_after_it():
    scheduler = CameraScheduler(["a", "b", "c"])
    for camera in ("a", "b", "c"):
        scheduler.put(camera, camera + "1")
    assert scheduler.take(max_items=2, timeout=0) == [("a", "a1"), ("b", "b1")]
    scheduler.put("a", "a2")
    assert scheduler.take(max_items=4, timeout=0) == [("c", "c1"), ("a", "a2")]


def test_a_flooding_camera_never_starves_a_slow_one():
    """fast has a new frame before every take; slow one every 5th take: each slow frame is
    served by the second take after it arrived at the latest, none is dropped."""
    scheduler = CameraScheduler(["fast", "slow"])
    served_slow: list[int] = []
    waits: list[int] = []
    slow_put_at = None
    for step in range(100):
        for burst in range(10):
            scheduler.put("fast", (step, burst))
        if step % 5 == 0:
            scheduler.put("slow", step)
            slow_put_at = step
        [(camera, item)] = scheduler.take(timeout=0)
        if camera == "slow":
            served_slow.append(item)
            waits.append(step - slow_put_at)
    assert served_slow == list(range(0, 100, 5))
    assert max(waits) <= 1
    assert scheduler.dropped("slow") == 0
    assert scheduler.dropped("fast") >= 100 * 9


def test_the_slow_camera_is_answered_every_frame_while_another_floods_from_a_thread():
    """Real threads: a flooder puts as fast as it can; the slow camera puts its next frame
    only after the taker has served three more frames, so every slow frame competes with a
    waiting fast frame. Without the turn the fast camera would win every take."""
    scheduler = CameraScheduler(["fast", "slow"])
    stop = threading.Event()
    taken = threading.Condition()
    takes = 0
    served_slow: list[int] = []

    def flood() -> None:
        count = 0
        while not stop.is_set():
            scheduler.put("fast", count)
            count += 1

    def serve() -> None:
        nonlocal takes
        while pairs := scheduler.take(timeout=TIMEOUT_S):
            with taken:
                takes += 1
                served_slow.extend(item for camera, item in pairs if camera == "slow")
                taken.notify_all()

    threads = [threading.Thread(target=f, daemon=True) for f in (flood, serve)]
    for thread in threads:
        thread.start()
    try:
        for frame in range(30):
            with taken:
                start = takes
            scheduler.put("slow", frame)
            with taken:
                assert taken.wait_for(lambda start=start: takes >= start + 3, TIMEOUT_S)
    finally:
        stop.set()
        scheduler.close()
        for thread in threads:
            thread.join(TIMEOUT_S)
    assert not any(thread.is_alive() for thread in threads)
    assert served_slow == list(range(30))
    assert scheduler.dropped("slow") == 0


class ObservedCondition(threading.Condition):
    """Counts takers that started waiting (still holding the lock, which the wait releases:
    whoever takes the lock next finds them among the waiters)."""

    def __init__(self) -> None:
        super().__init__()
        self.waiters = 0
        self.changed = threading.Condition()

    def wait(self, timeout: float | None = None) -> bool:
        with self.changed:
            self.waiters += 1
            self.changed.notify_all()
        return super().wait(timeout)


def test_close_wakes_every_waiting_taker_and_later_takes_return_at_once():
    scheduler = CameraScheduler(["a", "b"])
    scheduler._cond = condition = ObservedCondition()
    results: list[list] = []
    takers = [
        threading.Thread(target=lambda: results.append(scheduler.take()), daemon=True)
        for _ in range(3)
    ]
    for taker in takers:
        taker.start()
    with condition.changed:
        assert condition.changed.wait_for(lambda: condition.waiters >= 3, TIMEOUT_S)
    scheduler.close()
    for taker in takers:
        taker.join(TIMEOUT_S)
    assert not any(taker.is_alive() for taker in takers), "close() left a taker waiting"
    assert results == [[], [], []]
    scheduler.put("a", "late")
    assert scheduler.take() == []


def test_a_take_with_nothing_waiting_returns_empty_after_its_timeout():
    scheduler = CameraScheduler(["a"])
    started = time.monotonic()
    assert scheduler.take(timeout=0.05) == []
    assert time.monotonic() - started < TIMEOUT_S


def test_a_frame_put_while_a_taker_waits_wakes_it():
    scheduler = CameraScheduler(["a", "b"])
    scheduler._cond = condition = ObservedCondition()
    results: list[list] = []
    taker = threading.Thread(
        target=lambda: results.append(scheduler.take(timeout=TIMEOUT_S)), daemon=True
    )
    taker.start()
    with condition.changed:
        assert condition.changed.wait_for(lambda: condition.waiters >= 1, TIMEOUT_S)
    scheduler.put("b", "frame")
    taker.join(TIMEOUT_S)
    assert results == [[("b", "frame")]]


@pytest.mark.parametrize("cameras", [[], ["a", "a"]])
def test_no_or_repeated_cameras_are_refused(cameras):
    with pytest.raises(ValueError, match="camera"):
        CameraScheduler(cameras)


def test_an_unknown_camera_or_an_empty_batch_is_refused():
    scheduler = CameraScheduler(["a"])
    with pytest.raises(KeyError, match="unknown camera 'z'"):
        scheduler.put("z", 1)
    with pytest.raises(ValueError, match="max_items must be >= 1, got 0"):
        scheduler.take(max_items=0, timeout=0)
