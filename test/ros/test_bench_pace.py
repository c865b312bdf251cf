"""The node benchmark's pacing: ticks at the rate, reports once a second, and sleeps in
between instead of spinning (a spinning publisher takes a core from the node it measures)."""

import pytest

pytest.importorskip("rclpy")

import itertools

from posenet_ros.ros.bench import pace


class FakeClock:
    """Time passes only in ``sleep`` (and by ``cost`` per tick, the work of a tick)."""

    def __init__(self) -> None:
        self.now = 100.0
        self.sleeps: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        if len(self.sleeps) > 10_000:
            raise AssertionError("pace keeps sleeping without time passing: a busy loop")
        self.now += seconds


@pytest.mark.parametrize("report", [False, True])
def test_pace_ticks_at_the_rate_and_sleeps_between_ticks(report):
    clock = FakeClock()
    ticks: list[float] = []
    reports: list[float] = []
    pace(
        30.0,
        5.0,
        lambda: ticks.append(clock.now),
        reports.append if report else None,
        clock=clock,
        sleep=clock.sleep,
    )
    assert len(ticks) == pytest.approx(150, abs=1)
    assert ticks[1] - ticks[0] == pytest.approx(1 / 30)
    assert reports == ([pytest.approx(s) for s in (1.0, 2.0, 3.0, 4.0)] if report else [])
    # One sleep per tick and per report, each up to the next deadline: no zero-length
    # sleeps once a report falls due (without a report callback the report deadline still
    # moves on, else every later sleep would be zero: a busy loop).
    assert len(clock.sleeps) <= len(ticks) + 5
    assert sum(s == 0.0 for s in clock.sleeps) <= 5


def test_a_late_tick_is_not_caught_up_in_a_burst():
    clock = FakeClock()
    ticks: list[float] = []

    def slow_tick() -> None:
        ticks.append(clock.now)
        if len(ticks) == 3:
            clock.now += 0.5  # one tick took 15 periods

    pace(10.0, 2.0, slow_tick, clock=clock, sleep=clock.sleep)
    gaps = [b - a for a, b in itertools.pairwise(ticks)]
    assert min(gaps) == pytest.approx(0.1)
    assert len(ticks) == pytest.approx(16, abs=1)  # 3, then from 0.7 s every 0.1 s
