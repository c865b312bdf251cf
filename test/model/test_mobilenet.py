import dataclasses

import pytest

from posenet_ros.errors import InvalidConfigError, ModelError
from posenet_ros.model.mobilenet import OUTPUT_NAMES, build_spec, check_output_stride
from posenet_ros.model.tfjs_graph import load_graph


@pytest.fixture(scope="module")
def graph(real_weights):
    return load_graph(real_weights.json_path)


def _depthwise_schedule(spec):
    return [(layer.stride, layer.dilation) for layer in spec.trunk if layer.kind == "depthwise"]


def test_stride_16_is_the_graph_as_shipped(graph):
    spec = build_spec(graph, 16)
    assert spec.input_name == "image" and spec.output_stride == 16
    assert len(spec.trunk) == 27
    assert (spec.trunk[0].kind, spec.trunk[0].stride) == ("conv", 2)
    # blocks 1..13: stride 2 at 2, 4, 6 (block 12 stays 1 in the 0.75 model), no dilation
    expected = [(2 if block in (2, 4, 6) else 1, 1) for block in range(1, 14)]
    assert _depthwise_schedule(spec) == expected
    assert all(layer.relu6 for layer in spec.trunk)
    assert list(spec.heads) == list(OUTPUT_NAMES)
    assert [h.out_channels for h in spec.heads.values()] == [17, 34, 32, 32]
    assert not any(h.relu6 for h in spec.heads.values())


def test_stride_8_dilates_after_block_6(graph):
    spec = build_spec(graph, 8)
    expected = [(1, 1), (2, 1), (1, 1), (2, 1), (1, 1), (1, 1)] + [(1, 2)] * 7
    assert _depthwise_schedule(spec) == expected
    pointwise = [layer for layer in spec.trunk if layer.kind == "conv"]
    assert all(layer.stride == 1 and layer.dilation == 1 for layer in pointwise[1:])


def test_stride_32_refused_with_reason(graph):
    with pytest.raises(InvalidConfigError, match=r"1\.0-multiplier model.*8 and 16 only"):
        build_spec(graph, 32)


@pytest.mark.parametrize("stride", [12, 4, 0, -16, 16.0, "16", True, None])
def test_bad_strides(stride):
    with pytest.raises(InvalidConfigError, match=r"invalid output_stride .*: expected 8 or 16"):
        check_output_stride(stride)


def _with_node(graph, name, **changes):
    nodes = tuple(dataclasses.replace(n, **changes) if n.name == name else n for n in graph.nodes)
    return dataclasses.replace(graph, nodes=nodes)


def test_unsupported_op_refused(graph):
    name = "MobilenetV1/MobilenetV1/Conv2d_3_pointwise/Relu6"
    with pytest.raises(ModelError, match=r"unsupported layer .*Conv2d_3_pointwise.*op MatMul"):
        build_spec(_with_node(graph, name, op="MatMul"), 16)


def test_unexpected_attributes_refused(graph):
    name = "MobilenetV1/MobilenetV1/Conv2d_5_depthwise/BatchNorm/batchnorm/add_1/conv"
    node = next(n for n in graph.nodes if n.name == name)
    attrs = {**node.attrs, "padding": "VALID", "fused_ops": ["BiasAdd", "Relu"]}
    with pytest.raises(ModelError, match=r"fused ops \['BiasAdd', 'Relu'\].*padding VALID"):
        build_spec(_with_node(graph, name, attrs=attrs), 16)


def test_missing_head_refused(graph):
    nodes = tuple(n for n in graph.nodes if "offset_2" not in n.name)
    with pytest.raises(ModelError, match=r"expected the heads"):
        build_spec(dataclasses.replace(graph, nodes=nodes), 16)


def test_missing_weight_refused(graph):
    weights = {k: v for k, v in graph.weights.items() if k != "Const_55"}
    with pytest.raises(ModelError, match=r"weight missing from the manifest: 'Const_55'"):
        build_spec(dataclasses.replace(graph, weights=weights), 16)
