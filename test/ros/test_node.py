"""The real posenet_node process over DDS: poses, headers, encodings, live parameters, bad frames.

Expected poses come from the core ``PoseEstimator`` run here on the same pixels with the same
configuration, so "takes effect" means "the node now gives exactly what the core gives".
"""

from __future__ import annotations

import array
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from .requirements import require_ros_build

require_ros_build()

from rclpy.parameter import Parameter  # noqa: E402
from rclpy.serialization import serialize_message  # noqa: E402

from posenet_ros.config import REBUILD_FIELDS  # noqa: E402
from posenet_ros.estimator import PoseEstimator  # noqa: E402
from posenet_ros.image_io import load_image  # noqa: E402
from posenet_ros.ros.parameters import PARAMETERS, estimator_config  # noqa: E402

from .harness import DATA_DIR, wait_stamped  # noqa: E402

DEFAULTS = {spec.name: spec.default for spec in PARAMETERS}


@pytest.fixture(autouse=True)
def defaults_restored(node, client):
    """Every test starts and ends with the node alive and on its default parameters."""
    yield
    assert node.alive(), node.log()
    results = client.set_parameters(**DEFAULTS)
    assert all(r.successful for r in results), [r.reason for r in results]
    client.wait_until_serving()


@pytest.fixture(scope="module")
def people() -> np.ndarray:
    """Two people side by side, so that multi-pose parameters matter."""
    astronaut = load_image(DATA_DIR / "astronaut.jpg")
    return np.hstack([astronaut, load_image(DATA_DIR / "astronaut_mirrored.jpg")])


_estimators: dict[tuple, PoseEstimator] = {}


def core_poses(rgb: np.ndarray, **changes) -> list:
    config = estimator_config(DEFAULTS | changes)
    key = tuple(getattr(config, name) for name in sorted(REBUILD_FIELDS))
    if key not in _estimators:
        _estimators[key] = PoseEstimator(config)
    estimator = _estimators[key]
    estimator.set_config(config)
    return estimator.estimate(rgb)


def as_array(msg_pose) -> np.ndarray:
    return np.array([[k.x, k.y, k.score] for k in msg_pose.keypoints], dtype=np.float64)


def assert_same_poses(msg, expected) -> None:
    """Same poses as the core, up to the float32 of the message fields."""
    assert len(msg.poses) == len(expected)
    for got, want in zip(msg.poses, expected, strict=True):
        assert got.score == pytest.approx(want.score, rel=1e-6, abs=1e-7)
        assert [k.id for k in got.keypoints] == list(range(17))
        np.testing.assert_allclose(as_array(got), want.keypoints, rtol=1e-6, atol=1e-4)


def test_poses_equal_the_core_and_carry_the_header(client, people):
    msg = client.raw_image(people)
    reply = client.infer(msg)
    assert reply.header == msg.header
    assert (reply.image_width, reply.image_height) == (people.shape[1], people.shape[0])
    expected = core_poses(people)
    assert len(expected) >= 2
    assert_same_poses(reply, expected)


def test_poses_equal_the_core_cli(client):
    """`posenet-ros infer --json` and the node, on the same image file, give the same numbers."""
    path = DATA_DIR / "astronaut.jpg"
    cli = Path(sys.executable).with_name("posenet-ros")
    run = subprocess.run(
        [str(cli), "infer", str(path), "--json", "-"], capture_output=True, text=True, check=True
    )
    document = json.loads(run.stdout)
    reply = client.infer(client.raw_image(load_image(path)))
    assert (reply.image_width, reply.image_height) == (
        document["image"]["width"],
        document["image"]["height"],
    )
    assert len(reply.poses) == len(document["poses"]) >= 1
    for got, want in zip(reply.poses, document["poses"], strict=True):
        assert got.score == pytest.approx(want["score"], rel=1e-6, abs=1e-7)
        assert [k.name for k in got.keypoints] == [k["part"] for k in want["keypoints"]]
        np.testing.assert_allclose(
            as_array(got),
            [[k["x"], k["y"], k["score"]] for k in want["keypoints"]],
            rtol=1e-6,
            atol=1e-4,
        )


@pytest.mark.parametrize("encoding", ["bgr8", "rgba8", "bgra8", "mono8"])
@pytest.mark.parametrize("padding", [0, 6])
def test_every_encoding_and_row_padding(client, people, encoding, padding):
    rgb = people[::2, ::2]  # smaller frames keep this matrix quick
    if encoding == "mono8":
        rgb = np.repeat(rgb[:, :, :1], 3, axis=2)
    pixels = {
        "bgr8": rgb[:, :, ::-1],
        "rgba8": np.dstack([rgb, np.full(rgb.shape[:2], 9, np.uint8)]),
        "bgra8": np.dstack([rgb[:, :, ::-1], np.full(rgb.shape[:2], 9, np.uint8)]),
        "mono8": rgb[:, :, 0],
    }[encoding]
    msg = client.raw_image(rgb)
    rows = pixels.reshape(rgb.shape[0], -1)
    padded = np.hstack([rows, np.zeros((rows.shape[0], padding), np.uint8)])
    msg.encoding, msg.step = encoding, padded.shape[1]
    msg.data = array.array("B", padded.tobytes())
    assert_same_poses(client.infer(msg), core_poses(rgb))


def test_a_best_effort_publisher_connects(client, people):
    msg = client.raw_image(people)
    assert_same_poses(client.infer(msg, publisher=client.best_effort), core_poses(people))


def test_compressed_input(client, people):
    result = client.set_parameters(input_transport="compressed")[0]
    assert result.successful, result.reason
    png = client.compressed_image(people, "PNG")
    assert_same_poses(client.infer(png), core_poses(people))
    jpeg = client.compressed_image(people, "JPEG")
    decoded = load_image(jpeg.data.tobytes())
    assert_same_poses(client.infer(jpeg), core_poses(decoded))


def test_annotated_image_only_while_wanted(client, people):
    client.subscribe_annotated()
    for _ in range(20):  # until the node has discovered the new subscription
        msg = client.raw_image(people)
        client.infer(msg)
        image = wait_stamped(client.images, msg.header, timeout_s=3.0)
        if image is not None:
            break
    assert (image.header, image.encoding, image.width, image.height) == (
        msg.header,
        "rgb8",
        people.shape[1],
        people.shape[0],
    )
    drawn = np.frombuffer(image.data, np.uint8).reshape(people.shape)
    assert (drawn != people).any()

    assert client.set_parameters(publish_annotated_image=False)[0].successful
    msg = client.raw_image(people)
    client.infer(msg)
    assert wait_stamped(client.images, msg.header, timeout_s=2.0) is None


LIVE_CHANGES = [
    {"mode": "single"},
    {"max_pose_detections": 1},
    {"score_threshold": 0.9},
    {"nms_radius": 200.0},
    {"min_pose_score": 0.4},
    {"min_keypoint_score": 0.8},
    {"flip_horizontal": True},
    {"input_resolution": 353},
    {"input_resolution": 0, "image_scale_factor": 0.35},
    {"output_stride": 8},
    {"backend": "onnxruntime"},
    {"precision": "fp16"},  # rebuilds under auto, which falls back to ONNX Runtime here
    {"inference_threads": 1},
]
# Changes that need not alter the poses: auto may already serve ONNX Runtime, precision only
# matters to TensorRT, and threads only split the work. Every other change above alters them
# on ``people``.
BACKEND_CHANGES = ({"backend": "onnxruntime"}, {"precision": "fp16"}, {"inference_threads": 1})


def poses_differ(a: list, b: list) -> bool:
    return len(a) != len(b) or any(
        x.score != pytest.approx(y.score, rel=1e-6, abs=1e-7)
        or not np.allclose(x.keypoints, y.keypoints, rtol=1e-6, atol=1e-4)
        for x, y in zip(a, b, strict=True)
    )


@pytest.mark.parametrize("changes", LIVE_CHANGES, ids=lambda c: ",".join(c))
def test_live_parameter_changes_take_effect(client, people, changes):
    results = client.set_parameters(**changes)
    assert all(r.successful for r in results), [r.reason for r in results]
    assert client.get_parameters(*changes) == changes
    client.wait_until_serving()  # stride and backend changes rebuild in the background
    expected = core_poses(people, **changes)
    if changes not in BACKEND_CHANGES:
        assert poses_differ(expected, core_poses(people)), "this change cannot be told apart"
    assert_same_poses(client.infer(client.raw_image(people)), expected)


def test_inference_threads_reach_the_serving_backend(client):
    assert "threads=auto" in client.wait_until_serving()["backend"]
    results = client.set_parameters(inference_threads=1)
    assert all(r.successful for r in results), [r.reason for r in results]
    client.wait_diagnostics(
        lambda values: values.get("rebuilding") == "false" and "threads=1 " in values["backend"]
    )


# rclpy refuses a wrong type or a value outside the declared range before the node sees it;
# the node refuses the rest with the core's reason.
def _out_of_range(name: str) -> str:
    return f"Parameter {name} out of range"


def _wrong_type(expected: str, got: str) -> str:
    # rclpy puts its Parameter.Type in the reason: 'Type.BOOL' where it is an Enum (Humble,
    # Jazzy), the number '1' where it is an IntEnum (Kilted).
    types = Parameter.Type
    return f"Wrong parameter type, expected '{types[expected]}' got '{types[got]}'"


INVALID = [
    ("mode", "dual", "invalid mode 'dual': expected one of single, multi"),
    ("backend", "cuda", "invalid backend 'cuda': expected one of auto, onnxruntime, tensorrt"),
    ("precision", "int8", "invalid precision 'int8': expected one of fp32, fp16"),
    ("input_resolution", 20, "invalid input_resolution 20: expected an integer in [33, 1281]"),
    ("input_resolution", 5000, _out_of_range("input_resolution")),
    ("image_scale_factor", 5.0, _out_of_range("image_scale_factor")),
    ("output_stride", 32, "output_stride 32 needs the MobileNetV1 1.0-multiplier model"),
    ("output_stride", 12, "invalid output_stride 12: expected 8 or 16"),
    ("flip_horizontal", "yes", _wrong_type("BOOL", "STRING")),
    ("max_pose_detections", 0, "invalid max_pose_detections 0: expected an integer >= 1"),
    ("score_threshold", 1.5, _out_of_range("score_threshold")),
    ("nms_radius", -1.0, "invalid nms_radius -1.0: expected a finite number > 0"),
    ("min_pose_score", -0.5, _out_of_range("min_pose_score")),
    ("min_keypoint_score", float("nan"), _out_of_range("min_keypoint_score")),
    ("input_transport", "theora", "invalid input_transport 'theora': expected one of raw"),
    ("publish_annotated_image", 3, _wrong_type("BOOL", "INTEGER")),
]


@pytest.mark.parametrize(("name", "value", "reason"), INVALID, ids=lambda v: str(v))
def test_invalid_values_are_refused_and_the_old_kept(client, people, name, value, reason):
    (result,) = client.set_parameters(**{name: value})
    assert not result.successful
    assert reason in result.reason
    assert client.get_parameters(name) == {name: DEFAULTS[name]}


def test_a_rebuild_keeps_serving_until_the_switch(client, people):
    """Frames sent right after a stride change are still answered (by the old model)."""
    assert client.set_parameters(output_stride=8)[0].successful
    for _ in range(3):
        assert client.infer(client.raw_image(people)).poses
    client.wait_until_serving()
    assert_same_poses(client.infer(client.raw_image(people)), core_poses(people, output_stride=8))


def bad_raw_frames(client, rgb):
    unknown = client.raw_image(rgb)
    unknown.encoding = "no_such_encoding"
    depth = client.raw_image(rgb)
    depth.encoding = "32FC1"  # a depth image on the colour topic
    short = client.raw_image(rgb)
    short.data = array.array("B", bytes(len(short.data) - 7))
    narrow = client.raw_image(rgb)
    narrow.step = rgb.shape[1] * 3 - 1
    empty = client.raw_image(rgb)
    empty.height, empty.width, empty.step, empty.data = 0, 0, 0, array.array("B")
    return {
        "unknown encoding": unknown,
        "depth encoding": depth,
        "data size": short,
        "step": narrow,
        "empty": empty,
    }


def test_bad_raw_frames_leave_the_node_processing(client, people):
    before = int(client.wait_until_serving()["bad_frames"])
    for count, msg in enumerate(bad_raw_frames(client, people[:32, :32]).values(), before + 1):
        client.raw.publish(msg)
        client.wait_diagnostics(lambda values, n=count: int(values["bad_frames"]) >= n)
        assert_same_poses(client.infer(client.raw_image(people)), core_poses(people))


def test_serialized_images_cut_short_leave_the_node_processing(client, people):
    """Bytes published as they are (a broken bridge or recorder): the node reads images from
    their serialized form, so it refuses these with the reason and serves the next frame."""
    before = int(client.wait_until_serving()["bad_frames"])
    whole = serialize_message(client.raw_image(people[:16, :16]))
    for count, keep in enumerate([6, 30, len(whole) - 5], before + 1):
        client.raw.publish(whole[:keep])
        values = client.wait_diagnostics(lambda values, n=count: int(values["bad_frames"]) >= n)
        assert "cut short" in values["last_error"]
        assert_same_poses(client.infer(client.raw_image(people)), core_poses(people))


def test_corrupt_compressed_frames_leave_the_node_processing(client, people):
    assert client.set_parameters(input_transport="compressed")[0].successful
    before = int(client.wait_until_serving()["bad_frames"])
    png = client.compressed_image(people, "PNG")
    corrupt = {
        "garbage": array.array("B", b"definitely not a PNG"),
        "truncated": png.data[: len(png.data) // 3],
        "empty": array.array("B"),
    }
    for count, data in enumerate(corrupt.values(), before + 1):
        bad = client.compressed_image(people[:8, :8], "PNG")
        bad.data = data
        client.compressed.publish(bad)
        client.wait_diagnostics(lambda values, n=count: int(values["bad_frames"]) >= n)
        assert_same_poses(client.infer(client.compressed_image(people, "PNG")), core_poses(people))
