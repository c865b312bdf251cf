"""The Node reference itself: pinned versions, a plausible pose, the stride-8 graph rewrite."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from posenet_ros.config import EstimatorConfig
from posenet_ros.reference.images import build_test_images
from posenet_ros.reference.runner import (
    PosesJob,
    RawJob,
    ReferenceHarnessError,
    ReferenceRunner,
    Timing,
    TimingJob,
)

pytestmark = pytest.mark.parity
OUTPUTS = ("heatmap", "offsets", "displacement_fwd", "displacement_bwd")


@pytest.fixture(scope="module")
def astronaut(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_test_images(tmp_path_factory.mktemp("photos"))["astronaut"]


@pytest.fixture(scope="module")
def run(astronaut: Path):
    """One Node process: single pose, multi pose flipped or not, raw outputs, a timing."""
    single = EstimatorConfig(mode="single")
    multi = EstimatorConfig(mode="multi")
    return ReferenceRunner().run(
        [
            PosesJob((astronaut,), single),
            PosesJob((astronaut,), multi),
            PosesJob((astronaut,), multi.with_changes(flip_horizontal=True)),
            RawJob(16, image=astronaut, input_resolution=257),
            RawJob(8, image=astronaut, input_resolution=257),
            TimingJob((astronaut,), single, repeats=1, warmup=0),
        ]
    )


def test_runs_the_pinned_reference(run) -> None:
    assert run.versions["tfjs-core"] == "3.21.0"
    assert run.versions["tfjs-converter"] == "3.21.0"
    assert run.versions["posenet"] == "2.2.2"


def test_astronaut_single_pose_is_plausible(run) -> None:
    (result,) = run.results[0]
    assert result["image"] == {"width": 512, "height": 512}
    (pose,) = result["poses"]
    parts = {kp["part"]: kp for kp in pose["keypoints"]}
    assert len(parts) == 17
    nose = parts["nose"]
    assert 180 < nose["x"] < 270 and 80 < nose["y"] < 170  # the face in astronaut.png
    assert parts["leftEye"]["x"] > nose["x"] > parts["rightEye"]["x"]  # subject's left
    assert parts["leftShoulder"]["y"] > nose["y"] + 80
    assert nose["score"] > 0.9 and pose["score"] > 0.3


def test_flip_mirrors_the_output_coordinates(run) -> None:
    (plain,), (flipped,) = run.results[1], run.results[2]
    width = plain["image"]["width"]
    assert len(plain["poses"]) == len(flipped["poses"]) >= 1
    for pose, mirrored in zip(plain["poses"], flipped["poses"], strict=True):
        for kp, other in zip(pose["keypoints"], mirrored["keypoints"], strict=True):
            assert other["x"] == pytest.approx(width - 1 - kp["x"])
            assert other["y"] == kp["y"]


def test_raw_outputs_have_the_network_shapes(run) -> None:
    raw16, raw8 = run.results[3], run.results[4]
    assert raw16["resized"].shape == (257, 257, 3)
    assert raw16["input"].shape == (1, 257, 257, 3)
    np.testing.assert_allclose(raw16["input"][0], raw16["resized"] / 127.5 - 1, atol=1e-6)
    for raw, cells in ((raw16, 17), (raw8, 33)):
        channels = [raw[name].shape for name in OUTPUTS]
        assert channels == [(cells, cells, c) for c in (17, 34, 32, 32)]


def test_stride8_rewrite_matches_stride16_on_every_second_cell(run) -> None:
    raw16, raw8 = run.results[3], run.results[4]
    for name in OUTPUTS:
        np.testing.assert_allclose(raw8[name][::2, ::2], raw16[name], atol=1e-5, err_msg=name)


def test_raw_from_a_tensor_equals_raw_from_the_image(run) -> None:
    raw16 = run.results[3]
    (from_tensor,) = ReferenceRunner().run([RawJob(16, tensor=raw16["input"])]).results
    assert set(from_tensor) == set(OUTPUTS)
    for name in OUTPUTS:
        np.testing.assert_array_equal(from_tensor[name], raw16[name], err_msg=name)


def test_timing_reports_milliseconds(run) -> None:
    timing = run.results[5]
    assert isinstance(timing, Timing)
    assert len(timing.per_image_ms) == 1
    assert timing.mean_ms == timing.per_image_ms[0] > 0


def test_a_corrupt_png_is_a_clear_error(tmp_path: Path) -> None:
    broken = tmp_path / "broken.png"
    broken.write_bytes(b"\x89PNG\r\n\x1a\n" + b"\0" * 20)
    with pytest.raises(
        ReferenceHarnessError, match=r"the Node reference failed .*cannot read .*broken\.png as PNG"
    ):
        ReferenceRunner().run([PosesJob((broken,), EstimatorConfig())])
