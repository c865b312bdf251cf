"""Keep a thread that calls ONNX Runtime off the cores ONNX Runtime pinned its pool to.

With its default thread count ONNX Runtime pins each intra-op pool thread to one core and
leaves the first core to the thread that calls ``run``, which takes a share of every layer and
then spin-waits for the pool. A calling thread the scheduler has put on a pool thread's core
shares it with that thread: the two take turns where they should run side by side. In the
node, whose inference thread is woken by the executor thread and so lands on either core,
frames at 30 Hz took 11.6 ms median when inference started on the pool thread's core against
7.9 ms on the free one (2-core machine, ONNX Runtime 1.32). Confined to the free core, every
frame took 7.1 ms. Setting the thread count explicitly, which stops the pinning, made both
cases ~11.7 ms.

What is pinned is read from ``/proc`` (Linux) rather than assumed, so a runtime or session
that pins nothing, or pins every core, leaves the thread as it is.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable
from pathlib import Path

TASKS = Path("/proc/self/task")


def thread_cpu_masks(tasks: Path = TASKS) -> list[set[int]]:
    """The CPUs each thread of this process may run on (``Cpus_allowed_list``)."""
    masks = []
    for status in tasks.glob("*/status"):
        try:
            text = status.read_text()
        except OSError:  # the thread ended meanwhile
            continue
        for line in text.splitlines():
            if line.startswith("Cpus_allowed_list:"):
                masks.append(parse_cpu_list(line.split(":", 1)[1]))
    return masks


def parse_cpu_list(text: str) -> set[int]:
    """``0-3,8,10-11`` -> {0, 1, 2, 3, 8, 10, 11}."""
    cpus: set[int] = set()
    for part in text.strip().split(","):
        if part:
            first, _, last = part.partition("-")
            cpus.update(range(int(first), int(last or first) + 1))
    return cpus


def free_cpus(process: set[int], threads: Iterable[set[int]]) -> set[int] | None:
    """CPUs of ``process`` that no pinned thread (one allowed fewer CPUs than the process)
    is confined to; None when no thread is pinned, or the pinned ones cover every CPU."""
    pinned = set().union(*(mask for mask in threads if mask and mask < process))
    free = process - pinned
    return free if pinned and free else None


def keep_off_pinned_cores(
    masks: Callable[[], list[set[int]]] = thread_cpu_masks,
) -> set[int] | None:
    """Confine the calling thread to the CPUs no pinned thread of this process holds.

    Returns those CPUs, or None (thread left as it was) where nothing is pinned, every CPU
    is, the platform has no CPU affinity, or the system refuses the change.
    """
    if not hasattr(os, "sched_setaffinity"):
        return None
    cpus = free_cpus(os.sched_getaffinity(0), masks())
    if cpus is None:
        return None
    try:
        os.sched_setaffinity(0, cpus)
    except OSError:  # e.g. a cpuset changed under us: the thread stays where it may run
        return None
    return cpus
