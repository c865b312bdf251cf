"""Multi-camera benchmark: one node serving N cameras against N single-camera nodes, on the
same frames in the same run: total FPS, each camera's share, memory.

    python -m posenet_ros.ros.cameras_bench [--cameras 4] [--seconds 10]

Run in the colcon environment. Every camera is fed faster than the node serves (two frames
outstanding per camera: one in inference or waiting, one on its way), so the figures are the
node's capacity and how fairly it shares it. The core pipeline's FPS is measured here first,
on the same images, in this process.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import rclpy
from ament_index_python.packages import get_package_prefix, get_package_share_directory
from diagnostic_msgs.msg import DiagnosticArray
from rclpy.qos import qos_profile_sensor_data
from sensor_msgs.msg import Image

from posenet_ros.errors import PoseNetError
from posenet_ros.image_io import load_image
from posenet_ros.msg import Poses
from posenet_ros.ros.bench import core_fps, cpu_seconds, default_people, rss_mb
from posenet_ros.ros.bench_frames import SerializedFrames, stamp_ns
from posenet_ros.ros.demo_publisher import image_files
from posenet_ros.ros.spin import make_executor, spin_in_background

NAMESPACE = "/posenet_cameras_bench"
IN_FLIGHT = 2  # per camera: the node always has a frame of every camera waiting
START_TIMEOUT_S = 120.0  # model load of several nodes at once on a busy machine
LOST_AFTER_S = 1.0  # a camera unanswered this long lost frames in transport: refill


@dataclass
class Stream:
    """One camera as the bench drives it: its topics, frames in flight, answers received."""

    image_topic: str
    poses_topic: str
    outstanding: deque[int] = field(default_factory=deque)  # stamps (ns) sent, unanswered
    arrivals: list[float] = field(default_factory=list)  # monotonic time of each answer
    last_progress: float = 0.0


class StreamsClient:
    """Publishes the same frames on every stream, closed loop, and counts the answers."""

    def __init__(self, images: list[np.ndarray], streams: list[Stream]) -> None:
        self.context = rclpy.Context()
        rclpy.init(context=self.context)
        self.node = rclpy.create_node("posenet_cameras_bench", context=self.context)
        self.frames = SerializedFrames(images)
        self.streams = streams
        self.answered = threading.Event()
        self._publishers = [
            self.node.create_publisher(Image, s.image_topic, qos_profile_sensor_data)
            for s in streams
        ]
        for stream in streams:
            self.node.create_subscription(
                Poses,
                stream.poses_topic,
                lambda raw, s=stream: self._on_poses(s, raw),
                10,
                raw=True,
            )
        self.node.create_subscription(DiagnosticArray, "/diagnostics", self._on_diagnostics, 10)
        self.diagnostics: dict[str, dict[str, str]] = {}  # the last values of each status
        self._sent = 0
        # The node's executor (EventsExecutor where rclpy has it): the bench's own dispatching
        # takes as little as it can from the cores the node is measured on.
        self.executor = make_executor(self.context)
        self.executor.add_node(self.node)
        self._spinning = spin_in_background(self.executor, self.context)

    def _publish(self, index: int) -> None:
        now_ns = self.node.get_clock().now().nanoseconds
        self.streams[index].outstanding.append(now_ns)
        self._publishers[index].publish(self.frames.stamped(self._sent, now_ns))
        self._sent += 1

    def _on_poses(self, stream: Stream, raw: bytes) -> None:
        stamp = stamp_ns(raw)
        while stream.outstanding and stream.outstanding[0] <= stamp:
            stream.outstanding.popleft()
        stream.arrivals.append(time.monotonic())
        stream.last_progress = time.monotonic()
        self.answered.set()

    def _on_diagnostics(self, msg: DiagnosticArray) -> None:
        for status in msg.status:
            self.diagnostics[status.name] = {kv.key: kv.value for kv in status.values}

    def wait_connected(self) -> None:
        """Until every stream has had an answer (the nodes have loaded their models)."""
        deadline = time.monotonic() + START_TIMEOUT_S
        while not all(s.arrivals for s in self.streams):
            if time.monotonic() > deadline:
                silent = [s.image_topic for s in self.streams if not s.arrivals]
                raise RuntimeError(f"no answer on {', '.join(silent)}; is the build sourced?")
            for index, stream in enumerate(self.streams):
                if not stream.arrivals:
                    stream.outstanding.clear()
                    self._publish(index)
            self.answered.wait(0.5)
            self.answered.clear()

    def closed_loop(self, seconds: float) -> list[float]:
        """Frames per second of each stream, IN_FLIGHT frames outstanding on each."""
        time.sleep(1.0)  # let answers to earlier frames drain
        start = time.monotonic()
        for stream in self.streams:
            stream.outstanding.clear()
            stream.last_progress = start
        while (now := time.monotonic()) - start < seconds:
            for index, stream in enumerate(self.streams):
                if now - stream.last_progress > LOST_AFTER_S:
                    stream.outstanding.clear()
                    stream.last_progress = now
                while len(stream.outstanding) < IN_FLIGHT:
                    self._publish(index)
            self.answered.wait(0.5)
            self.answered.clear()
        end = time.monotonic()
        return [sum(start <= t <= end for t in s.arrivals) / (end - start) for s in self.streams]

    def close(self) -> None:
        rclpy.try_shutdown(context=self.context)  # wakes and ends the spinning thread
        self._spinning.join()
        self.executor.shutdown()
        self.node.destroy_node()


def start_node(namespace: str, *ros_args: str) -> subprocess.Popen:
    executable = Path(get_package_prefix("posenet_ros")) / "lib" / "posenet_ros" / "posenet_node"
    command = [str(executable), "--ros-args", "-r", f"__ns:={namespace}", *ros_args]
    return subprocess.Popen([*command, "--log-level", "warn"], start_new_session=True)


def stop_nodes(nodes: list[subprocess.Popen]) -> None:
    for node in nodes:
        node.send_signal(signal.SIGINT)
    for node in nodes:
        node.wait(10)


def run_phase(
    images: list[np.ndarray], streams: list[Stream], nodes: list[subprocess.Popen], seconds: float
) -> dict:
    """Drive ``streams`` served by ``nodes``; per-stream FPS, the nodes' RSS and CPU."""
    client = StreamsClient(images, streams)
    try:
        client.wait_connected()
        cpu_before = [cpu_seconds(node.pid) for node in nodes]
        fps = client.closed_loop(seconds)
        cpu = [
            (cpu_seconds(n.pid) - before) / seconds
            for n, before in zip(nodes, cpu_before, strict=True)
        ]
        rss = [rss_mb(node.pid) for node in nodes]
        time.sleep(1.5)  # the nodes' diagnostics of the phase's end
        diagnostics = dict(client.diagnostics)
    finally:
        client.close()
        stop_nodes(nodes)
    return {
        "fps": fps,
        "total_fps": sum(fps),
        "rss_mb": rss,
        "cpu_cores": cpu,
        "diagnostics": diagnostics,
    }


def stage_medians(values: dict[str, str]) -> str:
    """Where a frame's time goes in the node (its diagnostics' stage medians, ms)."""
    return ", ".join(
        f"{key.removesuffix('_median_ms')} {value}"
        for key, value in values.items()
        if key.endswith("_median_ms") and not key.startswith(("latency", "processing"))
    )


def shares(fps: list[float]) -> str:
    """Each camera's FPS and its deviation from an equal share of the total."""
    equal = sum(fps) / len(fps)
    return ", ".join(f"{f:.1f} ({(f / equal - 1) * 100:+.0f}%)" for f in fps)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--images", default=str(Path(get_package_share_directory("posenet_ros")) / "data")
    )
    parser.add_argument("--cameras", type=int, default=4)
    parser.add_argument("--seconds", type=float, default=10.0, help="per phase")
    parser.add_argument("--output", default="out/bench_cameras.json")
    args = parser.parse_args(argv)
    try:
        images = [load_image(path) for path in image_files(args.images)]
    except PoseNetError as exc:
        print(f"posenet-ros cameras bench: {exc}", file=sys.stderr)
        return 2
    names = [f"cam{i}" for i in range(args.cameras)]
    print(f"images: {len(images)} from {args.images}; load: {os.getloadavg()}", flush=True)
    core = core_fps(images, args.seconds, people=default_people())
    print(f"core pipeline: {core:.1f} FPS (estimate() + tracking)", flush=True)

    multi_ns = f"{NAMESPACE}/multi"
    multi = run_phase(
        images,
        [Stream(f"{multi_ns}/{n}/image", f"{multi_ns}/{n}/poses") for n in names],
        [start_node(multi_ns, "-p", f"cameras:=[{','.join(names)}]")],
        args.seconds,
    )
    print(
        f"one node, {args.cameras} cameras: {multi['total_fps']:.1f} FPS = "
        f"{multi['total_fps'] / core:.2f} x core (target >= 0.95); per camera "
        f"(vs an equal share, target within 10%): {shares(multi['fps'])}; "
        f"RSS {multi['rss_mb'][0]:.0f} MB; CPU cores busy {multi['cpu_cores'][0]:.2f}; "
        f"stage medians (ms): "
        f"{stage_medians(multi['diagnostics'].get('posenet: pose estimation', {}))}",
        flush=True,
    )

    single_ns = [f"{NAMESPACE}/single_{n}" for n in names]
    singles = run_phase(
        images,
        [Stream(f"{ns}/image", f"{ns}/poses") for ns in single_ns],
        [start_node(ns) for ns in single_ns],
        args.seconds,
    )
    single_rss = float(np.median(singles["rss_mb"]))
    print(
        f"{args.cameras} single-camera nodes: {singles['total_fps']:.1f} FPS = "
        f"{singles['total_fps'] / core:.2f} x core; per node: {shares(singles['fps'])}; "
        f"RSS {' + '.join(f'{r:.0f}' for r in singles['rss_mb'])} = "
        f"{sum(singles['rss_mb']):.0f} MB; CPU cores busy {sum(singles['cpu_cores']):.2f}",
        flush=True,
    )
    print(
        f"memory: the {args.cameras}-camera node holds {multi['rss_mb'][0] / single_rss:.2f} x "
        f"a single-camera node's RSS (target <= 1.3; {args.cameras} nodes: "
        f"{sum(singles['rss_mb']) / single_rss:.2f} x); load after: {os.getloadavg()}"
    )
    figures = {"core_fps": core, "cameras": args.cameras, "one_node": multi, "nodes": singles}
    Path(args.output).parent.mkdir(parents=True, exist_ok=True)
    Path(args.output).write_text(json.dumps(figures, indent=2))
    print(f"figures: {args.output}")
    return 0  # a benchmark reports figures; it does not pass or fail on them


if __name__ == "__main__":
    raise SystemExit(main())
