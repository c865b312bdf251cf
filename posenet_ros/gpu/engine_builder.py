"""ONNX -> serialized TensorRT engine: one optimisation profile (one frame, or 1 to
``max_batch`` frames per call), precision, workspace limit, timing cache, progress and timing in
the log.

Every builder call that reports failure by returning None, False or -1 is checked and becomes
a ``ModelError`` saying what to do (TensorRT logs the detail through our logger).
"""

from __future__ import annotations

import logging
import time
from pathlib import Path
from types import ModuleType
from typing import Any

from posenet_ros.errors import ModelError
from posenet_ros.gpu import trt_compat
from posenet_ros.gpu.engine_cache import TimingCacheFile
from posenet_ros.gpu.trt_compat import MEMORY_HINT, checked

log = logging.getLogger(__name__)


def build_engine(
    trt: ModuleType,
    onnx_path: Path,
    input_shape: tuple[int, int, int, int],
    precision: str,
    workspace_bytes: int,
    timing_cache: TimingCacheFile | None = None,
    target_compute_capability: str | None = None,
    max_batch: int = 1,
) -> bytes:
    """Build a serialized engine for exactly ``input_shape`` (N, H, W, C) from ``onnx_path``;
    with ``max_batch`` > 1, for (1..max_batch, H, W, C) from ``input_shape`` (1, H, W, C),
    tuned for the full batch (the profile's opt = max), from an export whose batch dimension
    is symbolic (``ensure_onnx(..., batched=True)``).

    FP16 uses ``BuilderFlag.FP16`` on an FP32 export where TensorRT still has weak typing;
    on strongly-typed-only releases the export itself must be FP16 (see
    ``trt_compat.onnx_precision_for``), which is checked here. ``target_compute_capability``
    builds for another GPU than the present one (TensorRT-RTX only; see
    ``trt_compat.set_build_target``). The timing cache is read before and saved after the
    build; failing to save it only warns (the engine is returned all the same).
    """
    logger = trt_compat.trt_logger(trt)
    builder = checked(trt.Builder(logger), "create a builder")
    strongly_typed = precision == "fp16" and not trt_compat.supports_weak_fp16(trt)
    network = checked(
        builder.create_network(trt_compat.network_flags(trt, strongly_typed)),
        "create a network",
    )
    parser = checked(trt.OnnxParser(network, logger), "create an ONNX parser")
    if not parser.parse_from_file(str(onnx_path)):
        errors = "; ".join(str(parser.get_error(i)) for i in range(parser.num_errors))
        raise ModelError(f"TensorRT cannot parse {onnx_path}: {errors or 'unknown error'}")
    if network.num_inputs != 1:
        raise ModelError(f"{onnx_path} has {network.num_inputs} inputs; expected one image input")
    image = network.get_input(0)
    if max_batch > 1 and image.shape[0] != -1:
        raise ModelError(
            f"{onnx_path.name} takes batches of {image.shape[0]} only; an engine for up to "
            f"{max_batch} frames per call needs a batched export (symbolic batch dimension)"
        )

    config = checked(builder.create_builder_config(), "create a builder config")
    config.set_memory_pool_limit(trt.MemoryPoolType.WORKSPACE, workspace_bytes)
    if target_compute_capability is not None:
        trt_compat.set_build_target(trt, config, target_compute_capability)
    if precision == "fp32":
        trt_compat.disable_tf32(trt, config)
    elif not strongly_typed:
        config.set_flag(trt.BuilderFlag.FP16)
    elif not trt_compat.network_has_half_tensors(trt, network):
        raise ModelError(
            f"precision fp16 on TensorRT {trt.__version__} (strongly typed networks only) "
            f"needs an FP16 ONNX export; {onnx_path.name} is FP32"
        )
    profile = checked(builder.create_optimization_profile(), "create an optimisation profile")
    largest = (max_batch, *input_shape[1:]) if max_batch > 1 else input_shape
    profile.set_shape(image.name, input_shape, largest, largest)
    if config.add_optimization_profile(profile) < 0:
        shapes = input_shape if largest == input_shape else f"{input_shape} to {largest}"
        raise ModelError(
            f"TensorRT refused the optimisation profile {shapes} for {onnx_path.name}: "
            "use an input size the export accepts (see the TensorRT log)"
        )
    cache = _attach_timing_cache(config, timing_cache)
    monitor = trt_compat.progress_monitor(trt)
    if monitor is not None:
        config.progress_monitor = monitor

    log.info(
        "building TensorRT %s engine for %s, input %s%s (minutes on a Jetson; cached afterwards)",
        precision,
        onnx_path.name,
        "x".join(map(str, input_shape)),
        f", up to {max_batch} frames per call" if max_batch > 1 else "",
    )
    started = time.perf_counter()
    serialized = builder.build_serialized_network(network, config)
    if serialized is None:
        raise ModelError(
            f"TensorRT failed to build an engine from {onnx_path} (see the TensorRT log above; "
            f"if it ran out of memory: {MEMORY_HINT} or a smaller input_resolution)"
        )
    log.info("TensorRT engine built in %.1f s", time.perf_counter() - started)
    if cache is not None and timing_cache is not None:
        _save_timing_cache(cache, timing_cache)
    return bytes(memoryview(serialized))


def _save_timing_cache(cache: Any, timing_cache: TimingCacheFile) -> None:
    """Save the build's timings for the next build; never fails the finished build."""
    serialized = cache.serialize()
    if serialized is None:
        log.warning("TensorRT could not serialize the timing cache; not saved")
        return
    timing_cache.save(bytes(memoryview(serialized)))


def _attach_timing_cache(config: Any, timing_cache: TimingCacheFile | None) -> Any | None:
    """Load ``timing_cache`` (empty if missing or unusable) into ``config``."""
    if timing_cache is None:
        return None
    path = timing_cache.path
    data = timing_cache.read()
    cache = None
    if data:
        try:
            cache = config.create_timing_cache(data)
        except Exception:  # a damaged file may raise rather than return None
            cache = None
        if cache is not None and not config.set_timing_cache(cache, False):
            cache = None
        if cache is None:
            log.warning("timing cache %s does not fit this TensorRT/GPU; starting anew", path)
    if cache is None:
        cache = checked(config.create_timing_cache(b""), "create a timing cache")
        if not config.set_timing_cache(cache, False):
            raise ModelError("TensorRT refused an empty timing cache (see the TensorRT log)")
    return cache
