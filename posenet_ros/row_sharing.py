"""Row ranges of one GIL-free kernel shared between the calling thread and one helper thread.

ONNX Runtime's threads sleep while a frame is preprocessed, so a second core is free then.
The caller never waits for the helper to start: both take the next unclaimed piece until
none is left, so a helper that is late (the core is busy) or busy with another caller's
job only means the caller does more pieces itself. The caller then waits only for pieces
the helper has started; on a loaded machine that wait, and the wake-up preempting the
caller, cost more than the helper saves, so ``Pacing`` keeps the hand-off for a workload
only while shared calls beat its fastest solo call. A thread pool (``concurrent.futures``)
costs more per hand-off than the pieces take, and numba's ``parallel=True`` runs GNU OpenMP
here, whose threads wait for each other: on the loaded 2-core machine that made the median
resize at 257 over 10x slower (0.58 -> 7.5 ms).
"""

from __future__ import annotations

import math
import os
import queue
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

# Pieces per job: enough that a helper starting late still takes a share, few enough that
# the per-piece call into the kernel (a few microseconds) stays small.
PIECES = 4
# Below this many rows one thread does it all: the hand-off would cost more than it saves.
MIN_ROWS = 64
# Most calls in a row run alone after shared calls that did not pay (see ``Pacing``).
MAX_SKIPPED_CALLS = 64

RangeKernel = Callable[[int, int], None]  # (first, stop) rows; must release the GIL


class _Job:
    """The pieces of one call, claimed one at a time by whichever thread is free."""

    def __init__(self, kernel: RangeKernel, rows: int, pieces: int) -> None:
        self._kernel = kernel
        self._bounds = [rows * p // pieces for p in range(pieces + 1)]
        self._next = 0
        self._running = 0
        self._error: BaseException | None = None
        self._lock = threading.Lock()
        self._idle = threading.Condition(self._lock)

    def work(self) -> None:
        """Run pieces until none is left unclaimed."""
        while True:
            with self._lock:
                piece = self._next
                if piece >= len(self._bounds) - 1:
                    return
                self._next += 1
                self._running += 1
            try:
                self._kernel(self._bounds[piece], self._bounds[piece + 1])
            except BaseException as exc:  # re-raised on the calling thread by ``wait``
                self._error = exc
            finally:
                with self._lock:
                    self._running -= 1
                    if not self._running:
                        self._idle.notify_all()

    def wait(self) -> None:
        """Return once no piece is running; raise what a piece raised."""
        with self._lock:
            while self._running:
                self._idle.wait()
        if self._error is not None:
            raise self._error


@dataclass
class Pacing:
    """Whether handing off pays for one workload (say, one resize geometry), by its times.

    A shared call no faster than the fastest solo call (waking the helper preempted the
    caller, or the caller waited for a helper the machine had descheduled) makes the next
    calls run alone, twice as many each time up to ``MAX_SKIPPED_CALLS``. The fastest solo
    time rather than a mean: on a loaded machine the slow solo calls would make sharing look
    worthwhile when it is not (measured: a mean kept the hand-off and cost 0.1 ms per frame).
    """

    solo_s: float = math.inf  # the fastest call run alone
    skip: int = 0  # calls left to run alone
    backoff: int = 1  # calls to run alone after the next shared call that does not pay

    def record_solo(self, seconds: float) -> None:
        self.skip = max(0, self.skip - 1)
        self.solo_s = min(self.solo_s, seconds)

    def record_shared(self, seconds: float) -> None:
        if seconds < self.solo_s:
            self.backoff = 1
        else:
            self.skip = self.backoff
            self.backoff = min(2 * self.backoff, MAX_SKIPPED_CALLS)


class RowSharer:
    """Runs a range kernel over ``rows`` on the calling thread and one lazy daemon helper."""

    def __init__(
        self,
        pieces: int = PIECES,
        min_rows: int = MIN_ROWS,
        clock: Callable[[], float] = time.perf_counter,
    ) -> None:
        self._pieces = pieces
        self._min_rows = min_rows
        self._clock = clock
        self._jobs: queue.SimpleQueue[_Job] = queue.SimpleQueue()
        self._helper: threading.Thread | None = None
        self._start_lock = threading.Lock()

    def run(self, kernel: RangeKernel, rows: int, pacing: Pacing | None = None) -> None:
        """``kernel(first, stop)`` over ``0:rows``, in pieces shared with the helper when
        ``pacing`` (per workload, owned by the caller's thread) finds that it pays; always
        in pieces without one. Returns when all rows are done."""
        if rows < self._min_rows or self._pieces < 2:
            kernel(0, rows)
            return
        started = self._clock()
        if pacing is not None and (pacing.skip or math.isinf(pacing.solo_s)):
            kernel(0, rows)
            pacing.record_solo(self._clock() - started)
            return
        job = _Job(kernel, rows, self._pieces)
        self._start_helper()
        self._jobs.put(job)
        job.work()
        job.wait()
        if pacing is not None:
            pacing.record_shared(self._clock() - started)

    def _start_helper(self) -> None:
        if self._helper is None:
            with self._start_lock:
                if self._helper is None:
                    self._helper = threading.Thread(
                        target=self._serve, name="posenet-rows", daemon=True
                    )
                    self._helper.start()

    def _serve(self) -> None:
        # Started from whichever thread first shares work, possibly one confined to a core
        # (the node's inference thread, see ``thread_placement``): the helper is there to use
        # another core, so it may run wherever the process may (the main thread's CPUs).
        if hasattr(os, "sched_setaffinity"):
            os.sched_setaffinity(0, os.sched_getaffinity(os.getpid()))
        while True:
            # A job its caller finished alone has no piece left: ``work`` returns at once.
            self._jobs.get().work()
