"""Node benchmark: throughput through posenet_node vs the core pipeline on the same images,
per-frame processing at a camera's rate vs the core's ``estimate()`` at that rate, latency
from the image header stamp, and the node's memory over a soak.

    python -m posenet_ros.ros.bench [--seconds 10] [--soak-seconds 30] [--rate 30]
                                    [--executor events|single] [--inference-threads N]

Run in the colcon environment (``make bench-ros`` does). The node is the installed
executable in its own process, as in production; the core figure is measured here first.
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
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import rclpy
from ament_index_python.packages import get_package_prefix, get_package_share_directory
from diagnostic_msgs.msg import DiagnosticArray
from rclpy.qos import qos_profile_sensor_data
from sensor_msgs.msg import Image

from posenet_ros.config import EstimatorConfig
from posenet_ros.errors import PoseNetError
from posenet_ros.estimator import PoseEstimator
from posenet_ros.image_io import load_image
from posenet_ros.msg import Poses
from posenet_ros.ros.bench_frames import SerializedFrames, stamp_ns
from posenet_ros.ros.demo_publisher import image_files
from posenet_ros.ros.diagnostics import LATENCY_SAMPLES, STAGES
from posenet_ros.ros.parameters import PARAMETERS, people_settings
from posenet_ros.ros.people import PeoplePipeline
from posenet_ros.ros.spin import (
    EXECUTOR_CHOICES,
    EXECUTOR_ENV,
    make_executor,
    spin_in_background,
)

TOPIC = "/posenet_bench/image"
IN_FLIGHT = 2  # one frame being processed, one waiting: the node never idles, never drops
DRAIN_S = 0.5  # before a throughput phase: the node answers what it still holds


def core_fps(
    images: list[np.ndarray],
    seconds: float,
    estimator: PoseEstimator | None = None,
    people: PeoplePipeline | None = None,
) -> float:
    """Frames per second of back-to-back ``estimate()`` calls (the core's throughput), each
    followed by ``people``'s tracking (and smoothing) when given, as the node runs them."""
    estimator = estimator or PoseEstimator(EstimatorConfig())
    for image in images:
        estimator.estimate(image)  # warm-up
    frames, start = 0, time.perf_counter()
    while (now := time.perf_counter()) - start < seconds:
        poses = estimator.estimate(images[frames % len(images)])
        if people is not None:
            people.process(poses, now, None)
        frames += 1
    return frames / (time.perf_counter() - start)


def default_people() -> PeoplePipeline:
    """The node's tracking (and smoothing) at its default parameters: the core work after
    ``estimate()`` that the node does on every frame, which the core figure includes."""
    return PeoplePipeline(people_settings({spec.name: spec.default for spec in PARAMETERS}))


def pace(
    rate: float,
    seconds: float,
    tick: Callable[[], None],
    each_second: Callable[[float], None] | None = None,
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], None] = time.sleep,
) -> None:
    """Call ``tick`` at ``rate`` Hz (and ``each_second`` with the elapsed time once a second)
    for ``seconds``, sleeping in between; a late tick is not caught up in a burst."""
    start = next_tick = clock()
    next_report = start + 1.0
    while (now := clock()) - start < seconds:
        if now >= next_tick:
            tick()
            next_tick = max(next_tick + 1.0 / rate, clock())
        if now >= next_report:
            if each_second is not None:
                each_second(now - start)
            next_report += 1.0
        sleep(max(0.0, min(next_tick, next_report) - clock()))


def paced_core_ms(
    estimator: PoseEstimator, images: list[np.ndarray], rate: float, seconds: float
) -> tuple[float, float]:
    """(median, p99) ms of one ``estimate()`` called at ``rate`` Hz, sleeping in between.

    At a camera's pace the CPU and ONNX Runtime's threads idle between frames, so a frame costs
    more than back to back: this is what the node's processing at that rate compares with.
    """
    times: list[float] = []

    def tick() -> None:
        began = time.perf_counter()
        estimator.estimate(images[len(times) % len(images)])
        times.append(time.perf_counter() - began)

    pace(rate, seconds, tick)
    median, p99 = np.percentile(np.array(times) * 1e3, [50, 99])
    return float(median), float(p99)


class BenchClient:
    """Publishes stamped frames to the node and records when their poses come back."""

    def __init__(self, images: list[np.ndarray]) -> None:
        self.context = rclpy.Context()
        rclpy.init(context=self.context)
        self.node = rclpy.create_node("posenet_bench", context=self.context)
        self.frames = SerializedFrames(images)
        self.pub = self.node.create_publisher(Image, TOPIC, qos_profile_sensor_data)
        self.node.create_subscription(Poses, "/posenet_bench/poses", self._on_poses, 10, raw=True)
        self.node.create_subscription(DiagnosticArray, "/diagnostics", self._on_diag, 10)
        self.replies: list[tuple[float, float]] = []  # (arrival monotonic, latency s)
        # stamps (ns) of frames sent and not yet answered, oldest first
        self.outstanding: deque[int] = deque()
        self.diagnostics: dict[str, str] = {}
        self.reply_event = threading.Event()
        self.diagnostics_event = threading.Event()
        self._sent = 0
        # The node's executor (EventsExecutor where rclpy has it): the bench's own dispatching
        # takes as little as it can from the cores the node is measured on.
        self.executor = make_executor(self.context)
        self.executor.add_node(self.node)
        self._spinning = spin_in_background(self.executor, self.context)

    def publish(self) -> None:
        now_ns = self.node.get_clock().now().nanoseconds
        self.outstanding.append(now_ns)
        self.pub.publish(self.frames.stamped(self._sent, now_ns))
        self._sent += 1

    def _on_poses(self, raw: bytes) -> None:
        stamp = stamp_ns(raw)
        latency = (self.node.get_clock().now().nanoseconds - stamp) * 1e-9
        # The node answers in order: older unanswered frames were dropped (or lost).
        while self.outstanding and self.outstanding[0] <= stamp:
            self.outstanding.popleft()
        self.replies.append((time.monotonic(), latency))
        self.reply_event.set()

    def _on_diag(self, msg: DiagnosticArray) -> None:
        for status in msg.status:
            if status.name.startswith("posenet"):
                self.diagnostics = {kv.key: kv.value for kv in status.values}
                self.diagnostics_event.set()

    def fresh_diagnostics(self, timeout_s: float = 5.0) -> dict[str, str]:
        """The node's next /diagnostics values (published once a second)."""
        self.diagnostics_event.clear()
        self.diagnostics_event.wait(timeout_s)
        return self.diagnostics

    def wait_connected(self, timeout_s: float = 60.0) -> None:
        deadline = time.monotonic() + timeout_s
        while not self.replies:
            if time.monotonic() > deadline:
                raise RuntimeError("the node never answered; is the colcon build sourced?")
            self.publish()
            self.reply_event.wait(0.5)

    def closed_loop(self, seconds: float) -> float:
        """Frames per second with IN_FLIGHT frames outstanding (sent, not yet answered)."""
        self.outstanding.clear()
        self.replies.clear()
        start = time.monotonic()
        while time.monotonic() - start < seconds:
            self.reply_event.clear()
            while len(self.outstanding) < IN_FLIGHT:
                self.publish()
            if not self.reply_event.wait(1.0):
                self.outstanding.clear()  # lost in transport: refill
        arrivals = [t for t, _ in self.replies if t >= start]
        return (len(arrivals) - 1) / (arrivals[-1] - arrivals[0]) if len(arrivals) > 1 else 0.0

    def fixed_rate(self, rate: float, seconds: float, each_second=None) -> list[float]:
        """Publish at ``rate`` Hz for ``seconds``; latencies (s) of the frames answered."""
        self.replies.clear()
        pace(rate, seconds, self.publish, each_second)
        return [latency for _, latency in self.replies]

    def close(self) -> None:
        rclpy.try_shutdown(context=self.context)  # wakes and ends the spinning thread
        self._spinning.join()
        self.executor.shutdown()
        self.node.destroy_node()


@dataclass(frozen=True)
class RoundFigures:
    estimate_fps: float  # estimate() alone, back to back
    core_fps: float  # estimate() + tracking, as the node runs them
    node_fps: float
    node_cpu: float  # cores busy in the node process while it served
    bench_cpu: float  # ... and in this process (publisher, subscriber)

    @property
    def ratio(self) -> float:
        return self.node_fps / self.core_fps


def throughput_round(
    client: BenchClient,
    node_pid: int,
    images: list[np.ndarray],
    estimator: PoseEstimator,
    people: PeoplePipeline,
    seconds: float,
) -> RoundFigures:
    """The core's FPS (alone and with tracking), then the node's, each for ``seconds``."""
    estimate = core_fps(images, seconds, estimator)
    core = core_fps(images, seconds, estimator, people)
    time.sleep(DRAIN_S)  # answers to earlier frames
    cpu_before = cpu_seconds(node_pid), time.process_time()
    through_node = client.closed_loop(seconds)
    node_cpu = (cpu_seconds(node_pid) - cpu_before[0]) / seconds
    bench_cpu = (time.process_time() - cpu_before[1]) / seconds
    return RoundFigures(estimate, core, through_node, node_cpu, bench_cpu)


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--images", default=str(Path(get_package_share_directory("posenet_ros")) / "data")
    )
    parser.add_argument("--seconds", type=float, default=10.0, help="per throughput phase")
    parser.add_argument(
        "--rounds", type=int, default=5, help="alternating core/node rounds of the throughput"
    )
    parser.add_argument("--rate", type=float, default=30.0, help="input rate of the soak, Hz")
    parser.add_argument(
        "--soak-seconds", type=float, default=30.0, help="600 for the 10-minute soak"
    )
    parser.add_argument("--output", default="out/bench_ros.json")
    parser.add_argument(
        "--executor",
        choices=EXECUTOR_CHOICES,
        help=f"the node's executor ({EXECUTOR_ENV}; default: events where rclpy has it)",
    )
    parser.add_argument(
        "--inference-threads",
        type=int,
        default=0,
        help="ONNX Runtime threads of the core and the node alike (0: one per physical core)",
    )
    args = parser.parse_args(argv)

    try:
        images = [load_image(path) for path in image_files(args.images)]
    except PoseNetError as exc:
        print(f"posenet-ros bench: {exc}", file=sys.stderr)
        return 2
    print(f"images: {len(images)} from {args.images}", flush=True)
    estimator = PoseEstimator(EstimatorConfig(inference_threads=args.inference_threads))
    people = default_people()

    executable = Path(get_package_prefix("posenet_ros")) / "lib" / "posenet_ros" / "posenet_node"
    node = subprocess.Popen(
        [
            str(executable),
            "--ros-args",
            "-r",
            "__ns:=/posenet_bench",
            "-r",
            f"image:={TOPIC}",
            "-p",
            f"inference_threads:={args.inference_threads}",
            "--log-level",
            "warn",
        ],
        start_new_session=True,
        env=os.environ | ({EXECUTOR_ENV: args.executor} if args.executor else {}),
    )
    client = BenchClient(images)
    try:
        client.wait_connected()
        # Core and node alternate in short rounds, so a drift of the machine's speed during
        # the run moves both figures of a round alike; the ratio is the median round's.
        rounds = [
            throughput_round(
                client, node.pid, images, estimator, people, args.seconds / args.rounds
            )
            for _ in range(args.rounds)
        ]
        for index, figures in enumerate(rounds):
            print(
                f"round {index + 1}: core {figures.core_fps:.1f} FPS (estimate() alone "
                f"{figures.estimate_fps:.1f}), node {figures.node_fps:.1f} FPS = "
                f"{figures.ratio:.2f} x core; CPU cores busy: node {figures.node_cpu:.2f}, "
                f"this publisher/subscriber {figures.bench_cpu:.2f} (of {os.cpu_count()})",
                flush=True,
            )
        middle = sorted(rounds, key=lambda figures: figures.ratio)[len(rounds) // 2]
        core, through_node, ratio = middle.core_fps, middle.node_fps, middle.ratio
        print(
            f"core pipeline: {core:.1f} FPS (estimate() + tracking back to back, in this "
            f"process); through the node: {through_node:.1f} FPS = {ratio:.2f} x core, median "
            f"of {len(rounds)} alternating rounds (target >= 0.95; {IN_FLIGHT} frames in "
            f"flight, raw rgb8 over DDS to /poses); versus estimate() alone "
            f"{middle.node_fps / middle.estimate_fps:.2f} x",
            flush=True,
        )

        rate = min(args.rate, 0.8 * through_node)
        paced_median, paced_p99 = paced_core_ms(estimator, images, rate, args.seconds)
        # Long enough for the node's processing window to hold only frames at this rate.
        paced_seconds = max(args.seconds, LATENCY_SAMPLES / rate + 1.0)
        latencies = np.array(client.fixed_rate(rate, paced_seconds)) * 1e3
        median, p99 = np.percentile(latencies, [50, 99])
        diagnostics = client.fresh_diagnostics()
        processing = float(diagnostics.get("processing_median_ms", "nan"))
        print(
            f"per frame at {rate:.1f} Hz: node conversion + estimation median {processing:.1f} ms "
            f"(its /diagnostics processing_median_ms) vs core estimate() paced at {rate:.1f} Hz "
            f"in this process median {paced_median:.2f} ms, p99 {paced_p99:.2f} ms: "
            f"{processing / paced_median:.2f} x (target <= 1.1)",
            flush=True,
        )
        print(
            "node stages at that rate, medians (ms): "
            + ", ".join(f"{stage} {diagnostics.get(f'{stage}_median_ms')}" for stage in STAGES)
            + " (handover: subscription callback -> inference thread taking the frame, waiting"
            " for the previous one included; publish: people pipeline, messages, publishing)",
            flush=True,
        )
        print(
            f"latency stamp -> poses at {rate:.1f} Hz: median {median:.1f} ms, p99 {p99:.1f} ms "
            f"(node's own stamp -> publish: median "
            f"{client.diagnostics.get('latency_median_ms')} ms, "
            f"p99 {client.diagnostics.get('latency_p99_ms')} ms; of which conversion + "
            f"estimation: median {client.diagnostics.get('processing_median_ms')} ms)",
            flush=True,
        )

        samples: list[tuple[float, float]] = []
        before = client.fresh_diagnostics()  # the node's counters run from its start
        client.fixed_rate(
            args.rate, args.soak_seconds, lambda t: samples.append((t, rss_mb(node.pid)))
        )
        after = client.fresh_diagnostics()
        counted = {
            key: int(after.get(key, 0)) - int(before.get(key, 0))
            for key in ("frames_dropped", "bad_frames", "errors")
        }
        rss = np.array(samples)
        slope = np.polyfit(rss[:, 0] / 60, rss[:, 1], 1)[0] if len(rss) > 2 else float("nan")
        print(
            f"soak {args.soak_seconds:.0f} s at {args.rate:g} Hz: node RSS {rss[0, 1]:.0f} -> "
            f"{rss[-1, 1]:.0f} MB (max {rss[:, 1].max():.0f}), trend {slope:+.2f} MB/min; "
            f"during it: dropped {counted['frames_dropped']}, bad {counted['bad_frames']}, "
            f"errors {counted['errors']}"
        )
    finally:
        client.close()
        node.send_signal(signal.SIGINT)
        node.wait(10)

    figures = {
        "core_fps": core,
        "node_fps": through_node,
        "ratio": ratio,
        "rounds": [asdict(figures) for figures in rounds],
        "executor": args.executor or "default",
        "latency_rate_hz": rate,
        "paced_core_median_ms": paced_median,
        "paced_core_p99_ms": paced_p99,
        "node_processing_median_ms": processing,
        "processing_ratio": processing / paced_median,
        "latency_median_ms": median,
        "latency_p99_ms": p99,
        "soak_seconds": args.soak_seconds,
        "soak_rate_hz": args.rate,
        "rss_start_mb": rss[0, 1],
        "rss_end_mb": rss[-1, 1],
        "rss_max_mb": rss[:, 1].max(),
        "rss_trend_mb_per_min": slope,
        "soak_counts": counted,
        "node_diagnostics": client.diagnostics,
    }
    Path(args.output).parent.mkdir(parents=True, exist_ok=True)
    Path(args.output).write_text(json.dumps(figures, indent=2, default=float))
    print(f"figures: {args.output}")
    return 0  # a benchmark reports figures; it does not pass or fail on them


if __name__ == "__main__":
    raise SystemExit(main())
