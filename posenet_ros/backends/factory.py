"""Pick and build an inference backend by name: ``auto``, ``onnxruntime`` or ``tensorrt``.

``auto`` prefers TensorRT (when the GPU probe passes: TensorRT creates a runtime and CuPy
compiles and runs a kernel, see ``posenet_ros.gpu.probe``), then ONNX Runtime on the CUDA
execution provider (onnxruntime-gpu with a working CUDA set-up), then ONNX Runtime on CPU.
The choice and its reason are logged and kept on the backend as ``selection_reason``;
``fall_back`` gives ``auto`` its ONNX Runtime choice when the GPU path fails later (its first
kernel, in the estimator's warm-up).
"""

from __future__ import annotations

import importlib
import logging
import os
from types import ModuleType
from typing import Any

from posenet_ros.backends.base import Backend
from posenet_ros.backends.onnxruntime_backend import OnnxRuntimeBackend, available_providers
from posenet_ros.config import BACKENDS, check_max_batch
from posenet_ros.errors import BackendUnavailableError, InvalidConfigError
from posenet_ros.model.export import ensure_onnx
from posenet_ros.model.mobilenet import check_output_stride

log = logging.getLogger(__name__)

TENSORRT_MODULE = "posenet_ros.backends.tensorrt_backend"
CUDA_PROVIDER = "CUDAExecutionProvider"
ORT_OPTIONS = frozenset({"providers", "threads"})
TRT_OPTIONS = frozenset({"precision", "engine_cache_dir", "workspace_mb", "max_batch"})


def create_backend(
    name: str,
    output_stride: int,
    *,
    input_size: tuple[int, int] | None = None,
    model_dir: str | os.PathLike[str] | None = None,
    **options: Any,
) -> Backend:
    """Build the backend ``name`` for ``output_stride`` (exporting the model if needed).

    ``input_size`` (height, width) fixes the network input (TensorRT engines need it; ``None``
    keeps it dynamic); ``auto`` uses it for TensorRT only, its ONNX Runtime fallbacks run the
    dynamic model. ``options`` go to the backend: ``providers`` and ``threads`` for ONNX
    Runtime, ``precision``, ``engine_cache_dir``, ``workspace_mb`` and ``max_batch`` (frames
    per call, built from the batched export) for TensorRT; ``auto`` passes each backend its own
    and picks the providers itself.
    """
    if name not in BACKENDS:
        raise InvalidConfigError(f"invalid backend {name!r}: expected one of {', '.join(BACKENDS)}")
    check_output_stride(output_stride)
    check_max_batch(options.get("max_batch", 1))  # also where auto ends on ONNX Runtime
    if name == "onnxruntime":
        backend = _onnxruntime(output_stride, input_size, model_dir, options)
        reason = "requested"
    elif name == "tensorrt":
        module = _tensorrt_module()
        if isinstance(module, str):
            raise BackendUnavailableError(f"the tensorrt backend cannot run here: {module}")
        backend = _tensorrt(module, output_stride, input_size, model_dir, options)
        reason = "requested"
    else:
        backend, reason = _auto(output_stride, input_size, model_dir, options)
    backend.selection_reason = reason  # type: ignore[attr-defined]
    log.info("inference backend: %s", backend.describe())
    return backend


def _auto(
    output_stride: int,
    input_size: tuple[int, int] | None,
    model_dir: str | os.PathLike[str] | None,
    options: dict[str, Any],
) -> tuple[Backend, str]:
    unknown = sorted(set(options) - ORT_OPTIONS - TRT_OPTIONS)
    if unknown:
        raise InvalidConfigError(f"unknown backend option(s): {', '.join(unknown)}")
    if "providers" in options:
        raise InvalidConfigError(
            "the providers option needs backend onnxruntime (auto chooses the providers)"
        )
    module = _tensorrt_module()
    if not isinstance(module, str) and input_size is not None:
        trt_options = {k: v for k, v in options.items() if k in TRT_OPTIONS}
        return _tensorrt(module, output_stride, input_size, model_dir, trt_options), (
            "auto: TensorRT and CuPy passed the GPU probe"
        )
    tensorrt_missing = module if isinstance(module, str) else "it needs a fixed input size"
    return _auto_onnxruntime(output_stride, model_dir, options, tensorrt_missing)


def fall_back(
    output_stride: int,
    gpu_failure: str,
    *,
    model_dir: str | os.PathLike[str] | None = None,
    **options: Any,
) -> Backend:
    """``auto``'s ONNX Runtime choice after the GPU path it chose failed with ``gpu_failure``.

    ``options`` are those given to ``create_backend("auto", ...)``; the reason is logged as a
    warning and kept as ``selection_reason``.
    """
    backend, reason = _auto_onnxruntime(output_stride, model_dir, options, gpu_failure)
    backend.selection_reason = reason  # type: ignore[attr-defined]
    log.warning("inference backend: %s", backend.describe())
    return backend


def _auto_onnxruntime(
    output_stride: int,
    model_dir: str | os.PathLike[str] | None,
    options: dict[str, Any],
    tensorrt_missing: str,
) -> tuple[Backend, str]:
    """ONNX Runtime on CUDA where it starts, else on the CPU, with the reason for the choice."""
    ort_options = {k: v for k, v in options.items() if k in ORT_OPTIONS}
    # ONNX Runtime gets the dynamic model: input_size was asked for TensorRT's sake only.
    if CUDA_PROVIDER in available_providers():
        try:
            backend = _onnxruntime(
                output_stride, None, model_dir, {**ort_options, "providers": [CUDA_PROVIDER]}
            )
        except BackendUnavailableError as exc:
            cuda_missing = str(exc)
        else:
            return backend, f"auto: TensorRT unavailable ({tensorrt_missing}); ONNX Runtime CUDA"
    else:
        cuda_missing = "onnxruntime has no CUDAExecutionProvider (onnxruntime-gpu not installed)"
    backend = _onnxruntime(output_stride, None, model_dir, ort_options)
    return backend, (
        f"auto: TensorRT unavailable ({tensorrt_missing}); {cuda_missing}; ONNX Runtime CPU"
    )


def _onnxruntime(
    output_stride: int,
    input_size: tuple[int, int] | None,
    model_dir: str | os.PathLike[str] | None,
    options: dict[str, Any],
) -> OnnxRuntimeBackend:
    unknown = sorted(set(options) - ORT_OPTIONS)
    if unknown:
        raise InvalidConfigError(f"unknown onnxruntime backend option(s): {', '.join(unknown)}")
    path = ensure_onnx(output_stride, input_size, model_dir)
    return OnnxRuntimeBackend(path, output_stride, **options)


def _tensorrt(
    module: ModuleType,
    output_stride: int,
    input_size: tuple[int, int] | None,
    model_dir: str | os.PathLike[str] | None,
    options: dict[str, Any],
) -> Backend:
    unknown = sorted(set(options) - TRT_OPTIONS)
    if unknown:
        raise InvalidConfigError(f"unknown tensorrt backend option(s): {', '.join(unknown)}")
    if input_size is None:
        raise InvalidConfigError(
            "the tensorrt backend needs a fixed input_size (height, width) to build its engine"
        )
    # FP16 engines come from the FP16 export where TensorRT builds strongly typed networks only.
    onnx_precision = module.onnx_precision_for(options.get("precision", "fp32"))
    batched = options.get("max_batch", 1) > 1
    path = ensure_onnx(
        output_stride, input_size, model_dir, precision=onnx_precision, batched=batched
    )
    return module.TensorRTBackend(path, output_stride, input_size, **options)


def _tensorrt_module() -> ModuleType | str:
    """The TensorRT backend module if it can run here, else the reason it cannot."""
    try:
        module = importlib.import_module(TENSORRT_MODULE)
    except ImportError as exc:
        return f"{TENSORRT_MODULE} cannot be imported ({exc})"
    reason = module.tensorrt_unavailable_reason()
    return reason if reason is not None else module
