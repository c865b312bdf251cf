"""Row ranges shared between the caller and a helper thread: each row once, errors raised."""

from __future__ import annotations

import contextlib
import os
import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest

from posenet_ros.row_sharing import Pacing, RowSharer

TIMEOUT_S = 10.0


def counting_kernel(counts: np.ndarray, threads: set[str]) -> object:
    def kernel(first: int, stop: int) -> None:
        counts[first:stop] += 1
        threads.add(threading.current_thread().name)

    return kernel


@pytest.mark.parametrize("rows", [64, 65, 257, 1000])
def test_every_row_runs_exactly_once(rows: int) -> None:
    sharer = RowSharer(pieces=4, min_rows=64)
    counts = np.zeros(rows, np.int64)
    for _ in range(20):
        sharer.run(counting_kernel(counts, set()), rows)
    np.testing.assert_array_equal(counts, np.full(rows, 20))


def test_few_rows_stay_on_the_calling_thread() -> None:
    sharer = RowSharer(pieces=4, min_rows=64)
    calls: list[tuple[int, int, str]] = []
    sharer.run(lambda a, b: calls.append((a, b, threading.current_thread().name)), 63)
    assert calls == [(0, 63, threading.current_thread().name)]


def test_caller_and_helper_share_the_pieces() -> None:
    assert_both_threads_take_pieces(RowSharer(pieces=4, min_rows=1))


def assert_both_threads_take_pieces(sharer: RowSharer) -> None:
    """Each thread's first piece waits until the other thread has taken one: the call can
    only return (bounded by the timeout otherwise) if both really ran pieces."""
    caller = threading.current_thread().name
    started = {caller: threading.Event(), "posenet-rows": threading.Event()}
    pieces: list[tuple[int, int, str]] = []

    def kernel(first: int, stop: int) -> None:
        name = threading.current_thread().name
        pieces.append((first, stop, name))
        started[name].set()
        (other,) = set(started) - {name}
        assert started[other].wait(TIMEOUT_S), f"{other} never took a piece"

    sharer.run(kernel, 100)
    assert sorted({a for a, _, _ in pieces}) == [100 * p // len(pieces) for p in range(len(pieces))]
    assert {name for *_, name in pieces} == {caller, "posenet-rows"}


def test_a_helper_busy_elsewhere_does_not_hold_up_the_caller() -> None:
    sharer = RowSharer(pieces=2, min_rows=1)
    # Another caller's job keeps the helper inside one of its pieces ...
    with helper_held_elsewhere(sharer):
        counts = np.zeros(10, np.int64)
        names: set[str] = set()
        sharer.run(counting_kernel(counts, names), 10)  # ... so this caller does it all
        np.testing.assert_array_equal(counts, np.ones(10))
        assert names == {threading.current_thread().name}


def test_an_error_in_a_piece_reaches_the_caller_after_every_piece_stopped() -> None:
    sharer = RowSharer(pieces=4, min_rows=1)
    finished: list[int] = []

    def kernel(first: int, stop: int) -> None:
        if first == 0:
            raise ValueError("piece 0 failed")
        finished.append(first)

    with pytest.raises(ValueError, match="piece 0 failed"):
        sharer.run(kernel, 8)
    assert sorted(finished) == [2, 4, 6]


def test_concurrent_callers_each_get_all_their_rows() -> None:
    sharer = RowSharer(pieces=4, min_rows=1)

    def one_caller(seed: int) -> np.ndarray:
        counts = np.zeros(300 + seed, np.int64)
        for _ in range(50):
            sharer.run(counting_kernel(counts, set()), counts.size)
        return counts

    with ThreadPoolExecutor(4) as pool:
        results = list(pool.map(one_caller, range(4), timeout=TIMEOUT_S * 6))
    for seed, counts in enumerate(results):
        np.testing.assert_array_equal(counts, np.full(300 + seed, 50))


class FakeClock:
    """``perf_counter`` stand-in: each kernel call advances it by the time the test sets."""

    def __init__(self) -> None:
        self.now = 0.0
        self.solo_s = 1.0
        self.shared_s = 1.0

    def __call__(self) -> float:
        return self.now


def test_pacing_shares_while_it_pays_and_backs_off_growing_while_it_does_not() -> None:
    clock = FakeClock()
    sharer = RowSharer(pieces=4, min_rows=1, clock=clock)
    pacing = Pacing()
    lock = threading.Lock()

    def call() -> bool:
        """One call; True when it was shared (in pieces)."""
        pieces: list[int] = []

        def kernel(first: int, stop: int) -> None:
            with lock:  # the helper runs pieces too
                pieces.append(first)
                clock.now += clock.solo_s if stop - first == 10 else clock.shared_s / 4

        sharer.run(kernel, 10, pacing)
        return len(pieces) > 1

    assert call() is False  # the first call runs alone: it times the solo case
    assert pacing.solo_s == 1.0
    clock.shared_s = 0.6  # sharing pays: every call shares
    assert [call() for _ in range(5)] == [True] * 5
    clock.shared_s = 1.2  # it stops paying: 1, 2, 4, 8 calls alone between shared ones
    pattern = [call() for _ in range(20)]
    assert pattern == [i in (0, 2, 5, 10, 19) for i in range(20)]
    assert pacing.skip == 16 and pacing.backoff == 32
    clock.solo_s = 0.9  # a faster solo call lowers the bar
    assert [call() for _ in range(16)] == [False] * 16
    assert pacing.solo_s == pytest.approx(0.9)
    clock.shared_s = 0.95  # not faster than the fastest solo call: backs off again
    assert call() is True
    assert pacing.skip == 32
    clock.solo_s, clock.shared_s = 2.0, 0.5  # slow solo calls do not raise the bar ...
    assert [call() for _ in range(32)] == [False] * 32
    assert pacing.solo_s == pytest.approx(0.9)
    assert call() is True  # ... a shared call faster than it resets the back-off
    assert pacing.backoff == 1
    assert [call() for _ in range(3)] == [True] * 3


def test_without_pacing_every_call_is_shared() -> None:
    sharer = RowSharer(pieces=4, min_rows=1)
    for _ in range(3):
        pieces: list[int] = []
        sharer.run(lambda first, stop: pieces.append(first), 10)  # noqa: B023
        assert sorted(pieces) == [0, 2, 5, 7]


def test_a_helper_held_elsewhere_only_costs_a_shared_call_its_time() -> None:
    sharer = RowSharer(pieces=4, min_rows=1)
    counts = np.zeros(40, np.int64)
    names: set[str] = set()
    with helper_held_elsewhere(sharer):
        sharer.run(counting_kernel(counts, names), 40, Pacing())
        sharer.run(counting_kernel(counts, names), 40, Pacing(solo_s=1.0))
    np.testing.assert_array_equal(counts, np.full(40, 2))
    assert names == {threading.current_thread().name}


@contextlib.contextmanager
def helper_held_elsewhere(sharer: RowSharer) -> Iterator[None]:
    """Keep the helper inside a piece of another caller's job for the duration."""
    release, blocked = threading.Event(), threading.Event()

    def blocking(first: int, stop: int) -> None:
        if threading.current_thread().name == "posenet-rows":
            blocked.set()
            release.wait(TIMEOUT_S)
        else:  # the other caller keeps its piece until the helper holds the second one
            blocked.wait(TIMEOUT_S)

    with ThreadPoolExecutor(1) as pool:
        other = pool.submit(sharer.run, blocking, 10)
        assert blocked.wait(TIMEOUT_S)
        try:
            yield
        finally:
            release.set()
            other.result(TIMEOUT_S)


@pytest.mark.skipif(len(os.sched_getaffinity(0)) < 2, reason="one CPU: nothing to widen to")
def test_a_helper_started_by_a_confined_thread_may_run_on_every_cpu() -> None:
    """The node confines its inference thread to one core; the helper it starts is there to
    use another, so it does not inherit that confinement."""
    allowed = os.sched_getaffinity(0)
    sharer = RowSharer(pieces=4, min_rows=1)
    helper_cpus: list[set[int]] = []

    helper_took_one = threading.Event()

    def confined_caller() -> None:
        os.sched_setaffinity(0, {min(allowed)})

        def kernel(first: int, stop: int) -> None:
            if threading.current_thread().name == "posenet-rows":
                helper_cpus.append(os.sched_getaffinity(0))
                helper_took_one.set()
            else:  # the caller holds its piece until the helper has one
                helper_took_one.wait(TIMEOUT_S)

        sharer.run(kernel, 100)

    thread = threading.Thread(target=confined_caller)
    thread.start()
    thread.join(TIMEOUT_S)
    assert helper_cpus, "the helper never took a piece"
    assert helper_cpus[0] == allowed
