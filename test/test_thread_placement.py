"""Keeping the inference thread off the cores ONNX Runtime pinned its pool threads to."""

import json
import os
import subprocess
import sys
import threading

import pytest

from posenet_ros import thread_placement
from posenet_ros.thread_placement import free_cpus, keep_off_pinned_cores, parse_cpu_list


@pytest.mark.parametrize(
    ("text", "cpus"),
    [("0", {0}), ("0-3", {0, 1, 2, 3}), ("0-1,4,6-7\n", {0, 1, 4, 6, 7}), (" 5 ", {5})],
)
def test_cpu_lists_read_as_the_kernel_writes_them(text, cpus):
    assert parse_cpu_list(text) == cpus


@pytest.mark.parametrize(
    ("threads", "free"),
    [
        ([{0, 1}, {1}, {0, 1}], {0}),  # ORT on 2 cores: one pool thread on core 1
        ([{0, 1, 2, 3}, {1}, {2}, {3}], {0}),  # ... on 4
        ([{0, 1, 2, 3}, {2, 3}], {0, 1}),  # a pool thread on a core's two siblings
        ([{0, 1, 2, 3}, {0, 1, 2, 3}], None),  # nothing pinned (explicit thread count)
        ([{0, 1}, {0}, {1}], None),  # every core pinned: no better place
        ([{0, 1}, set()], None),  # an unreadable mask counts for nothing
    ],
)
def test_the_free_cpus_are_those_no_pinned_thread_holds(threads, free):
    process = set().union(*threads)
    assert free_cpus(process, threads) == free


def test_the_calling_thread_is_confined_to_the_free_cpus(monkeypatch):
    allowed = os.sched_getaffinity(0)
    if len(allowed) < 2:
        pytest.skip("one CPU: nothing to choose between")
    pinned = max(allowed)
    masks = lambda: [set(allowed), {pinned}]  # noqa: E731
    result = {}

    def place() -> None:
        result["cpus"] = keep_off_pinned_cores(masks)
        result["affinity"] = os.sched_getaffinity(0)

    thread = threading.Thread(target=place)
    thread.start()
    thread.join()
    assert result["cpus"] == allowed - {pinned} == result["affinity"]
    assert os.sched_getaffinity(0) == allowed  # only that thread moved


def test_a_refused_change_leaves_the_thread_where_it_was(monkeypatch):
    def refuse(pid, cpus):
        raise OSError(22, "Invalid argument")

    monkeypatch.setattr(thread_placement.os, "sched_setaffinity", refuse)
    assert keep_off_pinned_cores(lambda: [{0, 1}, {1}]) is None


PREMISE = """
import os
from posenet_ros.backends.onnxruntime_backend import OnnxRuntimeBackend
from posenet_ros.model.export import ensure_onnx
from posenet_ros.thread_placement import free_cpus, thread_cpu_masks
backend = OnnxRuntimeBackend(ensure_onnx(16), 16{threads})
print(sorted(free_cpus(os.sched_getaffinity(0), thread_cpu_masks()) or []))
"""


@pytest.mark.skipif(len(os.sched_getaffinity(0)) < 2, reason="one CPU: ONNX Runtime pins nothing")
@pytest.mark.parametrize(("threads", "pinned"), [("", True), (", threads=2", False)])
def test_onnx_runtime_pins_its_pool_threads_only_with_its_default_count(threads, pinned):
    """The premise, on the installed ONNX Runtime (a fresh process, so no other session's
    threads count): with its default thread count the pool threads are pinned and a core is
    left free for the caller; with an explicit count nothing is pinned."""
    code = PREMISE.format(threads=threads)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    free = json.loads(out.stdout.strip().splitlines()[-1])
    assert bool(free) == pinned
    if pinned:
        assert 0 < len(free) < len(os.sched_getaffinity(0))
