"""Does a batch pay on ONNX Runtime? N frames in one call against N calls of one frame.

    python -m posenet_ros.backends.batch_bench [--size 257] [--repeat 30]

This bench runs the batched dynamic-size export (symbolic batch dimension, as TensorRT batch
engines are built from) with the backend's own session options. One call and N calls
alternate within each repetition (same load for both), and the batched outputs are checked
equal to the single-frame ones first.
"""

from __future__ import annotations

import argparse
import os
import time

import numpy as np
import onnxruntime as ort

from posenet_ros.backends.onnxruntime_backend import CPU_PROVIDER, _session_options
from posenet_ros.model.export import ensure_onnx
from posenet_ros.model.mobilenet import OUTPUT_NAMES

MAX_BATCH = 4


def batched_session(output_stride: int) -> ort.InferenceSession:
    """The dynamic-size export with a symbolic batch dimension on its input and outputs."""
    return ort.InferenceSession(
        str(ensure_onnx(output_stride, None, batched=True)),
        sess_options=_session_options(None),
        providers=[CPU_PROVIDER],
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--size", type=int, default=257, help="square input side")
    parser.add_argument("--output-stride", type=int, default=16)
    parser.add_argument("--repeat", type=int, default=30)
    args = parser.parse_args(argv)
    session = batched_session(args.output_stride)
    frames = np.random.default_rng(0).uniform(-1, 1, (MAX_BATCH, args.size, args.size, 3))
    frames = frames.astype(np.float32)

    def run(batch: np.ndarray) -> list[np.ndarray]:
        return session.run(OUTPUT_NAMES, {"image": batch})

    together = run(frames)
    same = all(
        np.array_equal(batched[i], single[0])
        for i in range(MAX_BATCH)
        for batched, single in zip(together, run(frames[i : i + 1]), strict=True)
    )
    print(f"batched outputs equal single-frame outputs: {same}; load {os.getloadavg()}")
    for _ in range(5):
        run(frames)  # warm-up
    times: dict[int, tuple[list[float], list[float]]] = {
        n: ([], []) for n in range(1, MAX_BATCH + 1)
    }
    for _ in range(args.repeat):
        for n, (one_call, n_calls) in times.items():
            started = time.perf_counter()
            run(frames[:n])
            one_call.append(time.perf_counter() - started)
            started = time.perf_counter()
            for i in range(n):
                run(frames[i : i + 1])
            n_calls.append(time.perf_counter() - started)
    for n, (one_call, n_calls) in times.items():
        batched, separate = np.median(one_call) * 1e3, np.median(n_calls) * 1e3
        print(
            f"N={n} at {args.size}x{args.size}: one call {batched:.2f} ms, {n} calls "
            f"{separate:.2f} ms (one call / N calls = {batched / separate:.2f})"
        )
    print(f"load after: {os.getloadavg()}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
