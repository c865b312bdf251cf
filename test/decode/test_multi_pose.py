import math

import numpy as np
import pytest

from decode.synthetic import scene
from posenet_ros.decode import decode_multiple_poses
from posenet_ros.errors import ModelError
from posenet_ros.keypoints import PART_IDS, POSE_CHAIN

LOW = -10.0  # background logit


def _sig(x: float) -> float:
    return float(np.float32(1.0 / (1.0 + math.exp(-x))))


def _outputs(size: int = 10) -> list[np.ndarray]:
    return [
        np.full((size, size, 17), LOW, np.float32),
        np.zeros((size, size, 34), np.float32),
        np.zeros((size, size, 32), np.float32),
        np.zeros((size, size, 32), np.float32),
    ]


def _decode(outputs, stride=10, max_poses=5, threshold=0.5, radius=20.0):
    return decode_multiple_poses(*outputs, stride, max_poses, threshold, radius)


def test_no_candidate_above_the_threshold_gives_no_pose():
    assert _decode(_outputs()) == []


def test_greedy_order_nms_skip_and_scores():
    # Zero offsets and displacements: every keypoint of a pose sits on its root's cell.
    outputs = _outputs()
    heatmap = outputs[0]
    heatmap[2, 2, 0] = 3.0  # nose root of pose 1, at (20, 20)
    heatmap[7, 7, 0] = 2.0  # nose root of pose 2, at (70, 70)
    heatmap[2, 3, 5] = 1.0  # leftShoulder at (20, 30): 10 px from pose 1's leftShoulder
    poses = _decode(outputs)
    assert len(poses) == 2
    first, second = poses
    assert first.keypoints.shape == (17, 3)
    assert first.keypoints.dtype == np.float64
    assert first.keypoints.flags.c_contiguous
    assert first.keypoints[:, :2].tolist() == [[20.0, 20.0]] * 17
    assert second.keypoints[:, :2].tolist() == [[70.0, 70.0]] * 17
    assert first.keypoints[0, 2] == _sig(3.0)
    assert first.keypoints[5, 2] == _sig(LOW)  # read at the cell the part landed on
    assert first.score == pytest.approx((_sig(3.0) + 16 * _sig(LOW)) / 17, abs=1e-15)
    assert second.score == pytest.approx((_sig(2.0) + 16 * _sig(LOW)) / 17, abs=1e-15)
    # 10 px is exactly the radius: still suppressed; just under it, a third pose.
    assert len(_decode(outputs, radius=10.0)) == 2
    assert len(_decode(outputs, radius=9.99)) == 3


def test_instance_score_ignores_parts_claimed_by_an_earlier_pose():
    outputs = _outputs()
    heatmap, _, _, bwd = outputs
    heatmap[2, 2, 0] = 3.0
    heatmap[2, 3, 5] = 1.0
    # From the leftShoulder root at (20, 30), the nose is displaced onto pose 1's nose; the
    # parts reached from the nose follow it, the left arm and leg stay at (20, 30).
    edge = POSE_CHAIN.index(("nose", "leftShoulder"))
    bwd[..., edge + 16] = -10.0
    poses = _decode(outputs, radius=9.99)
    assert len(poses) == 2
    second = poses[1]
    left_side = [PART_IDS[p] for p in ("leftShoulder", "leftElbow", "leftWrist")] + [
        PART_IDS[p] for p in ("leftHip", "leftKnee", "leftAnkle")
    ]
    for part in range(17):
        expected = [30.0, 20.0] if part in left_side else [20.0, 20.0]
        assert second.keypoints[part, :2].tolist() == expected
    assert second.score == pytest.approx((_sig(1.0) + 5 * _sig(LOW)) / 17, abs=1e-15)


def test_root_position_includes_its_offset():
    outputs = _outputs()
    outputs[0][4, 6, 11] = 2.0
    outputs[1][4, 6, 11] = 2.5  # y
    outputs[1][4, 6, 11 + 17] = -3.5  # x
    (pose,) = _decode(outputs)
    assert pose.keypoints[11].tolist() == [60 - 3.5, 40 + 2.5, _sig(2.0)]


def test_max_pose_detections_cuts_off():
    outputs = _outputs()
    for i, cell in enumerate((1, 4, 7)):
        outputs[0][cell, cell, 0] = 3.0 - i
    assert len(_decode(outputs, max_poses=5)) == 3
    poses = _decode(outputs, max_poses=2)
    assert [p.keypoints[0, 0] for p in poses] == [10.0, 40.0]


def test_equal_root_scores_are_taken_in_the_reference_heap_order():
    # Scan order a, b, c, d with scores 1, 1, 2, 1: the reference dequeues c, d, b, a
    # (see test_max_heap); a stable sort would give c, a.
    outputs = _outputs()
    for (y, x), part, logit in (
        ((1, 1), 0, 1.0),
        ((1, 8), 1, 1.0),
        ((5, 5), 2, 2.0),
        ((8, 8), 3, 1.0),
    ):
        outputs[0][y, x, part] = logit
    first, second = _decode(outputs, max_poses=2, radius=5.0)
    assert first.keypoints[2, :2].tolist() == [50.0, 50.0]
    assert second.keypoints[3, :2].tolist() == [80.0, 80.0]
    assert second.keypoints[3, 2] == _sig(1.0)


def test_decodes_every_planted_person():
    s = scene(513, 16, people=4, seed=11, noise=0.1)
    poses = decode_multiple_poses(
        s.heatmap, s.offsets, s.displacement_fwd, s.displacement_bwd, 16, 5, 0.5, 20.0
    )
    assert len(poses) == 4
    for person in s.people:
        errors = [np.abs(p.keypoints[:, :2] - person).max() for p in poses]
        assert min(errors) < 3.0
    scores = [p.score for p in poses]
    assert all(0.5 < s <= 1.0 for s in scores)


def test_nan_displacement_reached_by_the_traversal_is_a_model_error():
    outputs = _outputs()
    outputs[0][5, 5, 0] = 3.0
    outputs[3][5, 5, :] = np.nan
    outputs[2][5, 5, :] = np.nan
    with pytest.raises(ModelError, match="NaN"):
        _decode(outputs)


def test_neighbouring_roots_whose_scores_saturate_are_both_candidates():
    # sigmoid(20) and sigmoid(30) both round to 1.0 in float32: neither is greater, so both
    # are local maxima (as in the reference), and the tie dequeues the first scanned first.
    outputs = _outputs()
    outputs[0][2, 2, 0] = 20.0
    outputs[0][2, 3, 0] = 30.0
    poses = _decode(outputs, radius=5.0)
    assert [p.keypoints[0].tolist() for p in poses] == [[20.0, 20.0, 1.0], [30.0, 20.0, 1.0]]


def test_poses_own_their_keypoint_rows():
    outputs = _outputs()
    outputs[0][1, 1, 0] = 3.0
    outputs[0][7, 7, 0] = 2.0
    first, second = _decode(outputs)
    first.keypoints[:] = -1.0
    assert second.keypoints[0, :2].tolist() == [70.0, 70.0]


def test_nan_score_of_an_unclaimed_part_is_a_model_error():
    # Zero displacements and offsets: every part of the pose rooted at (5, 5) lands there.
    outputs = _outputs()
    outputs[0][5, 5, 0] = 3.0
    outputs[0][5, 5, 1] = np.nan
    with pytest.raises(ModelError, match="NaN or infinite scores"):
        _decode(outputs)


def test_fortran_ordered_and_read_only_maps_decode_alike():
    s = scene(257, 16, people=3, seed=11)
    arrays = [s.heatmap, s.offsets, s.displacement_fwd, s.displacement_bwd]
    want = decode_multiple_poses(*arrays, 16, 10, 0.3, 20.0)
    read_only = [a.copy() for a in arrays]
    for a in read_only:
        a.flags.writeable = False
    for maps in ([np.asfortranarray(a) for a in arrays], read_only):
        got = decode_multiple_poses(*maps, 16, 10, 0.3, 20.0)
        assert len(got) == len(want) == 3
        for g, w in zip(got, want, strict=True):
            assert g.score == w.score
            np.testing.assert_array_equal(g.keypoints, w.keypoints)
