"""The decoders on device arrays (the NumPy-backed ``cupy`` stand-in): the GPU branches give
exactly the NumPy path's poses, with one device-to-host copy per frame."""

from __future__ import annotations

import numpy as np
import pytest

from decode.device_stand_in import DeviceArray, to_device
from decode.synthetic import scene
from posenet_ros.decode import decode_multiple_poses, decode_single_pose
from posenet_ros.decode.part_queue import candidate_mask


@pytest.mark.parametrize("threshold", [0.0, 0.3, 0.5, 0.9, 1.0])
@pytest.mark.parametrize(("size", "stride", "people"), [(257, 16, 3), (513, 8, 5)])
def test_candidates_judged_over_every_cell_match_the_hot_cells(
    stand_in_cupy, size, stride, people, threshold
) -> None:
    heatmap = scene(size, stride, people=people, seed=people).heatmap
    on_host = candidate_mask(heatmap, threshold)
    on_device = candidate_mask(to_device(heatmap), threshold)
    assert isinstance(on_device, DeviceArray)
    np.testing.assert_array_equal(on_device.get(), on_host)


@pytest.mark.parametrize(("size", "stride", "people"), [(257, 16, 3), (513, 16, 6), (513, 8, 4)])
def test_multi_pose_on_device_arrays_equals_numpy(stand_in_cupy, size, stride, people) -> None:
    maps = scene(size, stride, people=people, seed=size * people)
    arrays = (maps.heatmap, maps.offsets, maps.displacement_fwd, maps.displacement_bwd)
    params = {"max_pose_detections": 10, "score_threshold": 0.3, "nms_radius": 20.0}
    want = decode_multiple_poses(*arrays, stride, **params)
    got = decode_multiple_poses(*(to_device(a) for a in arrays), stride, **params)
    assert DeviceArray.copies_to_host == 1
    assert len(got) == len(want) > 0
    for g, w in zip(got, want, strict=True):
        assert g.score == w.score
        np.testing.assert_array_equal(g.keypoints, w.keypoints)


def test_single_pose_on_device_arrays_equals_numpy(stand_in_cupy) -> None:
    maps = scene(257, 16, people=1, seed=7)
    want = decode_single_pose(maps.heatmap, maps.offsets, 16)
    got = decode_single_pose(to_device(maps.heatmap), to_device(maps.offsets), 16)
    assert DeviceArray.copies_to_host == 1
    assert got.score == want.score
    np.testing.assert_array_equal(got.keypoints, want.keypoints)
