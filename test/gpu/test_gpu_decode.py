"""Decoding CuPy maps gives the same poses as decoding the same NumPy maps."""

from __future__ import annotations

import numpy as np
import pytest
from decode.synthetic import scene

from posenet_ros.decode import decode_multiple_poses, decode_single_pose

pytestmark = pytest.mark.gpu


@pytest.mark.parametrize(("size", "stride"), [(257, 16), (513, 16), (257, 8), (513, 8)])
def test_single_pose_matches_cpu(cp, size, stride) -> None:
    maps = scene(size, stride, people=1, seed=size + stride)
    cpu = decode_single_pose(maps.heatmap, maps.offsets, stride)
    gpu = decode_single_pose(cp.asarray(maps.heatmap), cp.asarray(maps.offsets), stride)
    np.testing.assert_allclose(gpu.keypoints, cpu.keypoints, rtol=0, atol=1e-4)
    assert gpu.score == pytest.approx(cpu.score, abs=1e-6)


@pytest.mark.parametrize(("size", "stride", "people"), [(257, 16, 3), (513, 16, 6), (513, 8, 4)])
def test_multi_pose_matches_cpu(cp, size, stride, people) -> None:
    maps = scene(size, stride, people=people, seed=size * people)
    arrays = (maps.heatmap, maps.offsets, maps.displacement_fwd, maps.displacement_bwd)
    params = {"max_pose_detections": 10, "score_threshold": 0.3, "nms_radius": 20.0}
    cpu = decode_multiple_poses(*arrays, stride, **params)
    gpu = decode_multiple_poses(*(cp.asarray(a) for a in arrays), stride, **params)
    assert len(gpu) == len(cpu) > 0
    for g, c in zip(gpu, cpu, strict=True):
        assert g.score == pytest.approx(c.score, abs=1e-5)
        np.testing.assert_allclose(g.keypoints, c.keypoints, rtol=0, atol=1e-4)
