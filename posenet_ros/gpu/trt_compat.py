"""Every TensorRT version difference in one place (8.6 / JetPack 6.0 through 10.x and 11.x).

Differences are detected by capability (``hasattr`` on the bindings), never by version string:
- 8.x needs the ``EXPLICIT_BATCH`` network flag; 10.x ignores it; later releases may drop it.
- 11.x builds strongly typed networks only: ``BuilderFlag.FP16`` is gone, so FP16 there needs
  an FP16 ONNX export built with ``STRONGLY_TYPED``.
- ``IProgressMonitor`` exists from 10.0; older builds log no progress.
- ``BuilderFlag.TF32`` (on by default) is cleared for "fp32" where it exists.
- TensorRT-RTX (``tensorrt_rtx``, same builder API) can build for a compute capability other
  than the present GPU's (``ComputeCapability``); TensorRT proper builds for the GPU it runs on.
"""

from __future__ import annotations

import functools
import logging
from dataclasses import dataclass
from types import ModuleType
from typing import Any, TypeVar

import numpy as np

from posenet_ros.errors import BackendUnavailableError, ModelError

log = logging.getLogger(__name__)
T = TypeVar("T")
MEMORY_HINT = "free device memory (close other GPU programs) or lower workspace_mb"


def checked(result: T | None, action: str, fix: str = MEMORY_HINT) -> T:
    """``result``, or a ``ModelError`` when a TensorRT call returned None for ``action``."""
    if result is None:
        raise ModelError(f"TensorRT could not {action} (see the TensorRT log): {fix}")
    return result


def tensorrt_import_error() -> str | None:
    """None when the ``tensorrt`` Python bindings import, else why not (one line)."""
    try:
        import tensorrt  # noqa: F401 - optional dependency
    except ImportError as exc:
        return (
            f"the TensorRT Python bindings are not importable ({exc}); install TensorRT "
            "(JetPack ships it; on desktops: pip install tensorrt)"
        )
    return None


def import_tensorrt() -> ModuleType:
    """The ``tensorrt`` module, or ``BackendUnavailableError`` naming what is missing."""
    reason = tensorrt_import_error()
    if reason is not None:
        raise BackendUnavailableError(f"backend tensorrt cannot run: {reason}")
    import tensorrt

    return tensorrt


def supports_weak_fp16(trt: ModuleType) -> bool:
    """True where ``BuilderFlag.FP16`` exists (FP16 kernels from an FP32 network)."""
    return hasattr(trt.BuilderFlag, "FP16")


def onnx_precision_for(trt: ModuleType, precision: str) -> str:
    """The precision of the ONNX export a ``precision`` engine must be built from."""
    return "fp16" if precision == "fp16" and not supports_weak_fp16(trt) else "fp32"


def disable_tf32(trt: ModuleType, config: Any) -> None:
    """Keep "fp32" engines in true FP32: TensorRT enables TF32 tensor cores by default."""
    tf32 = getattr(trt.BuilderFlag, "TF32", None)
    if tf32 is not None:
        config.clear_flag(tf32)


def set_build_target(trt: ModuleType, config: Any, compute_capability: str) -> None:
    """Build for ``compute_capability`` (e.g. "86") instead of the GPU present.

    Only TensorRT-RTX offers this; it lets a machine without a GPU build real engines, which
    is how the ONNX export and ``build_engine`` are checked on such machines.
    """
    targets = getattr(trt, "ComputeCapability", None)
    if targets is None:
        raise ModelError(
            f"TensorRT {trt.__version__} builds only for the GPU it runs on; "
            f"it cannot target sm_{compute_capability}"
        )
    target = getattr(targets, f"SM{compute_capability}", None)
    if target is None:
        offered = sorted(n[2:] for n in dir(targets) if n.startswith("SM"))
        raise ModelError(
            f"TensorRT {trt.__version__} cannot target sm_{compute_capability}; "
            f"it offers sm_{', sm_'.join(offered)}"
        )
    config.num_compute_capabilities = 1
    config.set_compute_capability(target, 0)


def network_flags(trt: ModuleType, strongly_typed: bool) -> int:
    flags = 0
    creation = trt.NetworkDefinitionCreationFlag
    explicit_batch = getattr(creation, "EXPLICIT_BATCH", None)
    if explicit_batch is not None:  # required by 8.x, ignored by 10.x
        flags |= 1 << int(explicit_batch)
    strong = getattr(creation, "STRONGLY_TYPED", None)
    if strongly_typed and strong is not None:  # 11.x: always strongly typed, flag optional
        flags |= 1 << int(strong)
    return flags


def network_has_half_tensors(trt: ModuleType, network: Any) -> bool:
    """True when any layer of a parsed network produces FP16 (an FP16 ONNX export)."""
    for i in range(network.num_layers):
        layer = network.get_layer(i)
        for j in range(layer.num_outputs):
            if layer.get_output(j).dtype == trt.DataType.HALF:
                return True
    return False


@dataclass(frozen=True)
class IOTensor:
    name: str
    is_input: bool
    dtype: np.dtype
    shape: tuple[int, ...]  # -1 for dynamic dimensions


def io_tensors(trt: ModuleType, engine: Any) -> list[IOTensor]:
    """The engine's inputs and outputs through the name-based API (8.5+)."""
    tensors = []
    for i in range(engine.num_io_tensors):
        name = engine.get_tensor_name(i)
        tensors.append(
            IOTensor(
                name=name,
                is_input=engine.get_tensor_mode(name) == trt.TensorIOMode.INPUT,
                dtype=np.dtype(trt.nptype(engine.get_tensor_dtype(name))),
                shape=tuple(engine.get_tensor_shape(name)),
            )
        )
    return tensors


@functools.cache
def trt_logger(trt: ModuleType) -> Any:
    """One process-wide logger (TensorRT expects the same one for builders and runtimes)."""

    class _Logger(trt.ILogger):
        """Forwards TensorRT messages to Python logging."""

        def __init__(self) -> None:
            trt.ILogger.__init__(self)

        def log(self, severity: Any, msg: str) -> None:
            level = {
                trt.ILogger.Severity.INTERNAL_ERROR: logging.ERROR,
                trt.ILogger.Severity.ERROR: logging.ERROR,
                trt.ILogger.Severity.WARNING: logging.WARNING,
                trt.ILogger.Severity.INFO: logging.DEBUG,
            }.get(severity, logging.NOTSET)
            if level:
                log.log(level, "TensorRT: %s", msg)

    return _Logger()


def progress_monitor(trt: ModuleType) -> Any | None:
    """A monitor that logs build phases (top level at INFO), or None before TensorRT 10."""
    if not hasattr(trt, "IProgressMonitor"):
        return None

    class _Progress(trt.IProgressMonitor):
        def __init__(self) -> None:
            trt.IProgressMonitor.__init__(self)

        def phase_start(self, phase_name: str, parent_phase: str | None, num_steps: int) -> None:
            level = logging.INFO if parent_phase is None else logging.DEBUG
            log.log(level, "TensorRT build: %s (%d steps)", phase_name, num_steps)

        def step_complete(self, phase_name: str, step: int) -> bool:
            log.debug("TensorRT build: %s step %d done", phase_name, step + 1)
            return True  # False would cancel the build

        def phase_finish(self, phase_name: str) -> None:
            log.debug("TensorRT build: %s finished", phase_name)

    return _Progress()
