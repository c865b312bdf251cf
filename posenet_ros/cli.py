"""The ``posenet-ros`` command: ``infer`` on an image, ``prepare`` the models, ``bench``.

Every user error (a ``PoseNetError``, a bad option value, an unwritable output) ends with one
line on stderr and exit status 2, never a traceback. Option values are checked by
``EstimatorConfig.validated()``, so the messages match the library's and the ROS node's.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import NoReturn, TypeVar

import numpy as np

from posenet_ros import __version__
from posenet_ros.config import BACKENDS, MODES, OUTPUT_STRIDES, PRECISIONS, EstimatorConfig
from posenet_ros.errors import InvalidConfigError, PoseNetError
from posenet_ros.types import Pose

PROG = "posenet-ros"
EXIT_USAGE = 2
DEFAULTS = EstimatorConfig()
T = TypeVar("T")


class _Parser(argparse.ArgumentParser):
    """argparse that reports errors on one line (no usage block) with exit status 2."""

    def error(self, message: str) -> NoReturn:
        self.exit(EXIT_USAGE, f"{self.prog}: error: {message}\n")


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line ``argv`` (default: ``sys.argv[1:]``); return the exit status."""
    args = _parser().parse_args(argv)
    try:
        return args.run(args)
    except PoseNetError as exc:
        print(f"{PROG}: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        print(f"{PROG}: interrupted", file=sys.stderr)
        return 130


def _parser() -> argparse.ArgumentParser:
    parser = _Parser(prog=PROG, description="PoseNet (MobileNetV1 0.75) human pose estimation.")
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    infer = commands.add_parser("infer", help="estimate poses on one image")
    infer.add_argument("image", type=Path, help="image file (PNG, JPEG, ...)")
    infer.add_argument("--mode", default=DEFAULTS.mode, help=f"{' or '.join(MODES)} (multi)")
    infer.add_argument(
        "--input-resolution",
        type=int,
        help=f"square network input, reference 2.x ({DEFAULTS.input_resolution})",
    )
    infer.add_argument(
        "--image-scale-factor",
        type=float,
        help="reference 0.x scaling instead of --input-resolution (0.2 to 1.0)",
    )
    _stride_option(infer)
    infer.add_argument("--flip-horizontal", action="store_true", help="mirror the poses")
    infer.add_argument(
        "--max-detections", type=int, default=DEFAULTS.max_pose_detections, help="(5)"
    )
    infer.add_argument(
        "--score-threshold", type=float, default=DEFAULTS.score_threshold, help="(0.5)"
    )
    infer.add_argument("--nms-radius", type=float, default=DEFAULTS.nms_radius, help="(20)")
    infer.add_argument(
        "--min-pose-score", type=float, default=DEFAULTS.min_pose_score, help="drop weaker poses"
    )
    infer.add_argument(
        "--min-keypoint-score",
        type=float,
        help="zero the scores of weaker keypoints (and hide them in --annotate)",
    )
    _backend_option(infer)
    infer.add_argument("--json", metavar="PATH|-", help="write the poses as JSON ('-': stdout)")
    infer.add_argument("--annotate", type=Path, metavar="OUT.png", help="save a drawn copy")
    infer.set_defaults(run=_infer)

    prepare = commands.add_parser(
        "prepare",
        help="fetch the weights and export the ONNX models; with --backend, also build it "
        "(a TensorRT engine: minutes on a Jetson, cached for the node)",
    )
    _stride_option(prepare, default=None, help="only this stride (default: 16 and 8)")
    prepare.add_argument(
        "--backend",
        help=f"also build this backend ({', '.join(BACKENDS)}) for --input-resolution",
    )
    prepare.add_argument(
        "--precision",
        default=DEFAULTS.precision,
        help=f"of a TensorRT engine ({DEFAULTS.precision})",
    )
    prepare.add_argument(
        "--input-resolution",
        type=int,
        default=DEFAULTS.input_resolution,
        help=f"network input an engine is built for ({DEFAULTS.input_resolution})",
    )
    prepare.set_defaults(run=_prepare)

    bench = commands.add_parser("bench", help="time every stage, and the reference in Node")
    bench.add_argument("--json", metavar="PATH|-", help="also write the figures as JSON")
    _backend_option(bench)
    bench.add_argument(
        "--reference",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="time the reference posenet in Node on the same images (default: on)",
    )
    bench.add_argument(
        "--gpu",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="also time GPU preprocessing + decoding where CuPy sees a CUDA device (default: on)",
    )
    bench.add_argument("--repeat", type=int, default=20, help="timed runs per case (20)")
    bench.add_argument(
        "--image", type=Path, action="append", help="benchmark these images instead of the photos"
    )
    bench.add_argument(
        "--output-stride", type=int, action="append", help="strides to time (16 and 8)"
    )
    bench.add_argument(
        "--input-resolution", type=int, action="append", help="resolutions to time (257 and 513)"
    )
    bench.set_defaults(run=_bench)
    return parser


def _stride_option(
    parser: argparse.ArgumentParser, default: int | None = DEFAULTS.output_stride, help: str = ""
) -> None:
    strides = " or ".join(str(s) for s in OUTPUT_STRIDES)
    parser.add_argument(
        "--output-stride", type=int, default=default, help=help or f"{strides} ({default})"
    )


def _backend_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--backend", default=DEFAULTS.backend, help=f"{', '.join(BACKENDS)} ({DEFAULTS.backend})"
    )
    parser.add_argument(
        "--precision",
        default=DEFAULTS.precision,
        help=f"TensorRT engine precision: {', '.join(PRECISIONS)} ({DEFAULTS.precision}); "
        "ONNX Runtime runs fp32",
    )


def _config(args: argparse.Namespace) -> EstimatorConfig:
    if args.input_resolution is not None and args.image_scale_factor is not None:
        raise InvalidConfigError(
            "give either --input-resolution (reference 2.x) or --image-scale-factor (0.x), not both"
        )
    scale_factor = args.image_scale_factor
    return EstimatorConfig(
        mode=args.mode,
        input_resolution=(
            None
            if scale_factor is not None
            else _or(args.input_resolution, DEFAULTS.input_resolution)
        ),
        image_scale_factor=_or(scale_factor, DEFAULTS.image_scale_factor),
        output_stride=args.output_stride,
        flip_horizontal=args.flip_horizontal,
        max_pose_detections=args.max_detections,
        score_threshold=args.score_threshold,
        nms_radius=args.nms_radius,
        min_pose_score=args.min_pose_score,
        min_keypoint_score=_or(args.min_keypoint_score, DEFAULTS.min_keypoint_score),
        backend=args.backend,
        precision=args.precision,
    ).validated()


def _or(value: T | None, default: T) -> T:
    return default if value is None else value


def _infer(args: argparse.Namespace) -> int:
    from posenet_ros.estimator import PoseEstimator
    from posenet_ros.image_io import load_image

    config = _config(args)
    image = load_image(args.image)  # before loading the model: bad input fails fast
    estimator = PoseEstimator(config)
    poses = estimator.estimate(image)
    height, width = image.shape[:2]
    if args.json is not None:
        document = {
            "image": {"width": width, "height": height},
            "poses": [pose.to_dict() for pose in poses],
        }
        _write_text(args.json, json.dumps(document, indent=2) + "\n")
    else:
        print(_summary(args.image, width, height, poses, config))
        print(f"  backend: {estimator.backend.describe()}")
    if args.annotate is not None:
        _annotate(image, poses, args.annotate, args.min_keypoint_score)
    return 0


def _summary(
    path: Path, width: int, height: int, poses: list[Pose], config: EstimatorConfig
) -> str:
    size = (
        f"input {config.input_resolution}"
        if config.input_resolution is not None
        else f"scale factor {config.image_scale_factor}"
    )
    lines = [
        f"{path}: {width}x{height}, {len(poses)} pose(s) "
        f"({config.mode}-pose, {size}, stride {config.output_stride})"
    ]
    for index, pose in enumerate(poses, 1):
        visible = pose.keypoints[pose.keypoints[:, 2] >= 0.5]
        box = ""
        if len(visible):
            (x0, y0), (x1, y1) = visible[:, :2].min(axis=0), visible[:, :2].max(axis=0)
            box = f", box x {x0:.0f}..{x1:.0f} y {y0:.0f}..{y1:.0f}"
        lines.append(f"  #{index} score {pose.score:.3f}: {len(visible)}/17 keypoints >= 0.5{box}")
    return "\n".join(lines)


def _annotate(
    image: np.ndarray, poses: list[Pose], path: Path, min_keypoint_score: float | None
) -> None:
    from PIL import Image

    from posenet_ros.draw import DEFAULT_MIN_KEYPOINT_SCORE, draw_poses

    threshold = _or(min_keypoint_score, DEFAULT_MIN_KEYPOINT_SCORE)
    drawn = draw_poses(image, poses, min_keypoint_score=threshold)
    try:
        Image.fromarray(drawn).save(path)
    except (OSError, ValueError) as exc:  # unwritable path, unknown extension
        raise PoseNetError(f"cannot write the annotated image {path}: {exc}") from None


def _write_text(target: str, text: str) -> None:
    if target == "-":
        sys.stdout.write(text)
        return
    try:
        Path(target).write_text(text)
    except OSError as exc:
        raise PoseNetError(f"cannot write {target}: {exc.strerror}") from None


def _prepare(args: argparse.Namespace) -> int:
    from posenet_ros.model.export import ensure_onnx
    from posenet_ros.model.weights import ensure_weights

    strides = OUTPUT_STRIDES if args.output_stride is None else (args.output_stride,)
    configs = [
        EstimatorConfig(
            output_stride=stride,
            input_resolution=args.input_resolution,
            backend=args.backend or DEFAULTS.backend,
            precision=args.precision,
        ).validated()
        for stride in sorted(strides, reverse=True)
    ]
    weights = ensure_weights()
    print(f"weights: {weights.json_path} + {weights.bin_path.name} (sha256 verified)")
    for config in configs:
        print(f"stride {config.output_stride}: {ensure_onnx(config.output_stride)}")
    if args.backend is not None:
        from posenet_ros.estimator import PoseEstimator

        for config in configs:  # built as the node builds it, so the node finds it cached
            print(f"stride {config.output_stride}: {PoseEstimator(config).backend.describe()}")
    return 0


def _bench(args: argparse.Namespace) -> int:
    from posenet_ros.bench import default_images, run_bench
    from posenet_ros.image_io import load_image

    strides = tuple(args.output_stride or (16, 8))
    resolutions = tuple(args.input_resolution or (257, 513))
    for stride in strides:
        for resolution in resolutions:
            EstimatorConfig(
                output_stride=stride,
                input_resolution=resolution,
                backend=args.backend,
                precision=args.precision,
            ).validated()
    if args.repeat < 1:
        raise InvalidConfigError(f"invalid repeat {args.repeat!r}: expected an integer >= 1")
    if args.image:
        images = {path.stem: load_image(path) for path in args.image}
    else:
        images = default_images()
    report = run_bench(
        images,
        backend=args.backend,
        precision=args.precision,
        resolutions=resolutions,
        strides=strides,
        repeat=args.repeat,
        reference=args.reference,
        gpu=args.gpu,
        progress=lambda line: print(f"{PROG} bench: {line}", file=sys.stderr, flush=True),
    )
    print(report.table(), file=sys.stderr if args.json == "-" else sys.stdout)
    if args.json is not None:
        _write_text(args.json, json.dumps(report.to_dict(), indent=2) + "\n")
    return 0
