import json
import shutil

import numpy as np
import pytest

from posenet_ros.errors import ModelError
from posenet_ros.model.tfjs_graph import load_graph


def test_reads_the_real_graph(real_weights):
    graph = load_graph(real_weights.json_path)
    assert len(graph.nodes) == 94
    assert len(graph.weights) == 62
    conv0 = next(n for n in graph.nodes if n.name.endswith("Conv2d_0/Relu6"))
    assert conv0.op == "_FusedConv2D"
    assert conv0.inputs == ("image", "Const_55", "Const_54")
    assert conv0.attrs["strides"] == [1, 2, 2, 1]
    assert conv0.attrs["padding"] == "SAME"
    assert conv0.attrs["fused_ops"] == ["BiasAdd", "Relu6"]
    assert conv0.attrs["use_cudnn_on_gpu"] is True
    kernel = graph.weights["Const_55"]
    assert kernel.shape == (3, 3, 3, 24) and kernel.dtype == np.float32
    assert not kernel.flags.writeable
    total = sum(w.size for w in graph.weights.values())
    assert total * 4 == real_weights.bin_path.stat().st_size


@pytest.fixture
def copy_dir(tmp_path, real_weights):
    shutil.copy(real_weights.json_path, tmp_path)
    shutil.copy(real_weights.bin_path, tmp_path)
    return tmp_path


def test_missing_bin(copy_dir):
    (copy_dir / "posenet.bin").unlink()
    with pytest.raises(ModelError, match=r"weights file missing or unreadable: .*posenet\.bin"):
        load_graph(copy_dir / "posenet.json")


@pytest.mark.parametrize("size_change", [-4, -5_000_000, 4])
def test_truncated_or_overlong_bin(copy_dir, size_change):
    path = copy_dir / "posenet.bin"
    data = path.read_bytes()
    path.write_bytes(data[:size_change] if size_change < 0 else data + bytes(size_change))
    with pytest.raises(ModelError, match=r"needs 5032780: truncated or wrong file"):
        load_graph(copy_dir / "posenet.json")


def test_missing_json(tmp_path):
    with pytest.raises(ModelError, match=r"model file not found"):
        load_graph(tmp_path / "model.json")


@pytest.mark.parametrize("text", ["{not json", '{"format": "layers-model"}', "[]", "\xff"])
def test_not_a_graph_model(tmp_path, text):
    (tmp_path / "model.json").write_text(text, encoding="latin-1")
    with pytest.raises(ModelError, match=r"is not a TF\.js graph model"):
        load_graph(tmp_path / "model.json")


def _edit_json(directory, edit):
    path = directory / "posenet.json"
    document = json.loads(path.read_text())
    edit(document)
    path.write_text(json.dumps(document))
    return path


def test_quantised_weights_refused(copy_dir):
    def quantise(doc):
        doc["weightsManifest"][0]["weights"][0]["quantization"] = {"dtype": "uint8"}

    with pytest.raises(ModelError, match=r"quantised weights are not supported"):
        load_graph(_edit_json(copy_dir, quantise))


def test_unknown_dtype_refused(copy_dir):
    def retype(doc):
        doc["weightsManifest"][0]["weights"][3]["dtype"] = "string"

    with pytest.raises(ModelError, match=r"unsupported dtype 'string'"):
        load_graph(_edit_json(copy_dir, retype))


def test_malformed_manifest(copy_dir):
    with pytest.raises(ModelError, match=r"malformed weights manifest"):
        load_graph(_edit_json(copy_dir, lambda doc: doc["weightsManifest"][0].pop("paths")))


def test_malformed_node_attribute(copy_dir):
    def garble(doc):
        doc["modelTopology"]["node"][-1]["attr"]["padding"] = {"s": "*not base64*"}

    with pytest.raises(ModelError, match=r"has a malformed node"):
        load_graph(_edit_json(copy_dir, garble))
