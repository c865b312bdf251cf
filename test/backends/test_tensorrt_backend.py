"""TensorRT backend without a GPU: argument checks, one clear error naming what is missing,
and, with TensorRT and CuPy faked at their boundary, every TensorRT call that can fail by
returning None or False, an engine cache that cannot be written, and batches (input shapes
set per call, maps handed out per frame, too many frames refused).

Inference itself is covered by test/gpu/test_tensorrt_gpu.py where TensorRT and a GPU exist.
"""

from __future__ import annotations

import logging
import re
from types import SimpleNamespace

import numpy as np
import pytest

from posenet_ros.backends import tensorrt_backend
from posenet_ros.backends.tensorrt_backend import (
    TensorRTBackend,
    onnx_precision_for,
    tensorrt_unavailable_reason,
)
from posenet_ros.config import EstimatorConfig
from posenet_ros.errors import (
    BackendUnavailableError,
    InvalidConfigError,
    InvalidImageError,
    ModelError,
)
from posenet_ros.gpu.cuda import GpuIdentity
from posenet_ros.gpu.trt_compat import IOTensor
from posenet_ros.preprocess import input_transform


@pytest.fixture
def onnx_file(tmp_path):
    path = tmp_path / "model.onnx"
    path.write_bytes(b"onnx")
    return path


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"output_stride": 32}, "invalid output_stride 32: expected one of 8, 16"),
        ({"output_stride": True}, "invalid output_stride True"),
        ({"precision": "int8"}, "invalid precision 'int8': expected one of fp32, fp16"),
        ({"input_size": None}, "invalid input_size None: TensorRT engines are built for one"),
        ({"input_size": (257,)}, "invalid input_size"),
        ({"input_size": (257, 0)}, "invalid input_size"),
        ({"input_size": (257.0, 257)}, "invalid input_size"),
        ({"workspace_mb": 0}, "invalid workspace_mb 0: expected an integer >= 1"),
        ({"workspace_mb": "1G"}, "invalid workspace_mb '1G'"),
        ({"max_batch": 0}, "invalid max_batch 0: expected an integer in [1, 16]"),
        ({"max_batch": 17}, "invalid max_batch 17: expected an integer in [1, 16]"),
        ({"max_batch": "4"}, "invalid max_batch '4'"),
        ({"max_batch": True}, "invalid max_batch True"),
    ],
)
def test_bad_arguments_are_refused_first(onnx_file, kwargs, message) -> None:
    args = {"onnx_path": onnx_file, "output_stride": 16, "input_size": (257, 257), **kwargs}
    with pytest.raises(InvalidConfigError, match=re.escape(message)):
        TensorRTBackend(**args)


def test_missing_model_is_a_model_error(tmp_path) -> None:
    with pytest.raises(ModelError, match="does not exist"):
        TensorRTBackend(tmp_path / "none.onnx", 16, (257, 257))


def test_reason_comes_from_the_gpu_probe(monkeypatch) -> None:
    monkeypatch.setattr(tensorrt_backend.probe, "tensorrt_unusable_reason", lambda: "no trt")
    assert tensorrt_unavailable_reason() == "no trt"
    monkeypatch.setattr(tensorrt_backend.probe, "tensorrt_unusable_reason", lambda: None)
    assert tensorrt_unavailable_reason() is None


def test_unavailable_here_is_one_clear_error(onnx_file, monkeypatch) -> None:
    monkeypatch.setattr(tensorrt_backend, "tensorrt_unavailable_reason", lambda: "no trt; no gpu")
    with pytest.raises(BackendUnavailableError) as info:
        TensorRTBackend(onnx_file, 16, (257, 257), precision="fp16")
    assert str(info.value) == "backend tensorrt cannot run here: no trt; no gpu"


def test_this_machine_reports_a_one_line_reason() -> None:
    reason = tensorrt_unavailable_reason()
    if reason is None:
        pytest.skip("TensorRT and a CUDA device are present here")
    assert reason and "\n" not in reason


def test_onnx_precision_without_tensorrt(monkeypatch) -> None:
    monkeypatch.setattr(tensorrt_backend.trt_compat, "tensorrt_import_error", lambda: "no trt")
    assert onnx_precision_for("fp16") == "fp32"
    assert onnx_precision_for("fp32") == "fp32"
    with pytest.raises(InvalidConfigError, match="invalid precision 'half'"):
        onnx_precision_for("half")


IO = [
    IOTensor("image", True, np.dtype(np.float32), (1, 257, 257, 3)),
    *(
        IOTensor(name, False, np.dtype(np.float32), (1, 17, 17, c))
        for name, c in (
            ("heatmap", 17),
            ("offsets", 34),
            ("displacement_fwd", 32),
            ("displacement_bwd", 32),
        )
    ),
]


class FakeStream:
    ptr = 1234

    def __enter__(self) -> FakeStream:
        return self

    def __exit__(self, *exc: object) -> None:
        pass

    def record(self) -> str:
        return "event"

    def wait_event(self, event: object) -> None:
        pass


OUTPUTS = ("heatmap", "offsets", "displacement_fwd", "displacement_bwd")


class FakeDeviceBuffer(np.ndarray):
    """A host array standing in for a CuPy device array (``data.ptr`` is its address)."""

    @property
    def data(self) -> SimpleNamespace:  # type: ignore[override]
        return SimpleNamespace(ptr=self.ctypes.data)


class FakeContext:
    """An execution context whose calls succeed unless the test names one that fails.

    Its "engine" writes, for each of the first N frames of the input shape set, output
    number c (1 to 4) = c x the frame's first input value; the rest of the outputs is
    left alone (NaN from allocation).
    """

    def __init__(self, failing: str, memory: dict[int, np.ndarray]) -> None:
        self.failing, self.memory = failing, memory
        self.input_shapes: list[tuple] = []  # every set_input_shape call
        self.executed: list[int] = []  # the batch size of every execution
        self.addresses: dict[str, int] = {}

    def set_input_shape(self, name: str, shape: tuple) -> bool:
        self.input_shapes.append(tuple(shape))
        return self.failing != "set_input_shape"

    def get_tensor_shape(self, name: str) -> tuple:
        frames = self.input_shapes[-1][0]
        return (frames, *next(t.shape for t in IO if t.name == name)[1:])

    def set_tensor_address(self, name: str, address: int) -> bool:
        self.addresses[name] = address
        return self.failing != "set_tensor_address"

    def execute_async_v3(self, stream: int) -> bool:
        if self.failing == "execute_async_v3":
            return False
        frames = self.input_shapes[-1][0]
        self.executed.append(frames)
        image = self.memory[self.addresses["image"]]
        for factor, name in enumerate(OUTPUTS, 1):
            self.memory[self.addresses[name]][:frames] = image[:frames, :1, :1, :1] * factor
        return True


class FakePreprocessor:
    """Fills the frame's slot with the frame's first value (checks the slot as the kernel
    wrapper does: one (1, H, W, 3) contiguous array)."""

    def __init__(self, cp: object, stream: object) -> None:
        pass

    def __call__(self, image: np.ndarray, transform: object, out: FakeDeviceBuffer) -> None:
        assert out.shape == (1, 257, 257, 3) and out.flags.c_contiguous
        out[...] = image[0, 0, 0]


class FakeStaging:
    def __init__(self, stream: object) -> None:
        pass

    def to_device(self, host: np.ndarray, device: FakeDeviceBuffer) -> None:
        assert host.shape == device.shape
        device[...] = host


@pytest.fixture
def fake_gpu(monkeypatch):
    """TensorRT and CuPy faked at their boundary; ``failing`` names the call that fails."""
    state = SimpleNamespace(failing="", builds=0, built_max_batch=[], context=None, memory={})

    def create_context() -> FakeContext | None:
        if state.failing == "create_execution_context":
            return None
        state.context = FakeContext(state.failing, state.memory)
        return state.context

    def empty(shape: tuple, dtype: object) -> FakeDeviceBuffer:
        array = np.full(shape, np.nan, dtype).view(FakeDeviceBuffer)
        state.memory[array.ctypes.data] = array
        return array

    engine = SimpleNamespace(create_execution_context=create_context)
    runtime = SimpleNamespace(deserialize_cuda_engine=lambda blob: engine)
    trt = SimpleNamespace(
        __version__="10.3.0",
        Runtime=lambda logger: None if state.failing == "Runtime" else runtime,
    )
    cp = SimpleNamespace(
        cuda=SimpleNamespace(
            Stream=lambda non_blocking: FakeStream(), get_current_stream=FakeStream
        ),
        empty=empty,
        float32=np.float32,
    )

    def build_engine(trt, onnx, shape, precision, workspace, timing_cache, max_batch) -> bytes:
        state.builds += 1
        state.built_max_batch.append(max_batch)
        timing_cache.save(b"timings")  # as the real builder does after a build
        return b"plan"

    monkeypatch.setattr(tensorrt_backend, "tensorrt_unavailable_reason", lambda: None)
    monkeypatch.setattr(tensorrt_backend.trt_compat, "import_tensorrt", lambda: trt)
    monkeypatch.setattr(tensorrt_backend.trt_compat, "trt_logger", lambda trt: "logger")
    monkeypatch.setattr(tensorrt_backend.trt_compat, "io_tensors", lambda trt, engine: IO)
    monkeypatch.setattr(tensorrt_backend.probe, "import_cupy", lambda: cp)
    monkeypatch.setattr(
        tensorrt_backend, "gpu_identity", lambda cp: GpuIdentity("Orin", "87", 8, 7620 << 20)
    )
    monkeypatch.setattr(tensorrt_backend, "build_engine", build_engine)
    monkeypatch.setattr(tensorrt_backend, "GpuPreprocessor", FakePreprocessor)
    monkeypatch.setattr(tensorrt_backend, "PinnedStaging", FakeStaging)
    return state


def test_the_fakes_build_a_working_backend(onnx_file, tmp_path, fake_gpu) -> None:
    backend = TensorRTBackend(onnx_file, 16, (257, 257), engine_cache_dir=tmp_path)
    assert fake_gpu.builds == 1 and backend.engine_path.is_file()
    assert "Orin (sm_87, 8 SMs, 7620 MiB)" in backend.describe()
    assert "(requested)" in backend.describe()


@pytest.mark.parametrize(
    ("failing", "message"),
    [
        ("Runtime", r"could not create a runtime .*free device memory"),
        (
            "create_execution_context",
            r"could not create an execution context for .*\.engine \(see the TensorRT log\): "
            r"free device memory \(close other GPU programs\) or lower workspace_mb, or use a "
            r"smaller input_resolution",
        ),
        ("set_input_shape", r"rejects input shape \(1, 257, 257, 3\): delete the file"),
        ("set_tensor_address", r"refuses a buffer for image: delete the file"),
    ],
)
def test_a_tensorrt_call_failing_at_construction_says_what_to_do(
    onnx_file, tmp_path, fake_gpu, failing, message
) -> None:
    fake_gpu.failing = failing
    with pytest.raises(ModelError, match=message):
        TensorRTBackend(onnx_file, 16, (257, 257), engine_cache_dir=tmp_path)


def test_failed_inference_is_a_model_error(onnx_file, tmp_path, fake_gpu) -> None:
    fake_gpu.failing = "execute_async_v3"
    backend = TensorRTBackend(onnx_file, 16, (257, 257), engine_cache_dir=tmp_path)
    with pytest.raises(ModelError, match=r"TensorRT inference failed .*free device memory"):
        backend.run(FakeDeviceBuffer((1, 257, 257, 3), np.float32))


def test_an_unwritable_engine_dir_keeps_the_engine_in_memory(
    onnx_file, tmp_path, fake_gpu, caplog
) -> None:
    (tmp_path / "file").write_text("a file where the engine dir should be")
    with caplog.at_level(logging.WARNING):
        backend = TensorRTBackend(onnx_file, 16, (257, 257), engine_cache_dir=tmp_path / "file")
    assert fake_gpu.builds == 1 and not backend.engine_path.exists()
    warnings = [r for r in caplog.records if r.levelno >= logging.WARNING]
    assert len(warnings) == 1  # the timing cache and the engine: one warning
    assert "set POSENET_ROS_ENGINE_DIR to a writable directory" in warnings[0].getMessage()


def _frames(*values: int) -> tuple[list[np.ndarray], list]:
    """Frames of different sizes, each filled with its value, and their transforms."""
    config = EstimatorConfig(input_resolution=257)
    frames = [np.full((120 + 10 * i, 160, 3), v, np.uint8) for i, v in enumerate(values)]
    return frames, [input_transform(*f.shape[:2], config) for f in frames]


def _assert_maps_of(maps, value: int) -> None:
    """The fake engine's maps for a frame of ``value``: map c holds c x value everywhere."""
    channels = {"heatmap": 17, "offsets": 34, "displacement_fwd": 32, "displacement_bwd": 32}
    for factor, name in enumerate(OUTPUTS, 1):
        array = getattr(maps, name)
        assert array.shape == (17, 17, channels[name]) and array.dtype == np.float32
        assert np.all(array == factor * value), (name, np.unique(array))


def test_a_batch_engine_is_built_keyed_and_bound_for_max_batch(onnx_file, tmp_path, fake_gpu):
    backend = TensorRTBackend(onnx_file, 16, (257, 257), engine_cache_dir=tmp_path, max_batch=4)
    assert backend.max_batch == 4 and backend.input_shape == (1, 257, 257, 3)
    assert fake_gpu.built_max_batch == [4]
    assert "_batch4_" in backend.engine_path.name
    assert fake_gpu.context.input_shapes == [(4, 257, 257, 3)]
    # Every binding holds four frames.
    bound = {name: fake_gpu.memory[ptr].shape for name, ptr in fake_gpu.context.addresses.items()}
    assert bound == {
        "image": (4, 257, 257, 3),
        "heatmap": (4, 17, 17, 17),
        "offsets": (4, 17, 17, 34),
        "displacement_fwd": (4, 17, 17, 32),
        "displacement_bwd": (4, 17, 17, 32),
    }
    assert "input 257x257, up to 4 frames per call," in backend.describe()


def test_run_frames_sets_the_input_shape_and_hands_each_frame_its_maps(
    onnx_file, tmp_path, fake_gpu
) -> None:
    backend = TensorRTBackend(onnx_file, 16, (257, 257), engine_cache_dir=tmp_path, max_batch=4)
    context = fake_gpu.context
    frames, transforms = _frames(10, 20, 30)
    maps = backend.run_frames(frames, transforms)
    assert context.input_shapes[1:] == [(3, 257, 257, 3)] and context.executed == [3]
    assert len(maps) == 3
    for value, frame_maps in zip((10, 20, 30), maps, strict=True):
        _assert_maps_of(frame_maps, value)

    (single,) = backend.run_frames(*_frames(40))
    _assert_maps_of(single, 40)
    _assert_maps_of(backend.run_frame(*(x[0] for x in _frames(50))), 50)
    four = backend.run_frames(*_frames(1, 2, 3, 4))
    assert [m.heatmap[0, 0, 0] for m in four] == [1, 2, 3, 4]
    # Shapes are set when the frame count changes only: 3, 1 (twice: no new call), 4.
    assert context.input_shapes[1:] == [(3, 257, 257, 3), (1, 257, 257, 3), (4, 257, 257, 3)]
    assert context.executed == [3, 1, 1, 4]
    for value, frame_maps in zip((10, 20, 30), maps, strict=True):
        _assert_maps_of(frame_maps, value)  # the first call's maps outlive later calls


def test_run_takes_one_tensor_on_a_batch_engine(onnx_file, tmp_path, fake_gpu) -> None:
    backend = TensorRTBackend(onnx_file, 16, (257, 257), engine_cache_dir=tmp_path, max_batch=2)
    _assert_maps_of(backend.run(np.full((1, 257, 257, 3), 0.5, np.float32)), 0.5)
    assert fake_gpu.context.input_shapes == [(2, 257, 257, 3), (1, 257, 257, 3)]
    assert fake_gpu.context.executed == [1]


@pytest.mark.parametrize("count", [0, 3])
def test_run_frames_refuses_more_frames_than_the_engine_takes(
    onnx_file, tmp_path, fake_gpu, count
) -> None:
    backend = TensorRTBackend(onnx_file, 16, (257, 257), engine_cache_dir=tmp_path, max_batch=2)
    frames, transforms = _frames(*range(1, count + 1))
    with pytest.raises(InvalidConfigError, match=f"takes 1 to 2 frames per call, got {count}"):
        backend.run_frames(frames, transforms)
    assert fake_gpu.context.executed == []


def test_a_one_frame_engine_is_todays(onnx_file, tmp_path, fake_gpu) -> None:
    backend = TensorRTBackend(onnx_file, 16, (257, 257), engine_cache_dir=tmp_path)
    assert backend.max_batch == 1 and fake_gpu.built_max_batch == [1]
    assert backend.engine_path.name.startswith("posenet_1x257x257x3_fp32_")
    _assert_maps_of(backend.run_frame(*(x[0] for x in _frames(7))), 7)
    assert fake_gpu.context.input_shapes == [(1, 257, 257, 3)]  # set once, at binding
    with pytest.raises(InvalidConfigError, match="takes 1 to 1 frames per call, got 2"):
        backend.run_frames(*_frames(1, 2))
    assert "frames per call" not in backend.describe()


def test_run_frames_checks_every_frame_before_any_work(onnx_file, tmp_path, fake_gpu) -> None:
    backend = TensorRTBackend(onnx_file, 16, (257, 257), engine_cache_dir=tmp_path, max_batch=4)
    frames, transforms = _frames(1, 2, 3)
    frames[1] = frames[1].astype(np.float32)
    with pytest.raises(InvalidImageError, match=r"frame 2 of 3: expected a \(H, W, 3\) uint8"):
        backend.run_frames(frames, transforms)
    frames, transforms = _frames(1, 2)
    transforms[1] = input_transform(120, 160, EstimatorConfig(input_resolution=513))
    with pytest.raises(InvalidConfigError, match="takes 257x257 inputs, the frame needs 513x513"):
        backend.run_frames(frames, transforms)
    with pytest.raises(ValueError, match="2 frames but 1 transforms"):
        backend.run_frames(frames, transforms[:1])
    with pytest.raises(InvalidImageError, match=r"^image is empty: shape \(0, 160, 3\)"):
        backend.run_frame(frames[0][:0], transforms[0])  # one frame: the message as it was
    image = fake_gpu.memory[fake_gpu.context.addresses["image"]]
    assert np.isnan(image).all() and fake_gpu.context.executed == []  # nothing written or run
