"""The estimator's device warm-up: a GPU path whose first kernel fails (CuPy without NVRTC or
CUDA headers) is a BackendUnavailableError with the reason, and ``auto`` then runs on ONNX
Runtime saying why. The device is faked at the backend boundary."""

from __future__ import annotations

import logging

import numpy as np
import pytest
from core_fakes import fixed_outputs

from posenet_ros.backends import factory
from posenet_ros.backends.onnxruntime_backend import OnnxRuntimeBackend
from posenet_ros.config import EstimatorConfig
from posenet_ros.errors import BackendUnavailableError
from posenet_ros.estimator import PoseEstimator

CONFIG = EstimatorConfig(input_resolution=33, output_stride=16)
NO_HEADERS = RuntimeError("Failed to find CUDA headers.\nSet CUDA_PATH")


class FailingMaps:
    """Network maps whose first use raises, as a decoder kernel that cannot compile does."""

    def __getattr__(self, name: str) -> object:
        raise RuntimeError("nvrtc: error: failed to open libnvrtc-builtins.so.12")


class FakeDeviceBackend:
    """A fixed-size backend with a device path (``run_frame``) that fails where told."""

    name = "tensorrt"
    output_stride = 16
    input_shape = (1, 33, 33, 3)

    def __init__(self, fail_in: str = "") -> None:
        self.fail_in = fail_in
        self.frames: list[np.ndarray] = []

    def run(self, image: np.ndarray) -> object:
        return fixed_outputs()

    def run_frame(self, image: np.ndarray, transform: object) -> object:
        self.frames.append(image)
        if self.fail_in == "preprocess":
            raise NO_HEADERS
        if self.fail_in == "decode":
            return type(fixed_outputs())(*(FailingMaps() for _ in range(4)))
        return fixed_outputs()

    def describe(self) -> str:
        return "fake tensorrt on Orin"


def test_a_working_device_path_is_warmed_up_with_one_blank_frame() -> None:
    backend = FakeDeviceBackend()
    estimator = PoseEstimator(CONFIG, backend)
    assert estimator.backend is backend
    (frame,) = backend.frames
    assert frame.shape == (33, 33, 3) and frame.dtype == np.uint8 and not frame.any()


@pytest.mark.parametrize(
    ("fail_in", "reason"),
    [
        ("preprocess", "RuntimeError: Failed to find CUDA headers."),
        ("decode", "RuntimeError: nvrtc: error: failed to open libnvrtc-builtins.so.12"),
    ],
)
def test_a_failing_first_kernel_is_backend_unavailable(fail_in: str, reason: str) -> None:
    with pytest.raises(BackendUnavailableError) as info:
        PoseEstimator(CONFIG, FakeDeviceBackend(fail_in))
    assert str(info.value) == (
        f"the GPU path failed its first frame ({reason}) on fake tensorrt on Orin"
    )


@pytest.fixture
def creates(monkeypatch: pytest.MonkeyPatch) -> list[tuple]:
    """``create_backend`` answers with a device backend whose first kernel fails."""
    calls: list[tuple] = []

    def create_backend(name: str, stride: int, **kwargs: object) -> FakeDeviceBackend:
        calls.append((name, stride, kwargs))
        return FakeDeviceBackend("preprocess")

    monkeypatch.setattr(factory, "create_backend", create_backend)
    monkeypatch.setattr(factory, "available_providers", lambda: ["CPUExecutionProvider"])
    return calls


def test_auto_falls_back_to_onnxruntime_saying_why(creates: list, caplog) -> None:
    with caplog.at_level(logging.WARNING, logger="posenet_ros.backends.factory"):
        estimator = PoseEstimator(CONFIG.with_changes(backend="auto", precision="fp16"))
    assert creates == [("auto", 16, {"input_size": (33, 33), "precision": "fp16"})]
    backend = estimator.backend
    assert isinstance(backend, OnnxRuntimeBackend)
    assert backend.selection_reason == (
        "auto: TensorRT unavailable (the GPU path failed its first frame (RuntimeError: Failed "
        "to find CUDA headers.) on fake tensorrt on Orin); onnxruntime has no "
        "CUDAExecutionProvider (onnxruntime-gpu not installed); ONNX Runtime CPU"
    )
    assert backend.selection_reason in caplog.text  # logged as a warning
    # The ONNX Runtime model follows each frame: a new input size needs no new estimator.
    assert not estimator.needs_rebuild(estimator.config.with_changes(input_resolution=65))
    assert isinstance(estimator.estimate(np.zeros((40, 60, 3), np.uint8)), list)  # it runs


def test_a_requested_tensorrt_does_not_fall_back(creates: list) -> None:
    with pytest.raises(BackendUnavailableError, match="Failed to find CUDA headers"):
        PoseEstimator(CONFIG.with_changes(backend="tensorrt"))
