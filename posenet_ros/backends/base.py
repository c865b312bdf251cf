"""The boundary between network and decoder: a backend maps an input tensor to named outputs."""

from __future__ import annotations

from typing import Any, NamedTuple, Protocol


class NetworkOutputs(NamedTuple):
    """The four PoseNet maps for one image, batch dimension removed, layout (H, W, C).

    Arrays are NumPy on CPU backends and CuPy on GPU backends; ``heatmap`` holds logits
    (the decoders apply the sigmoid).
    """

    heatmap: Any  # (H, W, 17)
    offsets: Any  # (H, W, 34): 17 y offsets, then 17 x offsets
    displacement_fwd: Any  # (H, W, 32): 16 y, then 16 x
    displacement_bwd: Any  # (H, W, 32)


class Backend(Protocol):
    """An inference engine for one exported model (one output stride)."""

    name: str
    output_stride: int

    def run(self, image: Any) -> NetworkOutputs:
        """Run the network on a (1, H, W, 3) float32 NHWC tensor already scaled to [-1, 1]."""
        ...

    def describe(self) -> str:
        """One line for logs and diagnostics: engine, device, providers, precision."""
        ...
