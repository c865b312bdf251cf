"""TensorRT version differences, checked against fake bindings of 8.6, 10.x and 11.x shapes."""

from __future__ import annotations

import enum
import logging
import sys
from types import SimpleNamespace

import numpy as np
import pytest

from posenet_ros.errors import BackendUnavailableError
from posenet_ros.gpu import trt_compat


class DataType(enum.IntEnum):
    FLOAT = 0
    HALF = 1


class Mode(enum.IntEnum):
    INPUT = 1
    OUTPUT = 2


def fake_trt(flags: dict[str, int], fp16_flag: bool, monitor: bool = False) -> SimpleNamespace:
    builder_flags = SimpleNamespace(TF32=1, **({"FP16": 0} if fp16_flag else {}))
    trt = SimpleNamespace(
        __version__="x",
        NetworkDefinitionCreationFlag=SimpleNamespace(**flags),
        BuilderFlag=builder_flags,
        DataType=DataType,
        TensorIOMode=Mode,
        nptype=lambda dtype: {DataType.FLOAT: np.float32, DataType.HALF: np.float16}[dtype],
    )
    if monitor:

        class IProgressMonitor:
            def __init__(self) -> None:
                pass

        trt.IProgressMonitor = IProgressMonitor
    return trt


TRT8 = fake_trt({"EXPLICIT_BATCH": 0}, fp16_flag=True)
TRT10 = fake_trt({"EXPLICIT_BATCH": 0, "STRONGLY_TYPED": 1}, fp16_flag=True, monitor=True)
TRT11 = fake_trt({"STRONGLY_TYPED": 1}, fp16_flag=False, monitor=True)


@pytest.mark.parametrize(
    ("trt", "strongly_typed", "flags"),
    [
        (TRT8, False, 0b01),
        (TRT8, True, 0b01),  # 8.x has no strong typing: explicit batch only
        (TRT10, False, 0b01),
        (TRT10, True, 0b11),
        (TRT11, False, 0b00),
        (TRT11, True, 0b10),
    ],
)
def test_network_flags(trt, strongly_typed, flags) -> None:
    assert trt_compat.network_flags(trt, strongly_typed) == flags


@pytest.mark.parametrize(("trt", "fp16_onnx"), [(TRT8, "fp32"), (TRT10, "fp32"), (TRT11, "fp16")])
def test_fp16_needs_an_fp16_export_only_without_weak_typing(trt, fp16_onnx) -> None:
    assert trt_compat.onnx_precision_for(trt, "fp16") == fp16_onnx
    assert trt_compat.onnx_precision_for(trt, "fp32") == "fp32"
    assert trt_compat.supports_weak_fp16(trt) == (fp16_onnx == "fp32")


def _network(dtypes: list[list[DataType]]) -> SimpleNamespace:
    def layer(outputs):
        return SimpleNamespace(
            num_outputs=len(outputs), get_output=lambda j: SimpleNamespace(dtype=outputs[j])
        )

    layers = [layer(outputs) for outputs in dtypes]
    return SimpleNamespace(num_layers=len(layers), get_layer=lambda i: layers[i])


def test_half_tensors_are_found_in_any_layer() -> None:
    fp32 = [[DataType.FLOAT], [DataType.FLOAT, DataType.FLOAT]]
    assert not trt_compat.network_has_half_tensors(TRT11, _network(fp32))
    assert trt_compat.network_has_half_tensors(TRT11, _network([*fp32, [DataType.HALF]]))


def test_io_tensors_by_name() -> None:
    specs = {
        "image": (Mode.INPUT, DataType.FLOAT, (1, -1, -1, 3)),
        "heatmap": (Mode.OUTPUT, DataType.HALF, (1, -1, -1, 17)),
    }
    names = list(specs)
    engine = SimpleNamespace(
        num_io_tensors=2,
        get_tensor_name=lambda i: names[i],
        get_tensor_mode=lambda n: specs[n][0],
        get_tensor_dtype=lambda n: specs[n][1],
        get_tensor_shape=lambda n: specs[n][2],
    )
    image, heatmap = trt_compat.io_tensors(TRT10, engine)
    assert image == trt_compat.IOTensor("image", True, np.dtype(np.float32), (1, -1, -1, 3))
    assert heatmap == trt_compat.IOTensor("heatmap", False, np.dtype(np.float16), (1, -1, -1, 17))


def test_progress_monitor_only_where_tensorrt_has_one(caplog) -> None:
    assert trt_compat.progress_monitor(TRT8) is None
    monitor = trt_compat.progress_monitor(TRT10)
    with caplog.at_level(logging.DEBUG, logger=trt_compat.__name__):
        monitor.phase_start("Building engine", None, 3)
        monitor.phase_start("Tactic timing", "Building engine", 40)
        assert monitor.step_complete("Tactic timing", 0) is True
        monitor.phase_finish("Tactic timing")
    levels = {r.getMessage(): r.levelno for r in caplog.records}
    assert levels["TensorRT build: Building engine (3 steps)"] == logging.INFO
    assert levels["TensorRT build: Tactic timing (40 steps)"] == logging.DEBUG


def test_missing_tensorrt_is_named(monkeypatch) -> None:
    monkeypatch.setitem(sys.modules, "tensorrt", None)
    reason = trt_compat.tensorrt_import_error()
    assert reason is not None and "TensorRT Python bindings are not importable" in reason
    with pytest.raises(BackendUnavailableError, match="backend tensorrt cannot run"):
        trt_compat.import_tensorrt()
