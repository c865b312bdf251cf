"""Benchmark: what track ids, smoothing and 3D add per frame, next to the plain pipeline.

The people are the pose the estimator finds in a bundled photo, scaled to a 640x480 camera
frame and repeated side by side (``--people``, default 5), each swaying left and right (40 px,
4 s period, a phase of its own) with 1.5 px of keypoint noise per frame; the depth frame is a
tilted plane (16UC1, millimetres), aligned with it. Per frame, in one run:
``PoseTracker.update``, ``KeypointSmoother.smooth``, ``poses_3d`` (window median +
back-projection), and once per depth frame ``depth_to_metres``: first each frame right after
``PoseEstimator.estimate`` on the photo, as in the node (so load on the machine hits both
alike, and the network has just swept the caches), then alone, back to back. Figures are
medians and 90th percentiles in ms.

    python -m posenet_ros.tracking_bench [--people 5] [--frames 600] [--image photo.jpg]
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np

from posenet_ros.config import EstimatorConfig
from posenet_ros.depth import DepthConfig, Intrinsics, depth_to_metres, poses_3d, warm_up
from posenet_ros.errors import PoseNetError
from posenet_ros.estimator import PoseEstimator
from posenet_ros.image_io import load_image
from posenet_ros.smoothing import KeypointSmoother
from posenet_ros.tracking import PoseTracker
from posenet_ros.types import Pose

DEFAULT_IMAGE = Path(__file__).resolve().parents[1] / "data" / "astronaut.jpg"
WIDTH, HEIGHT = 640, 480
K = (525.0, 0.0, 319.5, 0.0, 525.0, 239.5, 0.0, 0.0, 1.0)
FRAME_S = 1 / 30
TARGET_MS = 0.5  # issue 9: tracking + 3D at 5 people


def walking_people(template: np.ndarray, people: int, frames: int, seed: int = 0) -> list:
    """``frames`` lists of ``people`` poses: the template (17, 3) scaled to 180 px tall, side
    by side, each swaying with a phase of its own, with keypoint noise."""
    rng = np.random.default_rng(seed)
    xy = template[:, :2] - template[:, :2].mean(axis=0)
    xy *= 180.0 / max(np.ptp(xy[:, 1]), 1.0)
    starts = np.column_stack(
        [np.linspace(100, WIDTH - 100, people), np.full(people, HEIGHT / 2)]
    ) + rng.uniform(-10, 10, (people, 2))
    phases = rng.uniform(0, 2 * np.pi, people)
    sequence = []
    for f in range(frames):
        poses = []
        for start, phase in zip(starts, phases, strict=True):
            sway = (40.0 * np.sin(2 * np.pi * f * FRAME_S / 4.0 + phase), 0.0)
            keypoints = np.empty((17, 3))
            keypoints[:, :2] = xy + start + sway + rng.normal(0.0, 1.5, (17, 2))
            keypoints[:, 2] = template[:, 2]
            poses.append(Pose(0.8, keypoints))
        sequence.append(poses)
    return sequence


def tilted_depth_16uc1() -> bytes:
    """A plane 2 m away at the centre, tilted 30 degrees about the vertical, in millimetres."""
    u = np.arange(WIDTH, dtype=np.float64)[None, :]
    ray_x = (u - K[2]) / K[0]
    depth = 2.0 / (1.0 + np.tan(np.radians(30)) * ray_x)  # plane z + tan(30) x = 2
    return np.broadcast_to(np.round(depth * 1000), (HEIGHT, WIDTH)).astype("<u2").tobytes()


STAGES = ("estimate", "depth_to_metres", "track", "smooth", "3d", "total")
LABELS = {
    "estimate": "PoseEstimator.estimate (the plain pipeline, for scale)",
    "depth_to_metres": "depth_to_metres, 640x480 16UC1 (once per depth frame)",
    "track": "PoseTracker.update",
    "smooth": "KeypointSmoother.smooth",
    "3d": "poses_3d",
    "total": "track + smooth + 3d",
}
Figures = dict[str, tuple[float, float]]  # stage -> (median ms, 90th percentile ms)


def run_tracking_bench(image: np.ndarray, people: int, frames: int) -> tuple[Figures, Figures]:
    """Figures in the pipeline (each frame after ``estimate``) and alone (back to back)."""
    estimator = PoseEstimator(EstimatorConfig().validated())
    detected = estimator.estimate(image)
    if not detected:
        raise PoseNetError("no pose found in the benchmark image: pass another with --image")
    sequence = walking_people(detected[0].keypoints, people, frames)
    warm_up()
    in_pipeline = _time_frames(sequence, lambda: estimator.estimate(image))
    return in_pipeline, _time_frames(sequence, None)


def _time_frames(sequence: list, estimate: Callable[[], object] | None) -> Figures:
    depth_payload = tilted_depth_16uc1()
    intrinsics, depth_config = Intrinsics.from_k(K), DepthConfig()
    tracker, smoother = PoseTracker(), KeypointSmoother()
    times: dict[str, list[float]] = {name: [] for name in STAGES}

    def timed(name: str, fn: Callable[[], object]) -> object:
        start = time.perf_counter()
        result = fn()
        times[name].append(time.perf_counter() - start)
        return result

    for f, poses in enumerate(sequence):
        stamp = f * FRAME_S
        if estimate is not None:
            timed("estimate", estimate)
        depth = timed(
            "depth_to_metres",
            lambda: depth_to_metres(depth_payload, "16UC1", HEIGHT, WIDTH, 2 * WIDTH, False),
        )
        ids = timed("track", lambda p=poses, s=stamp: tracker.update(p, s))
        timed("smooth", lambda p=poses, i=ids, s=stamp: smoother.smooth(p, i, s))
        timed("3d", lambda p=poses, d=depth: poses_3d(p, d, intrinsics, depth_config))
        times["total"].append(sum(times[name][-1] for name in ("track", "smooth", "3d")))
    skip = min(30, len(sequence) // 4)  # first frames: tracks initialising, caches warming
    return {
        name: (
            float(np.median(values[skip:])) * 1e3,
            float(np.percentile(values[skip:], 90)) * 1e3,
        )
        for name, values in times.items()
        if values
    }


def format_results(in_pipeline: Figures, alone: Figures, people: int) -> str:
    lines = [
        f"{people} people, 640x480, ms per frame        in the pipeline (median, p90)   alone",
    ]
    for name in STAGES:
        median, p90 = in_pipeline[name]
        by_itself = f"{alone[name][0]:7.3f}" if name in alone else "      -"
        lines.append(f"  {LABELS[name]:<56} {median:7.3f} {p90:7.3f}  {by_itself}")
    track_3d = in_pipeline["track"][0] + in_pipeline["3d"][0]
    lines.append(
        f"track + 3d in the pipeline: median {track_3d:.3f} ms "
        f"(target <= {TARGET_MS} ms at 5 people)"
    )
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m posenet_ros.tracking_bench", description=__doc__
    )
    parser.add_argument("--image", type=Path, default=DEFAULT_IMAGE)
    parser.add_argument("--people", type=int, default=5)
    parser.add_argument("--frames", type=int, default=600)
    args = parser.parse_args(argv)
    if args.people < 1 or args.frames < 8:
        parser.error("--people must be >= 1 and --frames >= 8")
    try:
        in_pipeline, alone = run_tracking_bench(load_image(args.image), args.people, args.frames)
    except PoseNetError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    print(format_results(in_pipeline, alone, args.people))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
