"""The posenet-ros command: outputs, and every bad input as one stderr line with exit 2."""

from __future__ import annotations

import io
import json
import struct
import subprocess
import sys
import zlib
from pathlib import Path

import numpy as np
import pytest
from core_fakes import FakeBackend
from PIL import Image

from posenet_ros import cli
from posenet_ros.keypoints import PART_NAMES

RNG = np.random.default_rng(0)


@pytest.fixture(scope="module")
def real_backends() -> dict[int, object]:
    """One real ONNX Runtime backend per stride for the whole module (sessions are slow)."""
    from posenet_ros.backends.factory import create_backend

    return {stride: create_backend("onnxruntime", stride) for stride in (16, 8)}


@pytest.fixture
def real_model(monkeypatch: pytest.MonkeyPatch, real_backends: dict) -> None:
    monkeypatch.setattr(
        "posenet_ros.backends.factory.create_backend",
        lambda name, output_stride, input_size, **options: real_backends[output_stride],
    )


@pytest.fixture
def fake_model(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(
        "posenet_ros.backends.factory.create_backend",
        lambda name, output_stride, input_size, **options: FakeBackend(output_stride),
    )


@pytest.fixture(scope="module")
def photo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    data = pytest.importorskip("skimage.data")
    path = tmp_path_factory.mktemp("images") / "astronaut.png"
    Image.fromarray(data.astronaut()).save(path)
    return path


def run(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    try:
        code = cli.main(argv)
    except SystemExit as exit_:  # argparse's own exits
        code = exit_.code
    out, err = capsys.readouterr()
    return code, out, err


def write(path: Path, data: bytes) -> Path:
    path.write_bytes(data)
    return path


def encode(image: np.ndarray | Image.Image, fmt: str = "PNG") -> bytes:
    if isinstance(image, np.ndarray):
        image = Image.fromarray(image)
    buffer = io.BytesIO()
    image.save(buffer, fmt)
    return buffer.getvalue()


def png_header(width: int, height: int) -> bytes:
    """A PNG holding only a header (what a 0x0 or huge image looks like before decoding)."""
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    crc = struct.pack(">I", zlib.crc32(b"IHDR" + header) & 0xFFFFFFFF)
    return b"\x89PNG\r\n\x1a\n" + struct.pack(">I", 13) + b"IHDR" + header + crc


def test_infer_json_to_stdout_has_the_exact_schema(
    photo: Path, real_model: None, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = run(["infer", str(photo), "--json", "-"], capsys)
    assert code == 0, err
    document = json.loads(out)
    assert list(document) == ["image", "poses"]
    assert document["image"] == {"width": 512, "height": 512}
    assert document["poses"]
    for pose in document["poses"]:
        assert list(pose) == ["score", "keypoints"]
        assert [k["part"] for k in pose["keypoints"]] == list(PART_NAMES)
        for keypoint in pose["keypoints"]:
            assert list(keypoint) == ["part", "score", "x", "y"]
    nose = document["poses"][0]["keypoints"][0]
    assert 180 < nose["x"] < 320 and 40 < nose["y"] < 180


def test_infer_summary_json_file_and_annotation(
    photo: Path, tmp_path: Path, real_model: None, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = run(["infer", str(photo), "--mode", "single", "--output-stride", "8"], capsys)
    assert code == 0
    assert "512x512, 1 pose(s) (single-pose, input 257, stride 8)" in out
    assert "#1 score" in out
    target, drawn = tmp_path / "poses.json", tmp_path / "drawn.png"
    code, out, _ = run(
        ["infer", str(photo), "--json", str(target), "--annotate", str(drawn)], capsys
    )
    assert code == 0 and out == ""
    assert json.loads(target.read_text())["image"] == {"width": 512, "height": 512}
    assert Image.open(drawn).size == (512, 512)


def test_infer_options_reach_the_estimator(
    photo: Path, fake_model: None, capsys: pytest.CaptureFixture[str], monkeypatch
) -> None:
    seen = []
    from posenet_ros.estimator import PoseEstimator

    original = PoseEstimator.__init__

    def spy(self, config, backend=None):  # type: ignore[no-untyped-def]
        seen.append(config)
        original(self, config, backend)

    monkeypatch.setattr(PoseEstimator, "__init__", spy)
    argv = ["infer", str(photo), "--mode", "single", "--image-scale-factor", "0.7"]
    argv += ["--output-stride", "8", "--flip-horizontal", "--max-detections", "3"]
    argv += ["--score-threshold", "0.25", "--nms-radius", "12.5", "--min-pose-score", "0.1"]
    argv += ["--min-keypoint-score", "0.2", "--backend", "onnxruntime", "--json", "-"]
    code, _, err = run(argv, capsys)
    assert code == 0, err
    (config,) = seen
    assert config.mode == "single" and config.input_resolution is None
    assert config.image_scale_factor == 0.7 and config.output_stride == 8
    assert config.flip_horizontal and config.max_pose_detections == 3
    assert config.score_threshold == 0.25 and config.nms_radius == 12.5
    assert config.min_pose_score == 0.1 and config.min_keypoint_score == 0.2
    assert config.backend == "onnxruntime"


def test_defaults_follow_the_reference(
    photo: Path, fake_model: None, capsys: pytest.CaptureFixture[str], monkeypatch
) -> None:
    from posenet_ros import estimator

    seen = []
    monkeypatch.setattr(
        estimator.PoseEstimator, "estimate", lambda self, image: seen.append(self.config) or []
    )
    assert run(["infer", str(photo)], capsys)[0] == 0
    (config,) = seen
    assert (config.mode, config.input_resolution, config.output_stride) == ("multi", 257, 16)
    assert (config.max_pose_detections, config.score_threshold, config.nms_radius) == (5, 0.5, 20)


@pytest.mark.parametrize("mode", ["L", "RGBA", "I;16", "P"])
def test_converted_image_modes_are_accepted(
    mode: str, tmp_path: Path, real_model: None, capsys: pytest.CaptureFixture[str]
) -> None:
    rgb = RNG.integers(0, 256, (60, 80, 3), dtype=np.uint8)
    image = Image.fromarray(rgb)
    if mode == "I;16":
        image = Image.fromarray(rgb[:, :, 0].astype(np.uint16) * 257)
    elif mode == "P":
        image = image.quantize(8)
    else:
        image = image.convert(mode)
    path = write(tmp_path / "frame.png", encode(image))
    code, out, err = run(["infer", str(path), "--json", "-"], capsys)
    assert code == 0, err
    assert json.loads(out)["image"] == {"width": 80, "height": 60}


BAD_OPTIONS = [
    (["--output-stride", "12"], "invalid output_stride 12: expected 8 or 16"),
    (["--output-stride", "32"], "output_stride 32 needs the MobileNetV1 1.0-multiplier model"),
    (["--input-resolution", "0"], "invalid input_resolution 0"),
    (["--input-resolution", "-257"], "invalid input_resolution -257"),
    (["--input-resolution", "100000"], "invalid input_resolution 100000"),
    (["--image-scale-factor", "0.1"], "invalid image_scale_factor 0.1"),
    (["--image-scale-factor", "nan"], "invalid image_scale_factor nan"),
    (["--score-threshold", "nan"], "invalid score_threshold nan"),
    (["--score-threshold", "-0.5"], "invalid score_threshold -0.5"),
    (["--nms-radius", "nan"], "invalid nms_radius nan"),
    (["--nms-radius", "-20"], "invalid nms_radius -20.0"),
    (["--nms-radius", "inf"], "invalid nms_radius inf"),
    (["--min-pose-score", "nan"], "invalid min_pose_score nan"),
    (["--min-keypoint-score", "-1"], "invalid min_keypoint_score -1.0"),
    (["--max-detections", "0"], "invalid max_pose_detections 0"),
    (["--mode", "both"], "invalid mode 'both'"),
    (["--backend", "cuda"], "invalid backend 'cuda'"),
    (["--precision", "fp8"], "invalid precision 'fp8'"),
    (["--output-stride", "sixteen"], "argument --output-stride: invalid int value: 'sixteen'"),
    (["--input-resolution", "257", "--image-scale-factor", "0.5"], "not both"),
    (["--no-such-option"], "unrecognized arguments: --no-such-option"),
]


@pytest.mark.parametrize(("options", "expected"), BAD_OPTIONS)
def test_bad_options_give_one_line_and_exit_2(
    options: list[str], expected: str, photo: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = run(["infer", str(photo), *options], capsys)
    assert code == 2 and out == ""
    assert err.count("\n") == 1 and err.startswith("posenet-ros")
    assert expected in err
    assert "Traceback" not in err


def bad_images(folder: Path) -> list[tuple[Path, str]]:
    rgb = RNG.integers(0, 256, (40, 50, 3), dtype=np.uint8)
    png, jpeg = encode(rgb), encode(rgb, "JPEG")
    float_tiff = encode(Image.fromarray(rgb[:, :, 0]).convert("F"), "TIFF")
    return [
        (write(folder / "notes.png", b"just some text"), "is not an image"),
        (write(folder / "cut.png", png[: len(png) // 2]), "PNG data in"),
        (write(folder / "cut-header.png", png[:30]), "PNG data in"),
        (write(folder / "cut.jpg", jpeg[: len(jpeg) // 2]), "JPEG data in"),
        (write(folder / "empty.png", png_header(0, 0)), "is empty (0x0 pixels)"),
        (write(folder / "empty-file.png", b""), "is not an image"),
        (write(folder / "huge.png", png_header(20000, 10000)), "too large"),
        (write(folder / "wide.png", png_header(10000, 8000)), "too large: 10000x8000"),
        (write(folder / "float.tiff", float_tiff), "unsupported image mode 'F'"),
        (folder / "missing.png", "No such file or directory"),
        (folder, "cannot read image"),
    ]


def test_bad_images_give_one_line_and_exit_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], fake_model: None
) -> None:
    for path, expected in bad_images(tmp_path):
        code, out, err = run(["infer", str(path)], capsys)
        assert code == 2 and out == "", path
        assert err.count("\n") == 1 and expected in err, (path, err)
        assert "Traceback" not in err


def test_unwritable_outputs(
    photo: Path, tmp_path: Path, fake_model: None, capsys: pytest.CaptureFixture[str]
) -> None:
    missing = tmp_path / "no" / "such" / "dir"
    for option, target, expected in [
        ("--json", missing / "out.json", "cannot write"),
        ("--annotate", missing / "out.png", "cannot write the annotated image"),
        ("--annotate", tmp_path / "out.unknown-format", "cannot write the annotated image"),
    ]:
        code, _, err = run(["infer", str(photo), option, str(target)], capsys)
        assert code == 2 and err.count("\n") == 1 and expected in err


def test_prepare_fetches_weights_and_exports_both_strides(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from posenet_ros.model import export, weights

    exported = []
    files = weights.WeightsFiles(tmp_path / "posenet.json", tmp_path / "posenet.bin")
    monkeypatch.setattr(weights, "ensure_weights", lambda: files)
    monkeypatch.setattr(
        export, "ensure_onnx", lambda stride: exported.append(stride) or tmp_path / f"s{stride}"
    )
    code, out, _ = run(["prepare"], capsys)
    assert code == 0 and exported == [16, 8]
    assert "posenet.json" in out and "stride 8:" in out
    exported.clear()
    assert run(["prepare", "--output-stride", "8"], capsys)[0] == 0 and exported == [8]
    code, _, err = run(["prepare", "--output-stride", "32"], capsys)
    assert code == 2 and "1.0-multiplier" in err and exported == [8]


@pytest.fixture
def offline_exports(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    from posenet_ros.model import export, weights

    files = weights.WeightsFiles(tmp_path / "posenet.json", tmp_path / "posenet.bin")
    monkeypatch.setattr(weights, "ensure_weights", lambda: files)
    monkeypatch.setattr(export, "ensure_onnx", lambda stride: tmp_path / f"s{stride}")


def test_prepare_builds_the_backend_asked_for(
    offline_exports: None, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    built = []

    def create_backend(name, stride, *, input_size, **options):  # type: ignore[no-untyped-def]
        built.append((name, stride, input_size, options))
        return FakeBackend(stride)

    monkeypatch.setattr("posenet_ros.backends.factory.create_backend", create_backend)
    argv = ["prepare", "--backend", "tensorrt", "--precision", "fp16", "--input-resolution", "353"]
    code, out, _ = run(argv, capsys)
    assert code == 0
    assert built == [
        ("tensorrt", 16, (353, 353), {"precision": "fp16"}),
        ("tensorrt", 8, (353, 353), {"precision": "fp16"}),
    ]
    assert "stride 16: fake backend" in out


def test_prepare_says_in_one_line_why_tensorrt_cannot_run(
    offline_exports: None, capsys: pytest.CaptureFixture[str]
) -> None:
    from posenet_ros.backends.tensorrt_backend import tensorrt_unavailable_reason

    if tensorrt_unavailable_reason() is None:
        pytest.skip("TensorRT runs here")
    code, _, err = run(["prepare", "--backend", "tensorrt", "--output-stride", "16"], capsys)
    assert code == 2 and err.count("\n") == 1 and "tensorrt backend cannot run here" in err


def test_bench_with_a_fake_backend(
    photo: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys
) -> None:
    built = []
    monkeypatch.setattr(
        "posenet_ros.bench.create_backend",
        lambda name, stride, input_size, **options: built.append(options) or FakeBackend(stride),
    )
    monkeypatch.setattr("posenet_ros.bench.cuda_unavailable_reason", lambda: "no CUDA here")
    target = tmp_path / "bench.json"
    argv = ["bench", "--no-reference", "--repeat", "2", "--image", str(photo)]
    argv += ["--output-stride", "16", "--input-resolution", "33", "--json", str(target)]
    code, out, err = run([*argv, "--precision", "fp16"], capsys)
    assert code == 0, err
    assert built == [{"precision": "fp16"}]
    assert "astronaut" in out and "e2e/inf" in out and "skipped (--no-reference)" in out
    assert "GPU bench skipped: no CUDA here" in out
    (row,) = json.loads(target.read_text())["rows"]
    assert row["input_resolution"] == 33 and row["output_stride"] == 16


@pytest.mark.parametrize(
    ("options", "expected"),
    [
        (["--repeat", "0"], "invalid repeat 0"),
        (["--output-stride", "32"], "1.0-multiplier"),
        (["--input-resolution", "5"], "invalid input_resolution 5"),
        (["--backend", "gpu"], "invalid backend 'gpu'"),
        (["--precision", "int8"], "invalid precision 'int8': expected one of fp32, fp16"),
    ],
)
def test_bench_bad_options(options: list[str], expected: str, capsys) -> None:
    code, _, err = run(["bench", "--no-reference", *options], capsys)
    assert code == 2 and err.count("\n") == 1 and expected in err


def test_usage_errors_are_one_line(capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run([], capsys)
    assert code == 2 and err.count("\n") == 1 and "required: COMMAND" in err
    code, out, _ = run(["--version"], capsys)
    assert code == 0 and out.startswith("posenet-ros ")


def test_console_script_exit_status(tmp_path: Path) -> None:
    """The installed entry point: exit 2 and one stderr line, no traceback."""
    script = Path(sys.executable).with_name("posenet-ros")
    if not script.exists():
        pytest.skip("posenet-ros console script not installed in this environment")
    bad = write(tmp_path / "bad.png", b"not a png")
    result = subprocess.run([str(script), "infer", str(bad)], capture_output=True, text=True)
    assert result.returncode == 2 and result.stdout == ""
    assert result.stderr.count("\n") == 1 and "is not an image" in result.stderr
