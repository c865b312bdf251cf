"""GPU benchmark: report formatting everywhere, a short real run where a GPU exists."""

from __future__ import annotations

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


@pytest.mark.gpu
def test_short_run_on_the_gpu(cp) -> None:
    image = np.random.default_rng(0).integers(0, 256, (240, 320, 3), dtype=np.uint8)
    results = run_gpu_bench(image, resolutions=(257,), modes=("single", "multi"), frames=3)
    assert [(r.resolution, r.mode) for r in results] == [(257, "single"), (257, "multi")]
    for r in results:
        assert r.preprocess_ms > 0 and r.decode_ms > 0 and r.total_ms > 0
        if r.h2d_per_frame is not None:
            assert (r.h2d_per_frame, r.d2h_per_frame) == (1, 1)
    assert results[0].poses == 1
