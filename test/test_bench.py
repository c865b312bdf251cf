"""The benchmark's bookkeeping, with a fake backend and a fake reference runner."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace
from typing import ClassVar

import numpy as np
import pytest
from core_fakes import FakeBackend, fixed_outputs

from posenet_ros import bench, estimator
from posenet_ros.bench import BenchRow, run_bench
from posenet_ros.errors import BackendUnavailableError, PoseNetError

IMAGES = {
    "noise": np.random.default_rng(0).integers(0, 256, (40, 60, 3), dtype=np.uint8),
    "tall": np.zeros((70, 30, 3), np.uint8),
}


@pytest.fixture(autouse=True)
def fake_backend(monkeypatch: pytest.MonkeyPatch) -> list[tuple]:
    """Every ``create_backend`` call, answered by a ``FakeBackend``; no GPU unless a test says."""
    calls: list[tuple] = []

    def create_backend(
        name: str, stride: int, *, input_size: tuple | None, **options: object
    ) -> FakeBackend:
        calls.append((name, stride, input_size, options))
        return FakeBackend(stride)

    monkeypatch.setattr(bench, "create_backend", create_backend)
    monkeypatch.setattr(bench, "cuda_unavailable_reason", lambda: "no CUDA device here")
    return calls


def row(**changes: object) -> BenchRow:
    values = dict(
        image="x",
        width=4,
        height=3,
        output_stride=16,
        input_resolution=257,
        poses=1,
        preprocess_ms=1.0,
        inference_ms=10.0,
        single_decode_ms=0.1,
        multi_decode_ms=0.5,
        multi_decode_in_e2e_ms=0.7,
        e2e_ms=12.5,
        e2e_mean_ms=12.0,
    )
    values.update(changes)
    return BenchRow(**values)  # type: ignore[arg-type]


def test_row_ratios() -> None:
    assert row().fps == 80.0
    assert row().e2e_over_inference == 1.25
    assert row().speedup is None
    assert row(reference_ms=120.0).speedup == 10.0


def test_run_bench_measures_every_case_in_order(fake_backend: list[tuple]) -> None:
    report = run_bench(
        IMAGES, resolutions=(33, 65), strides=(16, 8), repeat=2, warmup=0, reference=False
    )
    # auto gets the first size (TensorRT would need it); its dynamic model serves them all.
    fp32 = {"precision": "fp32"}
    assert fake_backend == [("auto", 16, (33, 33), fp32), ("auto", 8, (33, 33), fp32)]
    cases = [(r.output_stride, r.input_resolution, r.image) for r in report.rows]
    assert cases == [(s, r, name) for s in (16, 8) for r in (33, 65) for name in ("noise", "tall")]
    for measured in report.rows:
        assert measured.inference_ms >= 0 and measured.e2e_ms > 0
        assert measured.reference_ms is None
    assert report.rows[1].width == 30 and report.rows[1].height == 70
    assert report.backends == ["fake backend"]  # the same description once
    assert report.reference_note == "skipped (--no-reference)"
    assert report.gpu_table == "GPU bench skipped: no CUDA device here"
    assert report.table().endswith("GPU bench skipped: no CUDA device here")
    assert report.timing_note == "" and "synchronize" not in report.table()  # a CPU backend


def test_fixed_size_backends_are_built_per_input_size(fake_backend: list[tuple]) -> None:
    run_bench(
        IMAGES,
        backend="tensorrt",
        precision="fp16",
        resolutions=(33, 40, 65),  # 40 runs at 33 too
        strides=(16,),
        repeat=1,
        warmup=0,
        reference=False,
    )
    fp16 = {"precision": "fp16"}
    assert fake_backend == [("tensorrt", 16, (33, 33), fp16), ("tensorrt", 16, (65, 65), fp16)]


def test_gpu_bench_runs_per_stride_where_cuda_is(monkeypatch: pytest.MonkeyPatch) -> None:
    from posenet_ros.gpu import bench as gpu_bench

    calls = []

    def run_gpu_bench(image: np.ndarray, resolutions: tuple, output_stride: int) -> list:
        calls.append((image.shape, tuple(resolutions), output_stride))
        return [gpu_bench.GpuBenchResult("gpu", 33, "multi", 0.1, 0.2, 0.3, 1.0, 1.0, 2)]

    monkeypatch.setattr(bench, "cuda_unavailable_reason", lambda: None)
    monkeypatch.setattr(gpu_bench, "run_gpu_bench", run_gpu_bench)
    report = run_bench(IMAGES, resolutions=(33,), strides=(16, 8), repeat=1, reference=False)
    assert calls == [((40, 60, 3), (33,), 16), ((40, 60, 3), (33,), 8)]
    assert report.gpu_table.startswith("stride 16: GPU preprocessing + decoding on gpu")
    assert "stride 8: " in report.gpu_table and report.gpu_table in report.table()
    assert [r["output_stride"] for r in report.to_dict()["gpu"]["results"]] == [16, 8]
    assert report.to_dict()["gpu"]["results"][0]["total_ms"] == 0.3
    assert not run_bench(
        IMAGES, resolutions=(33,), strides=(16,), repeat=1, gpu=False, reference=False
    ).gpu_table


class FakeGpuBackend(FakeBackend):
    """Each inference queues 7 ms of device work and returns at once, as CUDA does; only
    ``synchronize`` lets that time pass on the fake clock."""

    name = "tensorrt"
    input_shape = (1, 33, 33, 3)

    def __init__(self, clock: SimpleNamespace) -> None:
        super().__init__(16)
        self.clock = clock
        self.queued = 0.0

    def run(self, image: np.ndarray) -> object:
        self.queued += 0.007
        return super().run(image)

    def run_frame(self, image: np.ndarray, transform: object) -> object:
        self.queued += 0.007
        return fixed_outputs()

    def synchronize(self) -> None:
        self.clock.now += self.queued
        self.queued = 0.0


def test_gpu_inference_is_timed_in_infer_not_in_decode(monkeypatch: pytest.MonkeyPatch) -> None:
    clock = SimpleNamespace(now=0.0)
    clock.perf_counter = lambda: clock.now  # host work takes no time on this clock
    monkeypatch.setattr(bench, "time", clock)
    monkeypatch.setattr(estimator, "time", clock)
    monkeypatch.setattr(bench, "create_backend", lambda *a, **k: FakeGpuBackend(clock))
    report = run_bench(
        {"noise": IMAGES["noise"]},
        backend="tensorrt",
        resolutions=(33,),
        strides=(16,),
        repeat=3,
        warmup=0,
        reference=False,
        gpu=False,
    )
    (measured,) = report.rows
    assert measured.inference_ms == pytest.approx(7.0)
    assert measured.e2e_ms == pytest.approx(7.0)
    assert measured.multi_decode_in_e2e_ms == 0.0 and measured.preprocess_ms == 0.0
    assert report.timing_note == bench.GPU_TIMING
    assert report.table().splitlines()[1] == bench.GPU_TIMING
    assert report.to_dict()["timing"] == bench.GPU_TIMING


def test_gpu_bench_skipped_when_the_gpu_probe_fails(monkeypatch: pytest.MonkeyPatch) -> None:
    from posenet_ros.gpu import bench as gpu_bench

    def run_gpu_bench(*args: object, **kwargs: object) -> list:
        raise BackendUnavailableError("GPU path cannot run: CuPy cannot compile and run")

    monkeypatch.setattr(bench, "cuda_unavailable_reason", lambda: None)
    monkeypatch.setattr(gpu_bench, "run_gpu_bench", run_gpu_bench)
    report = run_bench(IMAGES, resolutions=(33,), strides=(16,), repeat=1, reference=False)
    assert report.gpu_table == (
        "GPU bench skipped: GPU path cannot run: CuPy cannot compile and run"
    )


def test_table_and_json_forms() -> None:
    report = bench.BenchReport(backends=["fake"], repeat=3, rows=[row(), row(reference_ms=125.0)])
    table = report.table()
    assert "medians of 3 runs" in table
    assert table.count("\n") == 5  # backend, statistic, header, 2 rows, legend
    assert " 10.4" in table.splitlines()[4]  # 125 / 12 times faster than the reference
    document = report.to_dict()
    assert document["rows"][1]["speedup_vs_reference"] == pytest.approx(125.0 / 12.0)
    assert document["rows"][0]["e2e_over_inference"] == 1.25


class FakeRunner:
    """Answers TimingJobs with 100 ms per image per stride-resolution index."""

    jobs: ClassVar[list] = []

    def run(self, jobs: list) -> object:
        from posenet_ros.reference.runner import RunResult, Timing

        FakeRunner.jobs = list(jobs)
        results = []
        for index, job in enumerate(jobs):
            for path in job.images:
                assert Path(path).read_bytes().startswith(b"\x89PNG")
            per_image = tuple(100.0 * (index + 1) + i for i in range(len(job.images)))
            results.append(Timing(per_image, sum(per_image) / len(per_image)))
        return RunResult(versions={"@tensorflow-models/posenet": "2.2.2"}, results=results)


def test_reference_times_are_matched_to_their_cases(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(bench.shutil, "which", lambda name: "/usr/bin/node")
    monkeypatch.setattr("posenet_ros.reference.runner.ReferenceRunner", FakeRunner)
    report = run_bench(IMAGES, resolutions=(33, 65), strides=(16,), repeat=2, warmup=0)
    assert [r.reference_ms for r in report.rows] == [100.0, 101.0, 200.0, 201.0]
    assert [job.config.input_resolution for job in FakeRunner.jobs] == [33, 65]
    assert all(job.config.mode == "multi" for job in FakeRunner.jobs)
    assert report.reference_versions == {"@tensorflow-models/posenet": "2.2.2"}
    assert "same PNGs" in report.reference_note


def test_reference_skipped_without_node(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(bench.shutil, "which", lambda name: None)
    report = run_bench(IMAGES, resolutions=(33,), strides=(16,), repeat=1, warmup=0)
    assert report.reference_note == "skipped: node is not on PATH"
    assert all(r.reference_ms is None for r in report.rows)


def test_reference_failure_becomes_a_note(monkeypatch: pytest.MonkeyPatch) -> None:
    class BrokenRunner:
        def run(self, jobs: list) -> object:
            raise PoseNetError("npm ci failed: offline")

    monkeypatch.setattr(bench.shutil, "which", lambda name: "/usr/bin/node")
    monkeypatch.setattr("posenet_ros.reference.runner.ReferenceRunner", BrokenRunner)
    report = run_bench(IMAGES, resolutions=(33,), strides=(16,), repeat=1, warmup=0)
    assert report.reference_note == "skipped: npm ci failed: offline"


def test_default_images_are_the_parity_photos() -> None:
    pytest.importorskip("skimage")
    images = bench.default_images()
    assert list(images) == ["astronaut", "group_landscape"]
    assert images["astronaut"].shape == (512, 512, 3)
    assert images["group_landscape"].dtype == np.uint8
