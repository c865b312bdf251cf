"""Our ONNX exports through ``build_engine`` with a real TensorRT builder, no GPU needed.

TensorRT-RTX (``tensorrt_rtx``, installed with the ``dev`` extra on x86-64 Linux) parses and
builds engines for a named compute capability without a GPU, through the same builder API as
TensorRT 10/11 (strongly typed networks only, like 11.x). Deserializing a plan needs a CUDA
driver (TensorRT-RTX 1.7 returns None without one), so a built plan is checked by what can be
checked here: the network it was built from has our I/O names, shapes and types (recorded at
the build call), the plan carries those names, and ``Runtime.get_engine_validity`` finds its
header well-formed and from this TensorRT. Running the engines needs a GPU: see
test_tensorrt_gpu.py.
"""

from __future__ import annotations

import logging
import shutil
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType, SimpleNamespace

import pytest

from posenet_ros.errors import ModelError
from posenet_ros.gpu import trt_compat
from posenet_ros.gpu.engine_builder import build_engine
from posenet_ros.gpu.engine_cache import EngineCache, TimingCacheFile
from posenet_ros.model.export import ensure_onnx
from posenet_ros.model.weights import ensure_weights

TARGET = "86"  # an Ampere RTX card; any offered capability would do
WORKSPACE = 256 << 20


@pytest.fixture(scope="module")
def trt() -> ModuleType:
    try:
        import tensorrt_rtx
    except ImportError as exc:
        pytest.skip(f"needs TensorRT-RTX (pip install tensorrt-rtx-cu12; x86-64 only): {exc}")
    return tensorrt_rtx


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A private cache with the verified weights, so the FP16 exports stay out of models/."""
    directory = tmp_path_factory.mktemp("models")
    weights = ensure_weights()
    shutil.copy(weights.json_path, directory)
    shutil.copy(weights.bin_path, directory)
    return directory


def _build(trt: ModuleType, onnx: Path, shape: tuple[int, ...], precision: str, **kw) -> bytes:
    return build_engine(
        trt, onnx, shape, precision, WORKSPACE, target_compute_capability=TARGET, **kw
    )


@pytest.fixture
def built_networks(trt, monkeypatch) -> Iterator[list[dict]]:
    """The I/O tensors (name: (shape, dtype)) of each network handed to the builder."""
    networks: list[dict] = []

    real_builder = trt.Builder

    class RecordingBuilder:
        """Delegates to the real builder; records the network it is asked to build."""

        def __init__(self, logger: object) -> None:
            self._builder = real_builder(logger)

        def __getattr__(self, name: str) -> object:
            return getattr(self._builder, name)

        def build_serialized_network(self, network, config):
            tensors = [network.get_input(i) for i in range(network.num_inputs)]
            tensors += [network.get_output(i) for i in range(network.num_outputs)]
            networks.append({t.name: (tuple(t.shape), t.dtype) for t in tensors})
            return self._builder.build_serialized_network(network, config)

    monkeypatch.setattr(trt, "Builder", RecordingBuilder)
    yield networks


def _expected_io(trt: ModuleType, stride: int, size: tuple[int, int], dtype: object) -> dict:
    """Our export's I/O for ``size``: (H - 1) / stride + 1 cells a side, NHWC maps."""
    cells = tuple((side - 1) // stride + 1 for side in size)
    channels = {"heatmap": 17, "offsets": 34, "displacement_fwd": 32, "displacement_bwd": 32}
    io = {"image": ((1, *size, 3), dtype)}
    io.update({name: ((1, *cells, c), dtype) for name, c in channels.items()})
    return io


def _assert_plan_header_is_sound(trt: ModuleType, plan: bytes) -> None:
    """Header well-formed and written by this TensorRT (the GPU checks need a driver)."""
    runtime = trt.Runtime(trt_compat.trt_logger(trt))
    flags = trt.EngineInvalidityDiagnostics
    bad = int(flags.MALFORMED_ENGINE) | int(flags.VERSION_MISMATCH)
    _, diagnostics = runtime.get_engine_validity(plan)
    assert diagnostics & bad == 0, diagnostics
    header = runtime.engine_header_size
    _, zeroed = runtime.get_engine_validity(bytes(header) + plan[header:])
    assert zeroed & bad, "a zeroed header must be reported malformed"


@pytest.mark.parametrize(("stride", "size"), [(16, (257, 257)), (8, (257, 257)), (16, (513, 385))])
def test_fp32_exports_build_with_progress_logged(
    trt, model_dir, built_networks, stride, size, caplog
) -> None:
    onnx = ensure_onnx(stride, size, model_dir)
    with caplog.at_level(logging.INFO, logger="posenet_ros"):
        plan = _build(trt, onnx, (1, *size, 3), "fp32")
    assert len(plan) > 1 << 20  # the weights (~1.3 M parameters in FP32) are in the plan
    assert built_networks == [_expected_io(trt, stride, size, trt.DataType.FLOAT)]
    assert all(name.encode() in plan for name in built_networks[0])
    _assert_plan_header_is_sound(trt, plan)
    assert "TensorRT build: " in caplog.text  # our IProgressMonitor subclass was called
    assert "TensorRT engine built in" in caplog.text


def test_fp16_needs_and_builds_from_the_fp16_export(trt, model_dir, built_networks) -> None:
    assert not trt_compat.supports_weak_fp16(trt)
    assert trt_compat.onnx_precision_for(trt, "fp16") == "fp16"
    shape = (1, 257, 257, 3)
    fp32_onnx = ensure_onnx(16, shape[1:3], model_dir)
    fp16_onnx = ensure_onnx(16, shape[1:3], model_dir, precision="fp16")
    with pytest.raises(ModelError, match="needs an FP16 ONNX export"):
        _build(trt, fp32_onnx, shape, "fp16")
    built_networks.clear()
    fp16_plan = _build(trt, fp16_onnx, shape, "fp16")
    # FP16 inside (checked by build_engine), FP32 at the I/O: the export casts at both ends.
    assert built_networks == [_expected_io(trt, 16, shape[1:3], trt.DataType.FLOAT)]
    _assert_plan_header_is_sound(trt, fp16_plan)
    assert len(fp16_plan) < 0.75 * len(_build(trt, fp32_onnx, shape, "fp32"))  # half weights


def test_dynamic_export_builds_for_the_profile_shape(trt, model_dir, built_networks) -> None:
    plan = _build(trt, ensure_onnx(16, None, model_dir), (1, 241, 321, 3), "fp32")
    (io,) = built_networks
    # The network keeps its dynamic dimensions (-1); the profile fixes them to 241x321.
    assert io["image"] == ((1, -1, -1, 3), trt.DataType.FLOAT)
    assert {name: shape[-1] for name, (shape, _) in io.items()} == {
        "image": 3,
        "heatmap": 17,
        "offsets": 34,
        "displacement_fwd": 32,
        "displacement_bwd": 32,
    }
    _assert_plan_header_is_sound(trt, plan)


@pytest.fixture
def built_profiles(trt, monkeypatch) -> Iterator[list]:
    """The optimisation profiles (real TensorRT objects) the builder creates."""
    profiles: list = []
    real_builder = trt.Builder

    class ProfileRecordingBuilder:
        def __init__(self, logger: object) -> None:
            self._builder = real_builder(logger)

        def __getattr__(self, name: str) -> object:
            return getattr(self._builder, name)

        def create_optimization_profile(self):
            profiles.append(self._builder.create_optimization_profile())
            return profiles[-1]

    monkeypatch.setattr(trt, "Builder", ProfileRecordingBuilder)
    yield profiles


def test_a_batched_export_builds_a_batch_profile_engine(trt, model_dir, built_profiles) -> None:
    size = (129, 129)
    onnx = ensure_onnx(16, size, model_dir, batched=True)
    plan = _build(trt, onnx, (1, *size, 3), "fp32", max_batch=4)
    (profile,) = built_profiles
    # As TensorRT holds them: min one frame, opt = max = four.
    shapes = [tuple(shape) for shape in profile.get_shape("image")]
    assert shapes == [(1, 129, 129, 3), (4, 129, 129, 3), (4, 129, 129, 3)]
    _assert_plan_header_is_sound(trt, plan)
    network = trt.Builder(trt_compat.trt_logger(trt)).create_network(0)
    parser = trt.OnnxParser(network, trt_compat.trt_logger(trt))
    assert parser.parse_from_file(str(onnx))
    assert tuple(network.get_input(0).shape) == (-1, 129, 129, 3)  # the symbolic batch


def test_a_batch_profile_on_a_one_frame_export_is_refused(trt, model_dir) -> None:
    onnx = ensure_onnx(16, (129, 129), model_dir)
    with pytest.raises(ModelError, match=r"takes batches of 1 only; .* up to 4 frames per call"):
        _build(trt, onnx, (1, 129, 129, 3), "fp32", max_batch=4)


@pytest.mark.filterwarnings("ignore:.*Timing cache operations are no-ops")
def test_timing_cache_is_written(trt, model_dir, tmp_path) -> None:
    timing = TimingCacheFile(tmp_path / "timing.cache", EngineCache(tmp_path))
    onnx = ensure_onnx(16, (257, 257), model_dir)
    _build(trt, onnx, (1, 257, 257, 3), "fp32", timing_cache=timing)
    assert timing.path.stat().st_size > 0
    _build(trt, onnx, (1, 257, 257, 3), "fp32", timing_cache=timing)  # read back


def test_a_truncated_export_is_a_model_error_with_the_parser_message(
    trt, model_dir, tmp_path, caplog
) -> None:
    broken = tmp_path / "broken.onnx"
    broken.write_bytes(ensure_onnx(16, (257, 257), model_dir).read_bytes()[:5000])
    with (
        caplog.at_level(logging.ERROR),
        pytest.raises(ModelError, match=r"cannot parse .*broken\.onnx: .+"),
    ):
        _build(trt, broken, (1, 257, 257, 3), "fp32")
    assert "TensorRT: " in caplog.text  # our ILogger subclass forwards TensorRT's own errors


def test_a_shape_other_than_the_export_is_refused(trt, model_dir) -> None:
    with pytest.raises(ModelError, match="failed to build an engine"):
        _build(trt, ensure_onnx(16, (257, 257), model_dir), (1, 513, 513, 3), "fp32")


def test_unknown_build_target_names_the_offered_ones(trt) -> None:
    with pytest.raises(ModelError, match=r"cannot target sm_42; it offers .*sm_86"):
        trt_compat.set_build_target(trt, object(), "42")


def test_tensorrt_proper_builds_only_for_the_present_gpu() -> None:
    plain = SimpleNamespace(__version__="10.9")
    with pytest.raises(ModelError, match="builds only for the GPU it runs on"):
        trt_compat.set_build_target(plain, object(), "87")
