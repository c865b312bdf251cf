"""The parity matrix: every test photo x resolution x stride x mode x flip, and the tolerances."""

from __future__ import annotations

import itertools
from dataclasses import dataclass

from posenet_ros.config import EstimatorConfig
from posenet_ros.reference.images import IMAGES

KEYPOINT_TOLERANCE_PX = 0.5
SCORE_TOLERANCE = 1e-3


def parity_config(
    input_resolution: int, output_stride: int, mode: str, flip_horizontal: bool
) -> EstimatorConfig:
    """Our side runs ONNX Runtime on CPU; the reference ignores ``backend``."""
    return EstimatorConfig(
        mode=mode,
        input_resolution=input_resolution,
        output_stride=output_stride,
        flip_horizontal=flip_horizontal,
        backend="onnxruntime",
    ).validated()


@dataclass(frozen=True, slots=True)
class ParityCase:
    image: str
    input_resolution: int
    output_stride: int
    mode: str
    flip_horizontal: bool

    @property
    def settings(self) -> tuple[int, int, str, bool]:
        return (self.input_resolution, self.output_stride, self.mode, self.flip_horizontal)

    @property
    def config(self) -> EstimatorConfig:
        return parity_config(*self.settings)

    def __str__(self) -> str:
        flip = "-flip" if self.flip_horizontal else ""
        return f"{self.image}-{self.input_resolution}-s{self.output_stride}-{self.mode}{flip}"


CASES = tuple(
    ParityCase(*values)
    for values in itertools.product(IMAGES, (257, 513), (16, 8), ("single", "multi"), (False, True))
)
