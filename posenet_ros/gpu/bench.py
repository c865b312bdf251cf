"""GPU preprocessing + decoding benchmark; needs CuPy and a CUDA device, not TensorRT.

Network outputs are computed once by ONNX Runtime on the CPU for a real photo and uploaded
once; every timed frame then does the GPU path's own per-frame work: one upload of the uint8
frame, the preprocessing kernel into an input buffer, and decoding on the device maps, which
ends in one device-to-host copy. GPU work is queued asynchronously, so every timed call ends
with a device synchronize: a stage's time (host wall clock) holds all the GPU work it queued.
Host-to-device and device-to-host copies are counted with PyTorch's CUPTI profiler when
PyTorch is installed (else reported as not counted).

    python -m posenet_ros.gpu.bench [--image photo.jpg] [--frames 300] [--resolutions 257 513]
"""

from __future__ import annotations

import argparse
import logging
import statistics
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from posenet_ros.backends.onnxruntime_backend import OnnxRuntimeBackend
from posenet_ros.config import EstimatorConfig
from posenet_ros.decode import decode_multiple_poses, decode_single_pose
from posenet_ros.errors import PoseNetError
from posenet_ros.gpu.cuda import gpu_identity
from posenet_ros.gpu.preprocess_cuda import GpuPreprocessor
from posenet_ros.gpu.probe import import_cupy
from posenet_ros.image_io import load_image
from posenet_ros.model.export import ensure_onnx
from posenet_ros.preprocess import Preprocessor

log = logging.getLogger(__name__)

DEFAULT_IMAGE = Path(__file__).resolve().parents[2] / "data" / "astronaut.jpg"
TARGET_MS = {257: 0.3, 513: 1.0}  # issue targets for preprocessing + decoding on an H100
WARMUP_FRAMES = 20
TIMING_METHOD = (
    "times: host wall clock per call, each call ended by a CUDA device synchronize "
    "(the GPU work a stage queued is timed in that stage)"
)


@dataclass(frozen=True)
class GpuBenchResult:
    device: str
    resolution: int
    mode: str
    preprocess_ms: float  # medians over the timed frames, host wall time to device sync
    decode_ms: float
    total_ms: float
    h2d_per_frame: float | None  # None: not counted (no PyTorch profiler)
    d2h_per_frame: float | None
    poses: int


def run_gpu_bench(
    image: np.ndarray,
    resolutions: Sequence[int] = (257, 513),
    modes: Sequence[str] = ("single", "multi"),
    frames: int = 300,
    output_stride: int = 16,
    model_dir: Path | None = None,
) -> list[GpuBenchResult]:
    """Time GPU preprocessing and decoding per frame for each resolution and mode."""
    cp = import_cupy()
    device = gpu_identity(cp).describe()
    synchronize = cp.cuda.Device().synchronize
    results = []
    for resolution in resolutions:
        config = EstimatorConfig(input_resolution=resolution, output_stride=output_stride)
        tensor, transform = Preprocessor()(image, config.validated())
        size = (transform.input_height, transform.input_width)
        onnx = ensure_onnx(output_stride, size, model_dir)
        maps = [cp.asarray(m) for m in OnnxRuntimeBackend(onnx, output_stride).run(tensor)]
        stream = cp.cuda.Stream(non_blocking=True)
        preprocess = GpuPreprocessor(cp, stream)
        network_input = cp.empty(tensor.shape, cp.float32)

        def upload_and_preprocess(
            preprocess: GpuPreprocessor = preprocess,
            transform: Any = transform,
            network_input: Any = network_input,
        ) -> None:
            preprocess(image, transform, network_input)

        for mode in modes:
            decode = _decoder(mode, maps, config)
            pre_ms = _median_ms(upload_and_preprocess, frames, synchronize)
            decode_ms = _median_ms(decode, frames, synchronize)

            def frame(pre: Callable[[], None] = upload_and_preprocess, dec: Any = decode) -> None:
                pre()
                dec()

            total_ms = _median_ms(frame, frames, synchronize)
            copies = count_copies(frame, min(frames, 50))
            results.append(
                GpuBenchResult(
                    device=device,
                    resolution=resolution,
                    mode=mode,
                    preprocess_ms=pre_ms,
                    decode_ms=decode_ms,
                    total_ms=total_ms,
                    h2d_per_frame=None if copies is None else copies[0],
                    d2h_per_frame=None if copies is None else copies[1],
                    poses=len(decode()),
                )
            )
    return results


def _decoder(mode: str, maps: list[Any], config: EstimatorConfig) -> Callable[[], list]:
    heatmap, offsets, fwd, bwd = maps
    stride = config.output_stride
    if mode == "single":
        return lambda: [decode_single_pose(heatmap, offsets, stride)]
    return lambda: decode_multiple_poses(
        heatmap,
        offsets,
        fwd,
        bwd,
        stride,
        config.max_pose_detections,
        config.score_threshold,
        config.nms_radius,
    )


def _median_ms(fn: Callable[[], Any], frames: int, synchronize: Callable[[], Any]) -> float:
    """Median milliseconds of ``fn`` until the device has finished what it queued."""
    for _ in range(WARMUP_FRAMES):
        fn()
    synchronize()
    times = []
    for _ in range(frames):
        started = time.perf_counter()
        fn()
        synchronize()
        times.append(time.perf_counter() - started)
    return statistics.median(times) * 1e3


def count_copies(fn: Callable[[], Any], frames: int) -> tuple[float, float] | None:
    """Host-to-device and device-to-host memcpys per call of ``fn``, via CUPTI in PyTorch."""
    try:
        from torch.profiler import ProfilerActivity, profile
    except ImportError:
        return None
    try:
        with profile(activities=[ProfilerActivity.CUDA]) as prof:
            for _ in range(frames):
                fn()
        names = [event.name for event in prof.events()]
    except Exception as exc:  # profiling is a diagnostic: never fail the benchmark on it
        log.warning("copy counting failed (%s); copies not counted", exc)
        return None
    h2d = sum("Memcpy HtoD" in name for name in names)
    d2h = sum("Memcpy DtoH" in name for name in names)
    return h2d / frames, d2h / frames


def format_results(results: Sequence[GpuBenchResult]) -> str:
    """A plain-text table, with the issue's target per resolution where there is one."""

    def copies(value: float | None) -> str:
        return "n/a" if value is None else f"{value:g}"

    lines = [
        f"GPU preprocessing + decoding on {results[0].device}" if results else "no results",
        "res   mode    preprocess_ms  decode_ms  total_ms  target_ms  h2d/frame  d2h/frame  poses",
    ]
    for r in results:
        target = TARGET_MS.get(r.resolution)
        lines.append(
            f"{r.resolution:<5} {r.mode:<7} {r.preprocess_ms:>13.3f}  {r.decode_ms:>9.3f}  "
            f"{r.total_ms:>8.3f}  {'-' if target is None else f'{target:g}':>9}  "
            f"{copies(r.h2d_per_frame):>9}  {copies(r.d2h_per_frame):>9}  {r.poses:>5}"
        )
    if results and results[0].h2d_per_frame is None:
        lines.append("copies not counted: install PyTorch (its profiler reads CUPTI) to count them")
    lines.append(TIMING_METHOD)
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m posenet_ros.gpu.bench", description=__doc__)
    parser.add_argument("--image", type=Path, default=DEFAULT_IMAGE)
    parser.add_argument("--frames", type=int, default=300)
    parser.add_argument("--resolutions", type=int, nargs="+", default=[257, 513])
    parser.add_argument(
        "--modes", nargs="+", choices=["single", "multi"], default=["single", "multi"]
    )
    parser.add_argument("--output-stride", type=int, choices=[8, 16], default=16)
    parser.add_argument("--model-dir", type=Path, default=None)
    args = parser.parse_args(argv)
    if args.frames < 1:
        parser.error("--frames must be >= 1")
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    try:
        results = run_gpu_bench(
            load_image(args.image),
            args.resolutions,
            args.modes,
            args.frames,
            args.output_stride,
            args.model_dir,
        )
    except PoseNetError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    print(format_results(results))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
