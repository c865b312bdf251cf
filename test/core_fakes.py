"""A stand-in backend with fixed outputs, shared by the estimator, CLI and bench tests."""

from __future__ import annotations

import numpy as np

from posenet_ros.backends.base import NetworkOutputs


def fixed_outputs() -> NetworkOutputs:
    """3x3 cells (input 33, stride 16): every part peaks in the centre cell, part k at
    (16 + 2k, 16 + k) after its offsets; the peak strength falls with k."""
    heatmap = np.full((3, 3, 17), -4.0, np.float32)
    heatmap[1, 1] = np.linspace(4.0, -1.0, 17)
    offsets = np.zeros((3, 3, 34), np.float32)
    offsets[1, 1, :17] = np.arange(17)
    offsets[1, 1, 17:] = 2 * np.arange(17)
    displacements = np.zeros((3, 3, 32), np.float32)
    return NetworkOutputs(heatmap, offsets, displacements, displacements.copy())


class FakeBackend:
    """Records its inputs and answers every frame with ``fixed_outputs()``."""

    name = "fake"

    def __init__(self, output_stride: int = 16) -> None:
        self.output_stride = output_stride
        self.inputs: list[np.ndarray] = []

    def run(self, image: np.ndarray) -> NetworkOutputs:
        self.inputs.append(image.copy())
        return fixed_outputs()

    def describe(self) -> str:
        return "fake backend"
