"""MobileNetV1 as a list of convolutions, read from the graph and set to an output stride.

The shipped graph runs at output stride 16. Stride 8 follows the reference's MobileNet
schedule (tfjs-models posenet ``toOutputStridedLayers``): once the running stride reaches the
target, each later stride-2 layer runs at stride 1 and the spatial convolutions after it use
the accumulated dilation rate instead. Same weights, so every second stride-8 cell equals the
stride-16 cell.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Literal

import numpy as np

from posenet_ros.config import check_output_stride
from posenet_ros.errors import InvalidConfigError, ModelError
from posenet_ros.model.tfjs_graph import GraphNode, TfjsGraph

# TF head node -> network output name (the names the ONNX export and the backends use).
HEAD_OUTPUTS = {
    "MobilenetV1/heatmap_2/BiasAdd": "heatmap",
    "MobilenetV1/offset_2/BiasAdd": "offsets",
    "MobilenetV1/displacement_fwd_2/BiasAdd": "displacement_fwd",
    "MobilenetV1/displacement_bwd_2/BiasAdd": "displacement_bwd",
}
OUTPUT_NAMES = tuple(HEAD_OUTPUTS.values())

_CONV_OPS = {"_FusedConv2D": "conv", "FusedDepthwiseConv2dNative": "depthwise"}


@dataclass(frozen=True, slots=True)
class ConvLayer:
    """One fused convolution: conv (any kernel, incl. 1x1) or depthwise, + bias, + Relu6.

    ``kernel`` keeps the TF layout: (kh, kw, in, out) for conv, (kh, kw, channels, 1) for
    depthwise.
    """

    name: str
    kind: Literal["conv", "depthwise"]
    kernel: np.ndarray
    bias: np.ndarray
    stride: int
    dilation: int
    relu6: bool

    @property
    def out_channels(self) -> int:
        """Channels this layer produces."""
        return self.kernel.shape[2] if self.kind == "depthwise" else self.kernel.shape[3]


@dataclass(frozen=True, slots=True)
class MobileNetSpec:
    """The network at one output stride: input name, trunk layers in order, the four heads."""

    input_name: str
    trunk: tuple[ConvLayer, ...]
    heads: dict[str, ConvLayer]  # output name -> head layer, in OUTPUT_NAMES order
    output_stride: int


def build_spec(graph: TfjsGraph, output_stride: int) -> MobileNetSpec:
    """Read the layer chain from ``graph`` and set strides and dilations for ``output_stride``."""
    check_output_stride(output_stride)
    input_name, trunk, heads = _read_layers(graph)
    native_stride = int(np.prod([layer.stride for layer in trunk]))
    if output_stride > native_stride:
        raise InvalidConfigError(
            f"invalid output_stride {output_stride}: this model reaches at most {native_stride}"
        )
    return MobileNetSpec(
        input_name=input_name,
        trunk=_to_output_stride(trunk, output_stride),
        heads=heads,
        output_stride=output_stride,
    )


def _to_output_stride(trunk: tuple[ConvLayer, ...], output_stride: int) -> tuple[ConvLayer, ...]:
    current, rate = 1, 1
    layers = []
    for layer in trunk:
        if current == output_stride:
            spatial = layer.kernel.shape[0] > 1 or layer.kernel.shape[1] > 1
            layers.append(replace(layer, stride=1, dilation=rate if spatial else 1))
            rate *= layer.stride
        else:
            layers.append(layer)
            current *= layer.stride
    return tuple(layers)


def _read_layers(graph: TfjsGraph) -> tuple[str, tuple[ConvLayer, ...], dict[str, ConvLayer]]:
    """Follow the single chain from the input placeholder to the node feeding the four heads."""
    placeholders = [node for node in graph.nodes if node.op == "Placeholder"]
    if len(placeholders) != 1:
        raise ModelError(f"expected one graph input, found {len(placeholders)}")
    consumers: dict[str, list[GraphNode]] = {}
    for node in graph.nodes:
        for source in node.inputs:
            consumers.setdefault(source.split(":", 1)[0], []).append(node)
    trunk: list[ConvLayer] = []
    current = placeholders[0].name
    while len(consumers.get(current, ())) == 1:
        node = consumers[current][0]
        trunk.append(_conv_layer(node, graph))
        current = node.name
    head_nodes = {node.name: node for node in consumers.get(current, ())}
    if not trunk or set(head_nodes) != set(HEAD_OUTPUTS):
        raise ModelError(
            f"unexpected graph: the trunk ends at {current!r} feeding {sorted(head_nodes)}, "
            f"expected the heads {sorted(HEAD_OUTPUTS)}"
        )
    heads = {HEAD_OUTPUTS[name]: _conv_layer(head_nodes[name], graph) for name in HEAD_OUTPUTS}
    return placeholders[0].name, tuple(trunk), heads


def _conv_layer(node: GraphNode, graph: TfjsGraph) -> ConvLayer:
    kind = _CONV_OPS.get(node.op)
    attrs = node.attrs
    fused = attrs.get("fused_ops", [])
    problems = []
    if kind is None:
        problems.append(f"op {node.op}")
    if len(node.inputs) != 3:
        problems.append(f"{len(node.inputs)} inputs")
    if fused not in (["BiasAdd"], ["BiasAdd", "Relu6"]):
        problems.append(f"fused ops {fused}")
    if attrs.get("padding") != "SAME" or attrs.get("data_format", "NHWC") != "NHWC":
        problems.append(f"padding {attrs.get('padding')} / layout {attrs.get('data_format')}")
    strides = attrs.get("strides", [1, 1, 1, 1])
    if len(strides) != 4 or strides[1] != strides[2] or strides[0] != 1 or strides[3] != 1:
        problems.append(f"strides {strides}")
    if any(d != 1 for d in attrs.get("dilations", [1, 1, 1, 1])):
        problems.append(f"dilations {attrs.get('dilations')}")
    if problems:
        raise ModelError(f"unsupported layer {node.name}: {', '.join(problems)}")
    try:
        kernel = graph.weights[node.inputs[1]]
        bias = graph.weights[node.inputs[2]]
    except KeyError as exc:
        raise ModelError(
            f"layer {node.name} uses a weight missing from the manifest: {exc}"
        ) from exc
    channels = kernel.shape[2 if kind == "depthwise" else 3] if kernel.ndim == 4 else -1
    if channels < 0 or bias.shape != (channels,):
        raise ModelError(f"layer {node.name} has kernel {kernel.shape} and bias {bias.shape}")
    return ConvLayer(
        name=node.name,
        kind=kind,  # type: ignore[arg-type]  # checked against _CONV_OPS above
        kernel=kernel,
        bias=bias,
        stride=strides[1],
        dilation=1,
        relu6=fused[-1] == "Relu6",
    )
