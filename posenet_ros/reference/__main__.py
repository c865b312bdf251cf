"""Command line for the Node reference: ``python -m posenet_ros.reference {photos,poses,raw}``.

``photos DIR`` writes the test photos; ``poses IMAGE...`` prints reference poses as JSON (the
CLI format); ``raw IMAGE --out DIR`` saves the resized and normalised input and the four raw
network outputs (heatmap logits) as .npy files.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

from posenet_ros.config import EstimatorConfig
from posenet_ros.errors import PoseNetError
from posenet_ros.reference.images import build_test_images
from posenet_ros.reference.runner import PosesJob, RawJob, ReferenceRunner


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m posenet_ros.reference")
    commands = parser.add_subparsers(dest="command", required=True)
    photos = commands.add_parser("photos", help="write the test photos as PNG")
    photos.add_argument("out", type=Path)
    poses = commands.add_parser("poses", help="reference poses as JSON, one line per image")
    poses.add_argument("images", type=Path, nargs="+")
    poses.add_argument("--mode", choices=("single", "multi"), default="multi")
    poses.add_argument("--flip-horizontal", action="store_true")
    poses.add_argument("--max-detections", type=int, default=5)
    poses.add_argument("--score-threshold", type=float, default=0.5)
    poses.add_argument("--nms-radius", type=float, default=20.0)
    raw = commands.add_parser("raw", help="raw network outputs as .npy")
    raw.add_argument("image", type=Path)
    raw.add_argument("--out", type=Path, required=True)
    for sub in (poses, raw):
        sub.add_argument("--input-resolution", type=int, default=257)
        sub.add_argument("--output-stride", type=int, default=16)
    return parser


def _run(args: argparse.Namespace) -> None:
    if args.command == "photos":
        for path in build_test_images(args.out).values():
            print(path)
        return
    runner = ReferenceRunner()
    if args.command == "poses":
        config = EstimatorConfig(
            mode=args.mode,
            input_resolution=args.input_resolution,
            output_stride=args.output_stride,
            flip_horizontal=args.flip_horizontal,
            max_pose_detections=args.max_detections,
            score_threshold=args.score_threshold,
            nms_radius=args.nms_radius,
        )
        for result in runner.run([PosesJob(tuple(args.images), config)]).results[0]:
            print(json.dumps(result))
        return
    job = RawJob(args.output_stride, image=args.image, input_resolution=args.input_resolution)
    args.out.mkdir(parents=True, exist_ok=True)
    for name, array in runner.run([job]).results[0].items():
        np.save(args.out / f"{name}.npy", array)
        print(f"{args.out / name}.npy {array.shape}")


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        _run(args)
    except PoseNetError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
