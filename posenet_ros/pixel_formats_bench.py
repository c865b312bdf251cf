"""Conversion time per frame for every raw encoding, and OpenCV's for the same when installed.

    python -m posenet_ros.pixel_formats_bench [--width 640] [--height 480] [--frames 300]

Frames are uniform noise (the YUV and Bayer kernels have no data-dependent branches, so the
content does not change their time); rows are padded by 64 bytes, as some drivers do. Each
figure is the median over ``--frames`` calls of ``pixel_formats.to_rgb`` on one thread, output
allocation included; interleaved encodings are zero-copy views, so theirs is the cost of the
view. OpenCV's ``cvtColor`` (YUV, Bayer) is timed on one thread and on all of them.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from posenet_ros.pixel_formats import FORMATS, to_rgb, warm_up

TARGET_MS = 1.0  # per 640x480 frame, YUV 4:2:2 and Bayer
ROW_PADDING = 64
# OpenCV's cvtColor code for the computed encodings (Bayer: OpenCV's names, see pixel_formats).
OPENCV_CODES = {
    "uyvy": "COLOR_YUV2RGB_UYVY",
    "yuyv": "COLOR_YUV2RGB_YUY2",
    "bayer_rggb8": "COLOR_BayerBG2RGB",
    "bayer_bggr8": "COLOR_BayerRG2RGB",
    "bayer_gbrg8": "COLOR_BayerGR2RGB",
    "bayer_grbg8": "COLOR_BayerGB2RGB",
}
ALIASES = {"yuv422": "uyvy", "yuv422_yuy2": "yuyv"}  # timed under their current names


@dataclass(frozen=True)
class Timing:
    encoding: str
    ms: float
    opencv_one_thread_ms: float | None  # None: no OpenCV equivalent or OpenCV not installed
    opencv_all_threads_ms: float | None

    @property
    def has_target(self) -> bool:
        return self.encoding in OPENCV_CODES


def median_ms(frames: int, function: Callable[..., object], *args: object) -> float:
    """Median wall time of ``function(*args)`` over ``frames`` calls, after one untimed call."""
    function(*args)
    times = []
    for _ in range(frames):
        start = time.perf_counter()
        function(*args)
        times.append(time.perf_counter() - start)
    return statistics.median(times) * 1e3


def run_bench(width: int = 640, height: int = 480, frames: int = 300) -> list[Timing]:
    warm_up()
    rng = np.random.default_rng(0)
    cv2 = _opencv()
    timings = []
    for encoding, layout in FORMATS.items():
        if encoding in ALIASES:
            continue
        step = width * layout.pixel_bytes + ROW_PADDING
        data = rng.integers(0, 256, step * height, dtype=np.uint8).tobytes()
        ms = median_ms(frames, to_rgb, encoding, data, height, width, step)
        one = every = None
        if cv2 is not None and encoding in OPENCV_CODES:
            code = getattr(cv2, OPENCV_CODES[encoding])
            rows = np.frombuffer(data, np.uint8).reshape(height, step)
            source = rows[:, : width * layout.pixel_bytes].reshape(height, width, -1)
            threads = cv2.getNumThreads()
            cv2.setNumThreads(1)
            one = median_ms(frames, cv2.cvtColor, source, code)
            cv2.setNumThreads(threads)
            every = median_ms(frames, cv2.cvtColor, source, code)
        timings.append(Timing(encoding, ms, one, every))
    return timings


def _opencv():
    try:
        import cv2
    except ImportError:
        return None
    return cv2


def report(timings: Sequence[Timing], width: int, height: int) -> str:
    cv2 = _opencv()
    threads = cv2.getNumThreads() if cv2 is not None else 0
    lines = [
        f"conversion to RGB per {width}x{height} frame, ms (median); "
        f"OpenCV {'not installed' if cv2 is None else cv2.__version__}",
        f"{'encoding':<13} {'posenet_ros':>11} {'OpenCV 1 thr':>12} "
        f"{f'OpenCV {threads} thr':>12}  target",
    ]
    for t in timings:
        target = ""
        if t.has_target and (width, height) == (640, 480):
            target = f"<= {TARGET_MS:g} {'ok' if t.ms <= TARGET_MS else 'MISSED'}"
        lines.append(
            f"{t.encoding:<13} {t.ms:>11.3f} {_ms(t.opencv_one_thread_ms):>12} "
            f"{_ms(t.opencv_all_threads_ms):>12}  {target}"
        )
    return "\n".join(lines)


def _ms(value: float | None) -> str:
    return "-" if value is None else f"{value:.3f}"


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m posenet_ros.pixel_formats_bench")
    parser.add_argument("--width", type=int, default=640)
    parser.add_argument("--height", type=int, default=480)
    parser.add_argument("--frames", type=int, default=300)
    args = parser.parse_args(argv)
    if args.width < 4 or args.height < 3 or args.width % 2 or args.frames < 1:
        parser.error("--width must be even and >= 4, --height >= 3, --frames >= 1")
    print(report(run_bench(args.width, args.height, args.frames), args.width, args.height))
    return 0


if __name__ == "__main__":
    sys.exit(main())
