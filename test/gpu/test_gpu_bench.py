"""GPU benchmark: report formatting, per-call device synchronisation and copy counting with
the device faked; a short real run where a GPU exists."""

from __future__ import annotations

import importlib.util
import sys
import types
from collections.abc import Callable
from types import SimpleNamespace

import numpy as np
import pytest

from posenet_ros.errors import BackendUnavailableError
from posenet_ros.gpu import bench
from posenet_ros.gpu.bench import GpuBenchResult, format_results, run_gpu_bench


def _result(resolution: int, copies: float | None) -> GpuBenchResult:
    return GpuBenchResult("H100 (sm_90)", resolution, "multi", 0.1, 0.2, 0.3, copies, copies, 2)


def test_table_shows_targets_and_copies() -> None:
    text = format_results([_result(257, 1.0), _result(513, 1.0), _result(353, 1.0)])
    assert text.splitlines()[0] == "GPU preprocessing + decoding on H100 (sm_90)"
    rows = text.splitlines()[2:]
    assert rows[0].split() == ["257", "multi", "0.100", "0.200", "0.300", "0.3", "1", "1", "2"]
    assert rows[1].split()[5] == "1" and rows[2].split()[5] == "-"
    assert "not counted" not in text
    assert text.splitlines()[-1] == bench.TIMING_METHOD  # the output says how it timed


def test_uncounted_copies_are_said_so() -> None:
    text = format_results([_result(257, None)])
    assert text.splitlines()[2].split()[6:8] == ["n/a", "n/a"]
    assert "copies not counted" in text


def test_bad_frame_count_is_refused(capsys) -> None:
    with pytest.raises(SystemExit):
        bench.main(["--frames", "0"])
    assert "--frames must be >= 1" in capsys.readouterr().err


def test_missing_gpu_is_one_line(capsys, monkeypatch) -> None:
    monkeypatch.setattr(
        bench, "import_cupy", lambda: (_ for _ in ()).throw(BackendUnavailableError("no GPU here"))
    )
    assert bench.main(["--frames", "1"]) == 1
    assert capsys.readouterr().err == "error: no GPU here\n"


class FakeDevice:
    """Queued GPU work on a fake clock: only a synchronize lets the time pass."""

    def __init__(self) -> None:
        self.now = 0.0
        self.queued = 0.0

    def perf_counter(self) -> float:
        return self.now

    def queue(self, seconds: float) -> None:
        self.queued += seconds

    def synchronize(self) -> None:
        self.now += self.queued
        self.queued = 0.0


def test_each_timed_call_includes_the_device_work_it_queued(monkeypatch) -> None:
    device = FakeDevice()
    monkeypatch.setattr(bench, "time", device)
    calls = []

    def stage() -> None:
        calls.append(device.now)
        device.queue(0.002)  # 2 ms of kernels, returned to the host at once

    assert bench._median_ms(stage, 5, device.synchronize) == pytest.approx(2.0)
    assert len(calls) == bench.WARMUP_FRAMES + 5


def fake_torch_profiler(monkeypatch, per_call: list[str]) -> Callable[[], None]:
    """``torch.profiler`` whose profile records ``per_call`` event names per call made."""
    recorded: list[str] = []

    class Profile:
        def __init__(self, activities: list) -> None:
            assert activities == ["cuda"]

        def __enter__(self) -> Profile:
            return self

        def __exit__(self, *exc: object) -> None:
            pass

        def events(self) -> list:
            return [SimpleNamespace(name=name) for name in recorded]

    profiler = types.ModuleType("torch.profiler")
    profiler.ProfilerActivity = SimpleNamespace(CUDA="cuda")
    profiler.profile = Profile
    monkeypatch.setitem(sys.modules, "torch", types.ModuleType("torch"))
    monkeypatch.setitem(sys.modules, "torch.profiler", profiler)
    return lambda: recorded.extend(per_call)


def test_copies_are_counted_per_call_by_direction(monkeypatch) -> None:
    events = [
        "Memcpy HtoD (Pinned -> Device)",
        "posenet_pad_resize_normalize",
        "Memcpy DtoH (Device -> Pinned)",
        "Memcpy DtoH (Device -> Pageable)",
    ]
    frame = fake_torch_profiler(monkeypatch, events)
    assert bench.count_copies(frame, 4) == (1.0, 2.0)


def test_copies_are_not_counted_without_pytorch(monkeypatch) -> None:
    monkeypatch.setitem(sys.modules, "torch.profiler", None)
    assert bench.count_copies(lambda: None, 4) is None


@pytest.mark.gpu
def test_short_run_on_the_gpu(cp) -> None:
    image = np.random.default_rng(0).integers(0, 256, (240, 320, 3), dtype=np.uint8)
    results = run_gpu_bench(image, resolutions=(257,), modes=("single", "multi"), frames=3)
    assert [(r.resolution, r.mode) for r in results] == [(257, "single"), (257, "multi")]
    # One upload and one download per frame, counted where PyTorch's profiler is installed.
    counted = importlib.util.find_spec("torch") is not None
    for r in results:
        assert r.preprocess_ms > 0 and r.decode_ms > 0 and r.total_ms > 0
        assert (r.h2d_per_frame, r.d2h_per_frame) == ((1, 1) if counted else (None, None))
    assert results[0].poses == 1
