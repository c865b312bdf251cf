"""A stand-in backend with fixed outputs, shared by the estimator, CLI and bench tests."""

from __future__ import annotations

import numpy as np

from posenet_ros.backends.base import NetworkOutputs

# What ``fixed_outputs`` encodes, written out: part k peaks in the centre cell of the 3x3 map
# (input 33, stride 16) at model-input x = 16 - 3k/8, y = 16 + k/4 (inside the centre cell, so
# the multi-pose traversal lands there too), with logit 4 - 5k/16 (falling with k).
KEYPOINT_X = [16 - 3 * k / 8 for k in range(17)]
KEYPOINT_Y = [16 + k / 4 for k in range(17)]
KEYPOINT_LOGIT = [4 - 5 * k / 16 for k in range(17)]


def fixed_outputs() -> NetworkOutputs:
    """3x3 cells (input 33, stride 16), one pose: ``KEYPOINT_X``/``_Y``/``_LOGIT`` (all exact
    in float32); every other cell has logit -4, and the displacements are zero."""
    heatmap = np.full((3, 3, 17), -4.0, np.float32)
    heatmap[1, 1] = KEYPOINT_LOGIT
    offsets = np.zeros((3, 3, 34), np.float32)
    offsets[1, 1, :17] = [y - 16 for y in KEYPOINT_Y]
    offsets[1, 1, 17:] = [x - 16 for x in KEYPOINT_X]
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
