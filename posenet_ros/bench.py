"""Benchmark: per-stage times, end-to-end FPS, and the speed ratio against the reference in Node.

For each output stride, input resolution and image, inference alone (``backend.run`` on a
ready tensor) and the whole ``estimate`` (multi-pose) run alternately, so load changes on the
machine hit both alike. The decoders are also timed alone, repeatedly on one frame's outputs
(warm caches); ``m@e2e`` is the multi-pose decode inside ``estimate``, right after inference
has filled the caches with other data. Figures are medians. The reference
(@tensorflow-models/posenet 2.2.2 on ``@tensorflow/tfjs-backend-cpu`` 3.21: pure JavaScript,
not tfjs-node's native TensorFlow) runs the same PNGs in the same invocation afterwards; its
figure is its mean ``estimateMultiplePoses`` time, compared with our mean end-to-end time.
On a GPU backend (one with ``synchronize``, e.g. TensorRT) work is queued asynchronously,
so every inference call, timed alone or as a stage of ``estimate``, returns only once the
device has finished (a stream synchronize): the GPU's time lands in "infer", not in the
decode columns, and the table says so. Where CuPy sees a CUDA device, the GPU
preprocessing + decoding benchmark (``posenet_ros.gpu.bench``) runs on the first image too.
"""

from __future__ import annotations

import shutil
import statistics
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
from PIL import Image

from posenet_ros.backends.base import Backend, NetworkOutputs
from posenet_ros.backends.factory import create_backend
from posenet_ros.config import EstimatorConfig
from posenet_ros.decode.multi_pose import decode_multiple_poses
from posenet_ros.decode.single_pose import decode_single_pose
from posenet_ros.errors import BackendUnavailableError, PoseNetError
from posenet_ros.estimator import (
    FIXED_SIZE_BACKENDS,
    PoseEstimator,
    backend_input_size,
    fixed_input_size,
)
from posenet_ros.gpu.cuda import cuda_unavailable_reason
from posenet_ros.preprocess import Preprocessor

DEFAULT_IMAGES = ("astronaut", "group_landscape")
GPU_TIMING = (
    "GPU backend: every inference call ends with a CUDA stream synchronize, so its device "
    "work is timed in infer (e2e stages likewise; the fused path's preprocessing is in infer)"
)
Progress = Callable[[str], None]


@dataclass(frozen=True, slots=True)
class BenchRow:
    """Times in milliseconds for one image at one stride and resolution."""

    image: str
    width: int
    height: int
    output_stride: int
    input_resolution: int
    poses: int
    preprocess_ms: float
    inference_ms: float
    single_decode_ms: float
    multi_decode_ms: float
    multi_decode_in_e2e_ms: float
    e2e_ms: float
    e2e_mean_ms: float
    reference_ms: float | None = None

    @property
    def fps(self) -> float:
        return 1000.0 / self.e2e_ms

    @property
    def e2e_over_inference(self) -> float:
        return self.e2e_ms / self.inference_ms

    @property
    def speedup(self) -> float | None:
        """How many times faster than the reference (mean vs mean)."""
        return None if self.reference_ms is None else self.reference_ms / self.e2e_mean_ms


@dataclass(slots=True)
class BenchReport:
    backends: list[str]  # one description per output stride
    repeat: int
    rows: list[BenchRow] = field(default_factory=list)
    reference_note: str = ""
    reference_versions: dict[str, str] = field(default_factory=dict)
    gpu_table: str = ""  # the GPU benchmark's table, or why it did not run
    gpu_results: list[dict] = field(default_factory=list)
    timing_note: str = ""  # how GPU backends were timed; empty for CPU backends

    def to_dict(self) -> dict:
        rows = [
            {
                **asdict(row),
                "fps": row.fps,
                "e2e_over_inference": row.e2e_over_inference,
                "speedup_vs_reference": row.speedup,
            }
            for row in self.rows
        ]
        return {
            "backends": self.backends,
            "repeat": self.repeat,
            "statistic": "median (reference and speedup: means)",
            "timing": self.timing_note,
            "reference": {"note": self.reference_note, "versions": self.reference_versions},
            "rows": rows,
            "gpu": {"table": self.gpu_table, "results": self.gpu_results},
        }

    def table(self) -> str:
        """The report as a fixed-width text table with a header and notes."""
        header = (
            f"{'image':<16} {'size':>9} {'stride':>6} {'res':>4} {'poses':>5} {'prep':>6} "
            f"{'infer':>7} {'single':>6} {'multi':>6} {'m@e2e':>6} {'e2e':>7} {'FPS':>6} "
            f"{'e2e/inf':>7} {'node':>8} {'x node':>6}"
        )
        lines = [f"backend: {described}" for described in self.backends]
        lines += [self.timing_note] if self.timing_note else []
        lines += [f"times in ms, medians of {self.repeat} runs", header]
        for row in self.rows:
            node = "-" if row.reference_ms is None else f"{row.reference_ms:8.1f}"
            speed = "-" if row.speedup is None else f"{row.speedup:6.1f}"
            lines.append(
                f"{row.image:<16} {row.width:>4}x{row.height:<4} {row.output_stride:>6} "
                f"{row.input_resolution:>4} {row.poses:>5} {row.preprocess_ms:6.2f} "
                f"{row.inference_ms:7.2f} {row.single_decode_ms:6.2f} {row.multi_decode_ms:6.2f} "
                f"{row.multi_decode_in_e2e_ms:6.2f} {row.e2e_ms:7.2f} {row.fps:6.1f} "
                f"{row.e2e_over_inference:7.3f} {node:>8} {speed:>6}"
            )
        lines.append(
            "e2e = estimate() multi-pose (preprocess + inference + decode + scale back); "
            "single/multi = decode alone (warm), m@e2e = multi decode inside e2e; "
            "node = reference posenet 2.2.2 estimateMultiplePoses (tfjs-backend-cpu), mean; "
            "x node = its mean / ours"
        )
        if self.reference_note:
            lines.append(f"reference: {self.reference_note}")
        if self.gpu_table:
            lines.append(self.gpu_table)
        return "\n".join(lines)


def default_images() -> dict[str, np.ndarray]:
    """The parity photos (scikit-image's astronaut, and three people composed in one frame)."""
    from posenet_ros.reference.images import IMAGES

    return {name: np.asarray(IMAGES[name]().convert("RGB")) for name in DEFAULT_IMAGES}


def run_bench(
    images: dict[str, np.ndarray],
    *,
    backend: str = "auto",
    precision: str = "fp32",
    resolutions: Sequence[int] = (257, 513),
    strides: Sequence[int] = (16, 8),
    repeat: int = 20,
    warmup: int = 3,
    reference: bool = True,
    gpu: bool = True,
    progress: Progress | None = None,
) -> BenchReport:
    """Measure every (stride, resolution, image); then the reference on the same PNGs, and
    the GPU path where there is a CUDA device."""
    report_progress = progress or (lambda _line: None)
    configs = [
        EstimatorConfig(
            input_resolution=r, output_stride=s, backend=backend, precision=precision
        ).validated()
        for s in strides
        for r in resolutions
    ]
    rows: list[BenchRow] = []
    engines: dict[tuple, Backend] = {}  # one per stride, and per input size where fixed
    for config in configs:
        stride = config.output_stride
        key = (stride, backend_input_size(config))
        if (stride, None) in engines:  # a dynamic model serves every input size
            key = (stride, None)
        elif key not in engines:
            engine = create_backend(backend, stride, input_size=key[1], **config.backend_options())
            if backend not in FIXED_SIZE_BACKENDS and fixed_input_size(engine) is None:
                key = (stride, None)  # auto fell back to ONNX Runtime's dynamic model
            engines[key] = engine
        for name, image in images.items():
            report_progress(
                f"stride {config.output_stride}, input {config.input_resolution}: {name}"
            )
            rows.append(_measure(name, image, config, engines[key], repeat, warmup))
    described = list(dict.fromkeys(engine.describe() for engine in engines.values()))
    report = BenchReport(backends=described, repeat=repeat, rows=rows)
    if any(hasattr(engine, "synchronize") for engine in engines.values()):
        report.timing_note = GPU_TIMING
    if reference:
        report_progress("reference in Node ...")
        _add_reference(report, images, configs, repeat)
    else:
        report.reference_note = "skipped (--no-reference)"
    if gpu:
        _add_gpu(report, next(iter(images.values())), resolutions, strides, report_progress)
    return report


def _measure(
    name: str,
    image: np.ndarray,
    config: EstimatorConfig,
    backend: Backend,
    repeat: int,
    warmup: int,
) -> BenchRow:
    backend = synchronizing(backend)
    estimator = PoseEstimator(config, backend)
    tensor = Preprocessor()(image, config)[0].copy()
    for _ in range(warmup):
        backend.run(tensor)
        estimator.estimate(image)
    inference, e2e, stages = [], [], []
    for _ in range(repeat):
        started = time.perf_counter()
        backend.run(tensor)
        inference.append(time.perf_counter() - started)
        started = time.perf_counter()
        poses, timings = estimator.estimate_timed(image)
        e2e.append(time.perf_counter() - started)
        stages.append(timings)
    maps = backend.run(tensor)
    stride = config.output_stride
    single = _timed(lambda: decode_single_pose(maps.heatmap, maps.offsets, stride), repeat)
    multi = _timed(
        lambda: decode_multiple_poses(
            *maps,
            stride,
            config.max_pose_detections,
            config.score_threshold,
            config.nms_radius,
        ),
        repeat,
    )
    return BenchRow(
        image=name,
        width=image.shape[1],
        height=image.shape[0],
        output_stride=stride,
        input_resolution=config.input_resolution or 0,
        poses=len(poses),
        preprocess_ms=_ms(statistics.median(t.preprocess for t in stages)),
        inference_ms=_ms(statistics.median(inference)),
        single_decode_ms=single,
        multi_decode_ms=multi,
        multi_decode_in_e2e_ms=_ms(statistics.median(t.decode for t in stages)),
        e2e_ms=_ms(statistics.median(e2e)),
        e2e_mean_ms=_ms(statistics.fmean(e2e)),
    )


def synchronizing(backend: Backend) -> Backend:
    """``backend`` itself, or for a GPU backend (with ``synchronize``) one whose ``run`` and
    ``run_frame`` return only once the device has finished their work."""
    synchronize = getattr(backend, "synchronize", None)
    return backend if synchronize is None else _Synchronized(backend, synchronize)


class _Synchronized:
    """Delegates to a GPU backend, synchronizing after each inference call."""

    def __init__(self, backend: Backend, synchronize: Callable[[], None]) -> None:
        self._backend = backend
        self._synchronize = synchronize
        if hasattr(backend, "run_frame"):
            self.run_frame = self._synchronized(backend.run_frame)
        self.run = self._synchronized(backend.run)

    def _synchronized(self, call: Callable[..., NetworkOutputs]) -> Callable[..., NetworkOutputs]:
        def run(*args: object) -> NetworkOutputs:
            outputs = call(*args)
            self._synchronize()
            return outputs

        return run

    def __getattr__(self, name: str) -> object:
        return getattr(self._backend, name)


def _timed(call: Callable[[], object], repeat: int) -> float:
    call()
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        call()
        times.append(time.perf_counter() - started)
    return _ms(statistics.median(times))


def _ms(seconds: float) -> float:
    return seconds * 1000.0


def _add_reference(
    report: BenchReport,
    images: dict[str, np.ndarray],
    configs: list[EstimatorConfig],
    repeat: int,
) -> None:
    """Fill ``reference_ms`` from one Node run on lossless PNGs of the same pixels."""
    if shutil.which("node") is None:
        report.reference_note = "skipped: node is not on PATH"
        return
    from posenet_ros.reference.runner import ReferenceRunner, TimingJob

    repeats = max(1, min(repeat, 5))  # the reference is slow; its mean settles quickly
    with tempfile.TemporaryDirectory(prefix="posenet-bench-") as folder:
        paths = []
        for name, image in images.items():
            path = Path(folder) / f"{name}.png"
            Image.fromarray(image).save(path, format="PNG")
            paths.append(path)
        jobs = [TimingJob(tuple(paths), config, repeats=repeats, warmup=1) for config in configs]
        try:
            result = ReferenceRunner().run(jobs)
        except PoseNetError as exc:
            report.reference_note = f"skipped: {exc}"
            return
    names = list(images)
    by_case = {
        (config.output_stride, config.input_resolution, name): ms
        for config, timing in zip(configs, result.results, strict=True)
        for name, ms in zip(names, timing.per_image_ms, strict=True)
    }
    report.rows = [
        _with_reference(row, by_case.get((row.output_stride, row.input_resolution, row.image)))
        for row in report.rows
    ]
    report.reference_versions = dict(result.versions)
    report.reference_note = f"mean of {repeats} runs after 1 warm-up, same machine, same PNGs"


def _with_reference(row: BenchRow, reference_ms: float | None) -> BenchRow:
    values = asdict(row)
    values["reference_ms"] = reference_ms
    return BenchRow(**values)


def _add_gpu(
    report: BenchReport,
    image: np.ndarray,
    resolutions: Sequence[int],
    strides: Sequence[int],
    progress: Progress,
) -> None:
    """The GPU preprocessing + decoding benchmark per stride, or one line saying why not."""
    reason = cuda_unavailable_reason()
    if reason is not None:
        report.gpu_table = f"GPU bench skipped: {reason}"
        return
    from posenet_ros.gpu.bench import format_results, run_gpu_bench

    tables = []
    for stride in strides:
        progress(f"GPU preprocessing + decoding, stride {stride} ...")
        try:
            results = run_gpu_bench(image, resolutions, output_stride=stride)
        except BackendUnavailableError as exc:  # a device, but the GPU probe failed
            report.gpu_table = f"GPU bench skipped: {exc}"
            return
        tables.append(f"stride {stride}: {format_results(results)}")
        report.gpu_results += [{**asdict(r), "output_stride": stride} for r in results]
    report.gpu_table = "\n".join(tables)
