"""What tracking, 3D and their messages add per frame in the node, at a given number of people.

    python -m posenet_ros.ros.people_bench [--people 5] [--frames 300]

Poses are the estimator's on the bundled astronaut, copied side by side (``--people`` of them)
and moved a few pixels per frame, over a flat depth plane of the same size. Prints median and
p99 milliseconds per frame of: the people pipeline (track -> 3D, as the node runs it), the
same with smoothing on, the Poses message (built with or without tracking) and the Poses3D and
markers messages (built only with use_depth).
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

import numpy as np
from ament_index_python.packages import get_package_share_directory
from std_msgs.msg import Header

from posenet_ros.config import EstimatorConfig
from posenet_ros.depth import Intrinsics
from posenet_ros.estimator import PoseEstimator
from posenet_ros.image_io import load_image
from posenet_ros.ros.markers import markers_msg
from posenet_ros.ros.people import DepthView, PeoplePipeline, PeopleSettings
from posenet_ros.ros.pose_messages import poses_3d_to_msg, poses_to_msg
from posenet_ros.types import Pose

FRAME_S = 1 / 30
STEP_PX = 2.0


def scene(people: int, frames: int) -> tuple[list[list[Pose]], DepthView]:
    """``frames`` frames of ``people`` astronauts side by side, moving right."""
    rgb = load_image(Path(get_package_share_directory("posenet_ros")) / "data" / "astronaut.jpg")
    (pose,) = PoseEstimator(EstimatorConfig(mode="single")).estimate(rgb)
    width = rgb.shape[1]
    sequence = []
    for frame in range(frames):
        poses = []
        for person in range(people):
            keypoints = pose.keypoints.copy()
            keypoints[:, 0] += person * width + frame * STEP_PX
            poses.append(Pose(pose.score, keypoints))
        sequence.append(poses)
    depth = np.full((rgb.shape[0], width * people + frames * 3), 2.0, np.float32)
    intrinsics = Intrinsics(fx=600.0, fy=600.0, cx=depth.shape[1] / 2, cy=depth.shape[0] / 2)
    return sequence, DepthView(depth, intrinsics)


def timed(step: Callable[[int], object], frames: int) -> tuple[float, float]:
    """(median, p99) ms of ``step(frame)`` over the frames."""
    times = []
    for frame in range(frames):
        start = time.perf_counter()
        step(frame)
        times.append(time.perf_counter() - start)
    median, p99 = np.percentile(np.array(times) * 1e3, [50, 99])
    return float(median), float(p99)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--people", type=int, default=5)
    parser.add_argument("--frames", type=int, default=300)
    args = parser.parse_args(argv)
    sequence, depth = scene(args.people, args.frames)
    header = Header(frame_id="camera_color_optical_frame")

    def pipeline(settings: PeopleSettings) -> Callable[[int], object]:
        people = PeoplePipeline(settings)
        return lambda frame: people.process(sequence[frame], frame * FRAME_S, depth)

    results = list(map(pipeline(PeopleSettings()), range(args.frames)))

    def poses_message(frame: int) -> None:
        people = results[frame]
        poses_to_msg(people.poses, header, 640, 480, people.ids)

    def messages_3d(frame: int) -> None:
        people = results[frame]
        markers_msg(
            poses_3d_to_msg(people.poses, people.ids, people.positions, people.valid, header)
        )

    figures = {
        "track + 3D": timed(pipeline(PeopleSettings()), args.frames),
        "track + smooth + 3D": timed(
            pipeline(replace(PeopleSettings(), smoothing=True)), args.frames
        ),
        "Poses message (as without tracking)": timed(poses_message, args.frames),
        "Poses3D + markers messages": timed(messages_3d, args.frames),
    }
    tracked = sum(all(people.ids) for people in results)
    print(f"{args.people} people, {args.frames} frames ({tracked} with every person tracked)")
    for name, (median, p99) in figures.items():
        print(f"  {name:36s} median {median:6.3f} ms   p99 {p99:6.3f} ms")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
