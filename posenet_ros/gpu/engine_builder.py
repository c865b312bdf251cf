"""ONNX -> serialized TensorRT engine: one optimisation profile, precision, workspace limit,
timing cache, progress and timing in the log."""

from __future__ import annotations

import logging
import time
from pathlib import Path
from types import ModuleType
from typing import Any

from posenet_ros.errors import ModelError
from posenet_ros.gpu import trt_compat
from posenet_ros.gpu.engine_cache import atomic_write_bytes

log = logging.getLogger(__name__)


def build_engine(
    trt: ModuleType,
    onnx_path: Path,
    input_shape: tuple[int, int, int, int],
    precision: str,
    workspace_bytes: int,
    timing_cache_path: Path | None = None,
    target_compute_capability: str | None = None,
) -> bytes:
    """Build a serialized engine for exactly ``input_shape`` (N, H, W, C) from ``onnx_path``.

    FP16 uses ``BuilderFlag.FP16`` on an FP32 export where TensorRT still has weak typing;
    on strongly-typed-only releases the export itself must be FP16 (see
    ``trt_compat.onnx_precision_for``), which is checked here. ``target_compute_capability``
    builds for another GPU than the present one (TensorRT-RTX only; see
    ``trt_compat.set_build_target``).
    """
    logger = trt_compat.trt_logger(trt)
    builder = trt.Builder(logger)
    strongly_typed = precision == "fp16" and not trt_compat.supports_weak_fp16(trt)
    network = builder.create_network(trt_compat.network_flags(trt, strongly_typed))
    parser = trt.OnnxParser(network, logger)
    if not parser.parse_from_file(str(onnx_path)):
        errors = "; ".join(str(parser.get_error(i)) for i in range(parser.num_errors))
        raise ModelError(f"TensorRT cannot parse {onnx_path}: {errors or 'unknown error'}")
    if network.num_inputs != 1:
        raise ModelError(f"{onnx_path} has {network.num_inputs} inputs; expected one image input")

    config = builder.create_builder_config()
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
    profile = builder.create_optimization_profile()
    profile.set_shape(network.get_input(0).name, input_shape, input_shape, input_shape)
    config.add_optimization_profile(profile)
    timing_cache = _attach_timing_cache(config, timing_cache_path)
    monitor = trt_compat.progress_monitor(trt)
    if monitor is not None:
        config.progress_monitor = monitor

    log.info(
        "building TensorRT %s engine for %s, input %s (minutes on a Jetson; cached afterwards)",
        precision,
        onnx_path.name,
        "x".join(map(str, input_shape)),
    )
    started = time.perf_counter()
    serialized = builder.build_serialized_network(network, config)
    if serialized is None:
        raise ModelError(f"TensorRT failed to build an engine from {onnx_path} (see log above)")
    log.info("TensorRT engine built in %.1f s", time.perf_counter() - started)
    if timing_cache is not None and timing_cache_path is not None:
        atomic_write_bytes(timing_cache_path, bytes(memoryview(timing_cache.serialize())))
    return bytes(memoryview(serialized))


def _attach_timing_cache(config: Any, path: Path | None) -> Any | None:
    """Load the timing cache at ``path`` (empty if missing or unusable) into ``config``."""
    if path is None:
        return None
    data = b""
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        pass
    except OSError as exc:
        log.warning("cannot read timing cache %s (%s); starting an empty one", path, exc)
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
        cache = config.create_timing_cache(b"")
        config.set_timing_cache(cache, False)
    return cache
