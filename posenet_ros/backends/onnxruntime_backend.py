"""ONNX Runtime backend: CPU by default, CUDA / TensorRT execution providers when asked."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np
import onnxruntime as ort

from posenet_ros.backends.base import NetworkOutputs
from posenet_ros.errors import (
    BackendUnavailableError,
    InvalidConfigError,
    InvalidImageError,
    ModelError,
)
from posenet_ros.model.mobilenet import OUTPUT_NAMES

CPU_PROVIDER = "CPUExecutionProvider"
GPU_PROVIDERS = ("TensorrtExecutionProvider", "CUDAExecutionProvider")
# Provider entries as ONNX Runtime takes them: a name, or (name, options).
ProviderSpec = str | tuple[str, dict[str, Any]]


def available_providers() -> list[str]:
    """Execution providers this ONNX Runtime build offers (the one capability probe)."""
    return list(ort.get_available_providers())


class OnnxRuntimeBackend:
    """Runs one exported PoseNet model with an ``onnxruntime.InferenceSession``.

    ``providers``: ONNX Runtime execution providers in priority order (names or
    ``(name, options)``), e.g. ``["CUDAExecutionProvider"]``; the CPU provider is always
    appended as the fallback for unsupported nodes. ``threads``: intra-op threads (default:
    ONNX Runtime's choice, one per physical core).
    """

    name = "onnxruntime"
    max_batch = 1  # frames per call: a batch does not pay on the CPU (see batch_bench)

    def __init__(
        self,
        onnx_path: str | os.PathLike[str],
        output_stride: int,
        providers: list[ProviderSpec] | None = None,
        threads: int | None = None,
    ) -> None:
        self.output_stride = output_stride
        self.selection_reason = "requested"
        self._path = Path(onnx_path)
        requested = _normalise_providers(providers)
        if threads is not None and (
            not isinstance(threads, int) or isinstance(threads, bool) or threads < 1
        ):
            raise InvalidConfigError(f"invalid threads {threads!r}: expected an integer >= 1")
        if not self._path.is_file():
            raise ModelError(f"ONNX model {self._path} does not exist")
        try:
            self._session = ort.InferenceSession(
                str(self._path), sess_options=_session_options(threads), providers=requested
            )
        except Exception as exc:  # ONNX Runtime raises its own pybind exception types
            detail = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
            if any(_provider_name(p) != CPU_PROVIDER for p in requested):
                raise BackendUnavailableError(f"ONNX Runtime could not start: {detail}") from exc
            raise ModelError(f"ONNX Runtime cannot load {self._path}: {detail}") from exc
        active = self._session.get_providers()
        missing = [_provider_name(p) for p in requested if _provider_name(p) not in active]
        if missing:
            # ONNX Runtime falls back to CPU silently when a GPU provider fails to load.
            raise BackendUnavailableError(
                f"ONNX Runtime could not start {', '.join(missing)} (no CUDA device, or the "
                "CUDA/cuDNN/TensorRT libraries it needs are not on the library path)"
            )
        self.providers = active
        self._threads = threads
        self._input_name = self._session.get_inputs()[0].name
        self._input_shape = self._session.get_inputs()[0].shape

    def run(self, image: Any) -> NetworkOutputs:
        """Run on a (1, H, W, 3) float32 tensor; outputs are (H', W', C) views, no copies."""
        if not isinstance(image, np.ndarray) or image.dtype != np.float32:
            raise InvalidImageError(
                f"network input must be a float32 NumPy array, got {_describe_value(image)}"
            )
        if image.ndim != 4 or image.shape[0] != 1 or image.shape[3] != 3:
            raise InvalidImageError(
                f"network input must have shape (1, H, W, 3), got {tuple(image.shape)}"
            )
        fixed = [d for d in self._input_shape[1:3] if isinstance(d, int)]
        if fixed and list(image.shape[1:3]) != self._input_shape[1:3]:
            raise InvalidImageError(
                f"this model was exported for input {self._input_shape[1]}x"
                f"{self._input_shape[2]}, got {image.shape[1]}x{image.shape[2]}"
            )
        outputs = self._session.run(OUTPUT_NAMES, {self._input_name: image})
        return NetworkOutputs(*(output[0] for output in outputs))

    def describe(self) -> str:
        """One line: runtime version, providers, threads, stride, model file, why chosen."""
        threads = self._threads if self._threads is not None else "auto"
        return (
            f"onnxruntime {ort.__version__} [{', '.join(self.providers)}] threads={threads} "
            f"stride={self.output_stride} model={self._path.name} ({self.selection_reason})"
        )


def _session_options(threads: int | None) -> ort.SessionOptions:
    """Session options chosen by measurement (2-core x86, ORT 1.32, median of 20 runs):

    - all graph optimisations (Conv+bias+Clip fusion, NCHWc layout): 4.4 ms at 257x257 stride
      16, against 6.9 ms (extended) and 7.9 ms (basic);
    - intra-op threads left to ORT (one per physical core, 2 here): 4.3 / 14.4 ms at 257 / 513,
      against 5.1 / 21.6 ms single-threaded;
    - no spin-waiting: spinning saved ~0.5 ms at 257 on an idle machine but doubled the time
      (5.6 -> 10.5 ms) while another process held a core, and burns CPU the decoder needs;
    - sequential execution: the graph is a chain, parallel execution only adds scheduling.

    The same holds in the ROS node, where inference runs on its own thread beside the
    executor's (A/B in one run, node processes alternated, machine loaded ~4 on its 2 cores):
    threads left to ORT 65-69 FPS through the node, one thread 51-56, spinning 17-22.

    IO binding with preallocated output buffers was within noise (4.19 vs 4.26 ms at 257,
    14.31 vs 14.52 ms at 513), so ``run`` stays a plain ``InferenceSession.run``.
    """
    options = ort.SessionOptions()
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    if threads is not None:
        options.intra_op_num_threads = threads
    options.add_session_config_entry("session.intra_op.allow_spinning", "0")
    return options


def _normalise_providers(providers: list[ProviderSpec] | None) -> list[ProviderSpec]:
    if providers is None:
        return [CPU_PROVIDER]
    well_formed = isinstance(providers, (list, tuple)) and all(
        isinstance(p, str)
        or (
            isinstance(p, tuple)
            and len(p) == 2
            and isinstance(p[0], str)
            and isinstance(p[1], dict)
        )
        for p in providers
    )
    if not well_formed or not providers:
        raise InvalidConfigError(
            f"invalid providers {providers!r}: expected a list of ONNX Runtime provider names "
            "or (name, options) pairs"
        )
    available = available_providers()
    for provider in providers:
        name = _provider_name(provider)
        if name not in available:
            hint = (
                "install onnxruntime-gpu (with CUDA 12 and cuDNN 9) in place of onnxruntime"
                if name in GPU_PROVIDERS
                else "check the provider name"
            )
            raise BackendUnavailableError(
                f"ONNX Runtime execution provider {name} is not available here (available: "
                f"{', '.join(available)}): {hint}"
            )
    listed = [_provider_name(p) for p in providers]
    return list(providers) if CPU_PROVIDER in listed else [*providers, CPU_PROVIDER]


def _provider_name(provider: ProviderSpec) -> str:
    return provider if isinstance(provider, str) else provider[0]


def _describe_value(value: object) -> str:
    dtype = getattr(value, "dtype", None)
    return f"{type(value).__name__} of {dtype}" if dtype is not None else type(value).__name__
