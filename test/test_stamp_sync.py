"""Nearest-stamp pairing: early, late, missing and other-rate partners; bounded; thread-safe."""

from __future__ import annotations

import threading

import pytest

from posenet_ros.errors import InvalidConfigError
from posenet_ros.stamp_sync import NearestStamp

SLOP = 0.05


def test_a_partner_that_arrived_early_is_paired() -> None:
    buffer: NearestStamp[str] = NearestStamp()
    buffer.add(9.98, "depth at 9.98")
    buffer.add(10.2, "depth at 10.2")
    assert buffer.match(10.0, SLOP) == "depth at 9.98"


def test_a_partner_arriving_late_is_not_waited_for() -> None:
    buffer: NearestStamp[str] = NearestStamp()
    buffer.add(9.90, "old depth")
    assert buffer.match(10.0, SLOP) is None  # colour frame processed now, without depth
    buffer.add(10.0, "late depth")
    assert buffer.match(10.0, SLOP) == "late depth"  # a later frame asking would get it
    assert buffer.match(10.033, SLOP) == "late depth"


def test_missing_partners_give_none() -> None:
    buffer: NearestStamp[int] = NearestStamp()
    assert buffer.match(1.0, SLOP) is None
    buffer.add(0.5, 1)
    buffer.add(1.5, 2)
    assert buffer.match(1.0, SLOP) is None
    assert buffer.match(1.0, 0.5) == 2  # equally near: the later stamp


def test_depth_at_another_rate_pairs_with_the_nearest_stamp_within_the_slop() -> None:
    buffer: NearestStamp[float] = NearestStamp(capacity=30)
    colour_stamps = [100.0 + i / 30 for i in range(60)]  # 30 Hz
    depth_stamps = [100.0 - 0.004 + i / 10 for i in range(20)]  # 10 Hz, 4 ms earlier
    for slop in (SLOP, 0.02):
        pending = sorted(depth_stamps)
        pairs = {}
        buffer.clear()
        for stamp in colour_stamps:
            while pending and pending[0] <= stamp + 0.001:  # depth published by now
                depth = pending.pop(0)
                buffer.add(depth, depth)
            pairs[stamp] = buffer.match(stamp, slop)
        for stamp, paired in pairs.items():
            arrived = [d for d in depth_stamps if d <= stamp + 0.001]
            nearest = min(arrived, key=lambda d: (abs(d - stamp), -d), default=None)
            expected = nearest if nearest is not None and abs(nearest - stamp) <= slop else None
            assert paired == expected, stamp
        # Of every 3 colour frames: 4 ms from a depth stamp, 37 ms after it, 71 ms after it
        # (the next depth not there yet): 2 pair within 50 ms, 1 within 20 ms.
        paired_count = sum(value is not None for value in pairs.values())
        assert paired_count == (40 if slop == SLOP else 20)


def test_memory_is_bounded_and_the_oldest_go_first() -> None:
    buffer: NearestStamp[int] = NearestStamp(capacity=4)
    for i in range(100):
        buffer.add(float(i), i)
    assert len(buffer) == 4
    assert buffer.match(95.0, 0.5) is None
    assert buffer.match(96.0, 0.5) == 96


def test_concurrent_adds_and_matches() -> None:
    buffer: NearestStamp[int] = NearestStamp(capacity=8)
    errors: list[BaseException] = []

    def producer(offset: int) -> None:
        try:
            for i in range(2000):
                buffer.add(i * 0.01 + offset * 0.001, i)
        except BaseException as error:  # pragma: no cover - reported below
            errors.append(error)

    def consumer() -> None:
        try:
            for i in range(2000):
                buffer.match(i * 0.01, SLOP)
        except BaseException as error:  # pragma: no cover - reported below
            errors.append(error)

    threads = [threading.Thread(target=producer, args=(k,)) for k in range(2)]
    threads.append(threading.Thread(target=consumer))
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert not any(thread.is_alive() for thread in threads)
    assert errors == [] and len(buffer) == 8


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda b: b.match(1.0, -0.1), "slop_s"),
        (lambda b: b.match(1.0, float("nan")), "slop_s"),
        (lambda b: b.match(float("inf"), 0.1), "stamp_s"),
        (lambda b: b.add(float("nan"), 1), "stamp_s"),
        (lambda b: NearestStamp(0), "capacity"),
    ],
)
def test_bad_arguments_are_refused(call, message: str) -> None:
    with pytest.raises(InvalidConfigError, match=message):
        call(NearestStamp())
