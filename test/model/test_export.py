"""The ONNX export against an independent NumPy run of the TF graph, and its cache."""

import copy
import os

import numpy as np
import onnx
import onnxruntime as ort
import pytest
from PIL import Image
from skimage import data

from posenet_ros.errors import InvalidConfigError, ModelError
from posenet_ros.model import export
from posenet_ros.model.export import ensure_onnx
from posenet_ros.model.mobilenet import OUTPUT_NAMES

from . import tf_reference

TF_HEADS = {
    "heatmap": "MobilenetV1/heatmap_2/BiasAdd",
    "offsets": "MobilenetV1/offset_2/BiasAdd",
    "displacement_fwd": "MobilenetV1/displacement_fwd_2/BiasAdd",
    "displacement_bwd": "MobilenetV1/displacement_bwd_2/BiasAdd",
}


def _run(path, image):
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    return dict(zip(OUTPUT_NAMES, session.run(list(OUTPUT_NAMES), {"image": image}), strict=True))


def _astronaut(size):
    pixels = Image.fromarray(data.astronaut()).resize((size, size), Image.BILINEAR)
    return (np.asarray(pixels, dtype=np.float32) / 127.5 - 1.0)[None]


def _stride8_graph(nodes):
    """The TF graph edited by hand the way the reference's stride-8 model differs."""
    nodes = copy.deepcopy(nodes)
    for node in nodes:
        if "Conv2d_6_depthwise/" in node["name"]:
            tf_reference.set_attr(node, "strides", [1, 1, 1, 1])
        if any(f"Conv2d_{block}_depthwise/" in node["name"] for block in range(7, 14)):
            tf_reference.set_attr(node, "dilations", [1, 2, 2, 1])
    return nodes


@pytest.fixture(scope="module")
def reference(real_weights):
    return tf_reference.load(real_weights.json_path)


@pytest.mark.parametrize(
    ("stride", "size", "fixed"),
    [
        (16, (65, 65), False),
        (16, (64, 66), False),
        (16, (65, 65), True),
        (8, (65, 65), False),
        (8, (48, 33), False),
        (8, (65, 65), True),
        (16, (64, 66), True),
    ],
)
def test_matches_numpy_tf_semantics(model_dir, reference, stride, size, fixed):
    nodes, weights = reference
    image = np.random.default_rng(stride).uniform(-1, 1, (1, *size, 3)).astype(np.float32)
    expected = tf_reference.run(_stride8_graph(nodes) if stride == 8 else nodes, weights, image)
    outputs = _run(ensure_onnx(stride, size if fixed else None, model_dir), image)
    for name, tf_name in TF_HEADS.items():
        want = expected[tf_name]
        assert outputs[name].shape == want.shape
        scale = max(1.0, float(np.abs(want).max()))
        np.testing.assert_allclose(outputs[name], want, rtol=0, atol=1e-5 * scale, err_msg=name)


@pytest.mark.parametrize("size", [257, 513])
def test_stride8_every_second_cell_is_the_stride16_output(model_dir, size):
    image = _astronaut(size)
    fine = _run(ensure_onnx(8, None, model_dir), image)
    coarse = _run(ensure_onnx(16, None, model_dir), image)
    for name in OUTPUT_NAMES:
        assert fine[name].shape[1] == 2 * coarse[name].shape[1] - 1
        np.testing.assert_allclose(fine[name][:, ::2, ::2], coarse[name], rtol=0, atol=1e-4)


def test_graph_layout(model_dir):
    model = onnx.load(str(ensure_onnx(16, None, model_dir)))
    onnx.checker.check_model(model, full_check=True)
    assert model.ir_version == export.IR_VERSION
    assert [(o.domain, o.version) for o in model.opset_import] == [("", export.OPSET)]
    (image,) = model.graph.input
    dims = [d.dim_value or d.dim_param for d in image.type.tensor_type.shape.dim]
    assert image.name == "image" and dims == [1, "height", "width", 3]
    assert [o.name for o in model.graph.output] == list(OUTPUT_NAMES)
    channels = [o.type.tensor_type.shape.dim[3].dim_value for o in model.graph.output]
    assert channels == [17, 34, 32, 32]
    ops = [node.op_type for node in model.graph.node]
    assert ops[0] == "Transpose" and ops.count("Transpose") == 5  # in once, once per output
    assert ops.count("Conv") == 27 + 4 and ops.count("Clip") == 27


def test_fixed_size_has_static_shapes_and_explicit_pads(model_dir):
    model = onnx.load(str(ensure_onnx(16, (257, 193), model_dir)))
    dims = [d.dim_value for d in model.graph.output[0].type.tensor_type.shape.dim]
    assert dims == [1, 17, 13, 17]
    for node in model.graph.node:
        if node.op_type == "Conv":
            assert "auto_pad" not in {a.name for a in node.attribute}


def test_fp16_export(model_dir):
    path = ensure_onnx(16, None, model_dir, precision="fp16")
    model = onnx.load(str(path))
    onnx.checker.check_model(model, full_check=True)
    assert {t.data_type for t in model.graph.initializer} == {onnx.TensorProto.FLOAT16}
    io = [*model.graph.input, *model.graph.output]
    assert {v.type.tensor_type.elem_type for v in io} == {onnx.TensorProto.FLOAT}
    image = _astronaut(257)
    half = _run(path, image)
    full = _run(ensure_onnx(16, None, model_dir), image)
    for name in OUTPUT_NAMES:
        scale = float(np.abs(full[name]).max())
        assert np.abs(half[name] - full[name]).max() < 0.05 * scale, name
    peaks = [out["heatmap"][0].reshape(-1, 17).argmax(axis=0) for out in (half, full)]
    assert (peaks[0] == peaks[1]).sum() >= 15  # weak parts may move; 16 of 17 agree here


def test_cache_is_reused(model_dir):
    path = ensure_onnx(16, None, model_dir)
    stamp = path.stat().st_mtime_ns
    os.utime(path, ns=(stamp - 10**9, stamp - 10**9))
    assert ensure_onnx(16, None, model_dir) == path
    assert path.stat().st_mtime_ns == stamp - 10**9
    assert ensure_onnx(8, None, model_dir) != path
    assert ensure_onnx(16, (257, 257), model_dir) != path


def test_stale_exports_are_removed(model_dir, monkeypatch):
    old = ensure_onnx(16, None, model_dir)
    other = ensure_onnx(8, None, model_dir)
    monkeypatch.setattr(export, "EXPORTER_VERSION", export.EXPORTER_VERSION + 1)
    new = ensure_onnx(16, None, model_dir)
    assert new != old and new.exists() and not old.exists() and other.exists()


def test_batched_export_runs_several_frames_as_one_at_a_time_does(model_dir):
    plain = ensure_onnx(16, (129, 129), model_dir)
    batched = ensure_onnx(16, (129, 129), model_dir, batched=True)
    assert plain.name.startswith("posenet_mnv1_075_s16_129x129_fp32_")  # name unchanged
    assert batched.name.startswith("posenet_mnv1_075_s16_batched_129x129_fp32_")
    model = onnx.load(str(batched))
    onnx.checker.check_model(model, full_check=True)
    dims = [
        [d.dim_value or d.dim_param for d in value.type.tensor_type.shape.dim]
        for value in (*model.graph.input, *model.graph.output)
    ]
    assert dims == [
        ["batch", 129, 129, 3],
        ["batch", 9, 9, 17],
        ["batch", 9, 9, 34],
        ["batch", 9, 9, 32],
        ["batch", 9, 9, 32],
    ]
    frames = np.concatenate([_astronaut(129), -_astronaut(129), np.zeros((1, 129, 129, 3))])
    frames = frames.astype(np.float32)
    together = _run(batched, frames)
    for i in range(len(frames)):
        alone = _run(plain, frames[i : i + 1])
        for name in OUTPUT_NAMES:
            assert together[name].shape[0] == len(frames)
            scale = float(np.abs(alone[name]).max())
            np.testing.assert_allclose(together[name][i], alone[name][0], atol=1e-5 * scale)


def test_batched_and_one_frame_exports_do_not_sweep_each_other(model_dir, monkeypatch):
    batched = ensure_onnx(16, (129, 129), model_dir, batched=True)
    plain = ensure_onnx(16, (129, 129), model_dir)
    monkeypatch.setattr(export, "EXPORTER_VERSION", export.EXPORTER_VERSION + 1)
    assert ensure_onnx(16, (129, 129), model_dir) != plain and not plain.exists()
    assert batched.exists()  # the one-frame export's sweep left it
    new_batched = ensure_onnx(16, (129, 129), model_dir, batched=True)
    assert new_batched != batched and not batched.exists()


def _truncate(path):
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])


def _flip_weight_byte(path):
    raw = bytearray(path.read_bytes())
    raw[len(raw) // 2] ^= 0x40
    path.write_bytes(bytes(raw))


def _stale_key(path):
    model = onnx.load(str(path))
    for prop in model.metadata_props:
        if prop.key == "posenet_ros.cache_key":
            prop.value = "something else"
    onnx.save(model, str(path))


@pytest.mark.parametrize(
    "damage",
    [
        _truncate,
        lambda p: p.write_bytes(b""),
        lambda p: p.write_bytes(b"\x08garbage" * 99),
        _flip_weight_byte,
        _stale_key,
    ],
    ids=["truncated", "empty", "garbage", "flipped-weight", "stale-key"],
)
def test_corrupt_cached_export_is_rebuilt(model_dir, damage, caplog):
    path = ensure_onnx(16, None, model_dir)
    good = path.read_bytes()
    damage(path)
    assert ensure_onnx(16, None, model_dir) == path
    assert path.read_bytes() == good
    assert "rebuilding" in caplog.text
    assert not list(model_dir.glob(".*.part"))


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"output_stride": 32}, r"1\.0-multiplier"),
        ({"output_stride": 12}, r"invalid output_stride 12"),
        ({"output_stride": 16, "input_size": (0, 257)}, r"invalid input_size \(0, 257\)"),
        ({"output_stride": 16, "input_size": (257,)}, r"invalid input_size"),
        ({"output_stride": 16, "input_size": "257"}, r"invalid input_size '257'"),
        ({"output_stride": 16, "input_size": (True, 3)}, r"invalid input_size"),
        ({"output_stride": 16, "input_size": (10**6, 3)}, r"invalid input_size"),
        ({"output_stride": 16, "precision": "int8"}, r"invalid precision 'int8'"),
    ],
)
def test_bad_arguments(model_dir, kwargs, message):
    with pytest.raises(InvalidConfigError, match=message):
        ensure_onnx(cache_dir=model_dir, **kwargs)


def test_unwritable_target(tmp_path):
    model = onnx.helper.make_model(onnx.helper.make_graph([], "empty", [], []))
    not_a_dir = tmp_path / "a-file"
    not_a_dir.write_bytes(b"")
    with pytest.raises(ModelError, match=r"cannot write .*POSENET_ROS_MODEL_DIR"):
        export._atomic_write(not_a_dir / "model.onnx", model)
