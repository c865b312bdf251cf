"""A slow, independent NumPy interpreter of the TF.js graph JSON (float64), for checking exports.

It reads the JSON and the weights file itself and executes node by node with the TF semantics
(NHWC, SAME padding with the odd pixel at the end, dilations from the node attributes), sharing
no code with the ONNX builder.
"""

from __future__ import annotations

import base64
import json
import math
from pathlib import Path

import numpy as np


def load(json_path: Path) -> tuple[list[dict], dict[str, np.ndarray]]:
    """Nodes (raw JSON) and weights (float64) of a single-shard float32 graph model."""
    document = json.loads(Path(json_path).read_text())
    (group,) = document["weightsManifest"]
    data = np.fromfile(Path(json_path).parent / group["paths"][0], dtype="<f4")
    weights, offset = {}, 0
    for spec in group["weights"]:
        count = math.prod(spec["shape"])
        weights[spec["name"]] = data[offset : offset + count].reshape(spec["shape"]).astype(float)
        offset += count
    return document["modelTopology"]["node"], weights


def set_attr(node: dict, name: str, values: list[int]) -> None:
    """Overwrite a list-of-ints attribute (strides, dilations) of a raw node in place."""
    node["attr"][name] = {"list": {"i": [str(v) for v in values]}}


def run(nodes: list[dict], weights: dict[str, np.ndarray], image: np.ndarray) -> dict:
    """Execute the graph on ``image`` (1, H, W, 3); returns every node's value by name."""
    values: dict[str, np.ndarray] = {}
    for node in nodes:
        op = node["op"]
        if op == "Const":
            values[node["name"]] = weights[node["name"]]
        elif op == "Placeholder":
            values[node["name"]] = image.astype(float)
        elif op in ("_FusedConv2D", "FusedDepthwiseConv2dNative"):
            x, kernel, bias = (values[name] for name in node["input"])
            attr = node["attr"]
            stride = int(attr["strides"]["list"]["i"][1])
            dilation = int(attr["dilations"]["list"]["i"][1])
            assert base64.b64decode(attr["padding"]["s"]) == b"SAME"
            y = _conv(x[0], kernel, stride, dilation, depthwise=op != "_FusedConv2D") + bias
            fused = [base64.b64decode(s).decode() for s in attr["fused_ops"]["list"]["s"]]
            if fused[-1] == "Relu6":
                y = np.minimum(np.maximum(y, 0.0), 6.0)
            values[node["name"]] = y[None]
        else:
            raise NotImplementedError(op)
    return values


def _conv(x: np.ndarray, kernel: np.ndarray, stride: int, dilation: int, depthwise: bool):
    """TF SAME convolution of one (H, W, C) image as a sum over kernel taps."""
    kh, kw = kernel.shape[:2]
    pads = []
    for n, k in ((x.shape[0], kh), (x.shape[1], kw)):
        out = -(-n // stride)
        total = max((out - 1) * stride + (k - 1) * dilation + 1 - n, 0)
        pads.append((total // 2, total - total // 2, out))
    (top, bottom, out_h), (left, right, out_w) = pads
    padded = np.pad(x, ((top, bottom), (left, right), (0, 0)))
    channels = kernel.shape[2] if depthwise else kernel.shape[3]
    result = np.zeros((out_h, out_w, channels))
    for i in range(kh):
        for j in range(kw):
            window = padded[
                i * dilation : i * dilation + (out_h - 1) * stride + 1 : stride,
                j * dilation : j * dilation + (out_w - 1) * stride + 1 : stride,
            ]
            if depthwise:
                result += window * kernel[i, j, :, 0]
            else:
                result += np.einsum("hwc,co->hwo", window, kernel[i, j])
    return result
