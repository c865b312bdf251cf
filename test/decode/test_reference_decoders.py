"""Decoders against the real posenet 2.2.2 decoders in Node, on the same raw outputs.

Isolates decoding from the network and preprocessing: synthetic outputs, some with many
exactly equal scores (heap order) and offsets on exact half cells (rounding), must give
bit-identical poses. Needs Node.js + npm (the reference harness installs the pinned packages).
"""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import numpy as np
import pytest

from decode.synthetic import Scene, scene
from posenet_ros.decode import decode_multiple_poses, decode_single_pose

pytestmark = pytest.mark.parity

HARNESS = Path(__file__).with_name("reference_decode.js")


def _variant(s: Scene, kind: str, stride: int) -> Scene:
    if kind == "ties":  # logits on a 0.5 grid: many equal float32 scores
        return s._replace(heatmap=np.round(s.heatmap * 2) / 2)
    if kind == "saturated":  # many scores exactly 1.0
        return s._replace(heatmap=s.heatmap * 6)
    if kind == "half_cells":  # positions on exact half cells: Math.round's halves
        half = stride / 2
        snap = [np.round(a / half) * half for a in s[1:4]]
        return s._replace(offsets=snap[0], displacement_fwd=snap[1], displacement_bwd=snap[2])
    return s


def _cases() -> list[dict]:
    rng = np.random.default_rng(2024)
    cases = []
    for i, kind in enumerate(["plain", "ties", "saturated", "half_cells"] * 6):
        stride = (8, 16)[i % 2]
        size = (129, 257, 353)[i % 3]
        s = _variant(scene(size, stride, people=1 + i % 6, seed=i, noise=0.5), kind, stride)
        maps = [np.ascontiguousarray(a, dtype=np.float32) for a in s[:4]]
        cases.append(
            {
                "maps": maps,
                "stride": stride,
                "maxDetections": int(rng.integers(1, 10)),
                "scoreThreshold": float(rng.choice([0.1, 0.5, 0.7, rng.uniform(0, 1)])),
                "nmsRadius": float(rng.choice([5.0, 20.0, rng.uniform(1, 60)])),
            }
        )
    return cases


def _run_reference(cases: list[dict], work: Path) -> list[dict]:
    from posenet_ros.reference.runner import ensure_node_modules

    # Without Node.js this fails with the runner's clear error, as the parity tests do: a
    # skip here would let the decoders' bit-exactness go unchecked in a green run.
    modules = ensure_node_modules() / "node_modules"
    data = work / "maps.f32"
    request = {"data": str(data), "cases": []}
    offset = 0
    with data.open("wb") as out:
        for case in cases:
            request["cases"].append(
                {k: v for k, v in case.items() if k != "maps"}
                | {"offset": offset, "shape": list(case["maps"][0].shape[:2])}
            )
            for array in case["maps"]:
                out.write(array.tobytes())
                offset += array.size
    (work / "request.json").write_text(json.dumps(request))
    subprocess.run(
        ["node", str(HARNESS), str(work / "request.json"), str(work / "response.json")],
        check=True,
        env=os.environ | {"NODE_PATH": str(modules)},
        capture_output=True,
        timeout=300,
    )
    return json.loads((work / "response.json").read_text())


def _rows(pose) -> tuple[float, list[list[float]]]:
    return pose.score, pose.keypoints.tolist()


def test_bit_identical_to_the_reference_decoders(tmp_path):
    cases = _cases()
    reference = _run_reference(cases, tmp_path)
    for case, expected in zip(cases, reference, strict=True):
        heatmap, offsets, fwd, bwd = case["maps"]
        stride = case["stride"]
        single = decode_single_pose(heatmap, offsets, stride)
        assert _rows(single) == (expected["single"]["score"], expected["single"]["keypoints"])
        multi = decode_multiple_poses(
            heatmap,
            offsets,
            fwd,
            bwd,
            stride,
            case["maxDetections"],
            case["scoreThreshold"],
            case["nmsRadius"],
        )
        assert [_rows(p) for p in multi] == [
            (p["score"], p["keypoints"]) for p in expected["multi"]
        ]
