"""TensorRT backend: a cached engine for one input size, CuPy buffers, one CUDA stream.

``run`` follows the ``Backend`` protocol (host or device tensor in, CuPy maps out);
``run_frame`` is the fused GPU path: the uint8 frame goes up in one copy and is padded,
resized and normalised by one kernel straight into the engine's input binding.
``run_frames`` does that for up to ``max_batch`` frames (several cameras' frames, say), each
into its slot of the batched input, then runs the engine once for all of them.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from posenet_ros.backends.base import NetworkOutputs
from posenet_ros.config import check_max_batch
from posenet_ros.errors import (
    BackendUnavailableError,
    InvalidConfigError,
    InvalidImageError,
    ModelError,
)
from posenet_ros.files import file_sha256
from posenet_ros.gpu import probe, trt_compat
from posenet_ros.gpu.cuda import gpu_identity, order_after
from posenet_ros.gpu.engine_builder import build_engine
from posenet_ros.gpu.engine_cache import EngineCache, EngineKey, load_or_build
from posenet_ros.gpu.preprocess_cuda import GpuPreprocessor, check_frame
from posenet_ros.gpu.transfer import PinnedStaging
from posenet_ros.gpu.trt_compat import MEMORY_HINT, checked
from posenet_ros.preprocess import InputTransform

log = logging.getLogger(__name__)

PRECISIONS = ("fp32", "fp16")
OUTPUT_STRIDES = (8, 16)
DEFAULT_WORKSPACE_MB = 512


def tensorrt_unavailable_reason() -> str | None:
    """None when TensorRT creates a runtime and CuPy runs a kernel, else what is missing (one
    line); probed once per process (``posenet_ros.gpu.probe``)."""
    return probe.tensorrt_unusable_reason()


def onnx_precision_for(precision: str) -> str:
    """The precision of the ONNX export to build a ``precision`` engine from ("fp32"/"fp16").

    "fp16" only where the installed TensorRT builds strongly typed networks only (no
    ``BuilderFlag.FP16``); elsewhere FP16 engines are built from the FP32 export.
    """
    _check_choice("precision", precision, PRECISIONS)
    if trt_compat.tensorrt_import_error() is not None:
        return "fp32"
    return trt_compat.onnx_precision_for(trt_compat.import_tensorrt(), precision)


class TensorRTBackend:
    """PoseNet through a TensorRT engine built for exactly one input size.

    ``max_batch`` > 1 builds the engine (from the batched export) for 1 to ``max_batch``
    frames per call and sizes the buffers for ``max_batch``; ``run_frames`` uses that.
    Not thread-safe: one instance per thread (each owns a stream and buffers).
    """

    name = "tensorrt"
    fused_preprocessing = True  # has run_frame(image, transform)

    def __init__(
        self,
        onnx_path: str | os.PathLike[str],
        output_stride: int,
        input_size: tuple[int, int],
        precision: str = "fp32",
        engine_cache_dir: str | os.PathLike[str] | None = None,
        workspace_mb: int = DEFAULT_WORKSPACE_MB,
        max_batch: int = 1,
    ) -> None:
        _check_choice("output_stride", output_stride, OUTPUT_STRIDES)
        _check_choice("precision", precision, PRECISIONS)
        height, width = _check_input_size(input_size)
        self.max_batch = check_max_batch(max_batch)  # frames per call (run_frames)
        if not _is_int(workspace_mb) or workspace_mb < 1:
            raise InvalidConfigError(
                f"invalid workspace_mb {workspace_mb!r}: expected an integer >= 1"
            )
        onnx_path = Path(onnx_path)
        if not onnx_path.is_file():
            raise ModelError(f"ONNX model {onnx_path} does not exist")
        reason = tensorrt_unavailable_reason()
        if reason is not None:
            raise BackendUnavailableError(f"backend tensorrt cannot run here: {reason}")

        trt = trt_compat.import_tensorrt()
        cp = probe.import_cupy()
        self._cp = cp
        self.selection_reason = "requested"  # create_backend says why it was chosen
        self.output_stride = output_stride
        self.precision = precision
        self.input_shape = (1, height, width, 3)  # one frame's
        self._gpu = gpu_identity(cp)
        self._trt_version = trt.__version__

        cache = EngineCache(engine_cache_dir)
        key = EngineKey(
            onnx_sha256=file_sha256(onnx_path),
            tensorrt_version=trt.__version__,
            gpu_name=self._gpu.name,
            compute_capability=self._gpu.compute_capability,
            multiprocessors=self._gpu.multiprocessors,
            memory_bytes=self._gpu.memory_bytes,
            precision=precision,
            input_shape=self.input_shape,
            max_batch=self.max_batch,
        )
        self.engine_path = cache.path_for(key)
        # The runtime must outlive the engine.
        self._runtime = checked(trt.Runtime(trt_compat.trt_logger(trt)), "create a runtime")
        self._engine = load_or_build(
            cache,
            key,
            build=lambda: build_engine(
                trt,
                onnx_path,
                self.input_shape,
                precision,
                workspace_mb * 2**20,
                cache.timing_cache(key),
                max_batch=self.max_batch,
            ),
            deserialize=self._runtime.deserialize_cuda_engine,
        )
        self._context = checked(
            self._engine.create_execution_context(),
            f"create an execution context for {self.engine_path}",
            f"{MEMORY_HINT}, or use a smaller input_resolution",
        )
        self._stream = cp.cuda.Stream(non_blocking=True)
        with self._stream:  # memory-pool blocks belong to the stream that uses them
            self._buffers = self._bind_buffers(trt)
        self._preprocessor = GpuPreprocessor(cp, self._stream)
        self._staging = PinnedStaging(self._stream)

    def _bind_buffers(self, trt: Any) -> dict[str, Any]:
        """One device buffer per I/O tensor, bound by name, sized for ``max_batch`` frames
        (the input shape is set to that until a call of fewer frames)."""
        tensors = trt_compat.io_tensors(trt, self._engine)
        inputs = [t for t in tensors if t.is_input]
        outputs = {t.name for t in tensors if not t.is_input}
        if len(inputs) != 1 or outputs != set(NetworkOutputs._fields):
            raise ModelError(
                f"engine {self.engine_path} has inputs {[t.name for t in inputs]} and outputs "
                f"{sorted(outputs)}; expected one image input and {list(NetworkOutputs._fields)}"
            )
        self._input_name = inputs[0].name
        self._batch = 0  # frames the context's input shape is set for
        self._set_batch(self.max_batch)
        buffers = {}
        for tensor in tensors:
            shape = tuple(self._context.get_tensor_shape(tensor.name))
            buffer = self._cp.empty(shape, tensor.dtype)
            if not self._context.set_tensor_address(tensor.name, buffer.data.ptr):
                raise ModelError(
                    f"engine {self.engine_path} refuses a buffer for {tensor.name}: delete the "
                    "file so that it is rebuilt"
                )
            buffers[tensor.name] = buffer
        return buffers

    def _set_batch(self, count: int) -> None:
        """Set the input shape to ``count`` frames (a host-side call; skipped when unchanged)."""
        if count == self._batch:
            return
        shape = (count, *self.input_shape[1:])
        if not self._context.set_input_shape(self._input_name, shape):
            raise ModelError(
                f"engine {self.engine_path} rejects input shape {shape}: delete the "
                "file so that it is rebuilt for this shape"
            )
        self._batch = count

    def run(self, image: Any) -> NetworkOutputs:
        """Run on a (1, H, W, 3) tensor in [-1, 1], NumPy (copied up once) or CuPy."""
        if tuple(getattr(image, "shape", ())) != self.input_shape:
            raise InvalidImageError(
                f"expected an input tensor of shape {self.input_shape}, "
                f"got {getattr(image, 'shape', type(image))}"
            )
        target = self._buffers[self._input_name][:1]
        if isinstance(image, np.ndarray):
            self._staging.to_device(image, target)
        else:
            self._stream.wait_event(self._cp.cuda.get_current_stream().record())
            with self._stream:
                target[...] = image
        return self._infer(1)[0]

    def run_frame(self, image: np.ndarray, transform: InputTransform) -> NetworkOutputs:
        """Fused path: (H, W, 3) uint8 RGB frame -> maps, preprocessing done on the GPU.

        ``transform`` is ``posenet_ros.preprocess.input_transform(H, W, config)``; its input
        size must be the one this engine was built for.
        """
        return self.run_frames([image], [transform])[0]

    def run_frames(
        self, images: Sequence[np.ndarray], transforms: Sequence[InputTransform]
    ) -> list[NetworkOutputs]:
        """``run_frame`` for 1 to ``max_batch`` frames (of any sizes) in one engine call.

        Each frame is uploaded and preprocessed into its slot of the batched input; the maps
        come back per frame, in order. Every frame and transform is checked before any work.
        """
        count = len(images)
        if count != len(transforms):
            raise ValueError(f"{count} frames but {len(transforms)} transforms")
        if not 1 <= count <= self.max_batch:
            raise InvalidConfigError(
                f"this TensorRT engine takes 1 to {self.max_batch} frames per call, got {count}: "
                "split the frames, or recreate the backend with a larger max_batch"
            )
        for index, (image, transform) in enumerate(zip(images, transforms, strict=True)):
            try:
                check_frame(image)
            except InvalidImageError as exc:
                if count == 1:
                    raise
                raise InvalidImageError(f"frame {index + 1} of {count}: {exc}") from exc
            size = (transform.input_height, transform.input_width)
            if (1, *size, 3) != self.input_shape:
                raise InvalidConfigError(
                    f"this TensorRT engine takes {self.input_shape[1]}x{self.input_shape[2]} "
                    f"inputs, the frame needs {size[0]}x{size[1]}: recreate the backend for "
                    "that size"
                )
        batch = self._buffers[self._input_name]
        for index, (image, transform) in enumerate(zip(images, transforms, strict=True)):
            self._preprocessor(image, transform, batch[index : index + 1])
        return self._infer(count)

    def _infer(self, count: int) -> list[NetworkOutputs]:
        """Execute ``count`` frames on our stream, then hand float32 copies over on the
        caller's stream: one copy per map for the whole batch, a view of it per frame."""
        self._set_batch(count)
        if not self._context.execute_async_v3(self._stream.ptr):
            raise ModelError(
                f"TensorRT inference failed ({self.describe()}); see the TensorRT log: "
                f"if it ran out of memory, {MEMORY_HINT}"
            )
        cp = self._cp
        order_after(cp, self._stream)
        # Copies allocated on the caller's stream, so its memory pool owns them; the next
        # inference waits until they are taken before overwriting the bindings.
        maps = [
            self._buffers[name][:count].astype(cp.float32, copy=True)
            for name in NetworkOutputs._fields
        ]
        self._stream.wait_event(cp.cuda.get_current_stream().record())
        return [NetworkOutputs(*(m[index] for m in maps)) for index in range(count)]

    def synchronize(self) -> None:
        """Wait until the device has finished everything queued so far (for timing)."""
        self._stream.synchronize()
        self._cp.cuda.get_current_stream().synchronize()

    def describe(self) -> str:
        size = f"{self.input_shape[1]}x{self.input_shape[2]}"
        batch = f", up to {self.max_batch} frames per call" if self.max_batch > 1 else ""
        return (
            f"tensorrt {self._trt_version} on {self._gpu.describe()}, {self.precision}, "
            f"input {size}{batch}, output stride {self.output_stride}, engine "
            f"{self.engine_path} ({self.selection_reason})"
        )


def _is_int(value: object) -> bool:
    return isinstance(value, (int, np.integer)) and not isinstance(value, bool)


def _check_choice(name: str, value: object, allowed: tuple) -> None:
    if isinstance(value, bool) or value not in allowed:
        raise InvalidConfigError(
            f"invalid {name} {value!r}: expected one of {', '.join(map(str, allowed))}"
        )


def _check_input_size(input_size: object) -> tuple[int, int]:
    valid = (
        isinstance(input_size, (tuple, list))
        and len(input_size) == 2
        and all(_is_int(v) and v >= 1 for v in input_size)
    )
    if not valid:
        raise InvalidConfigError(
            f"invalid input_size {input_size!r}: TensorRT engines are built for one size, "
            "expected (height, width) integers >= 1"
        )
    return int(input_size[0]), int(input_size[1])
