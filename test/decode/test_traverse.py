import math

import numpy as np
import pytest

from posenet_ros.decode.traverse import HostMaps, decode_pose, nearest_cell
from posenet_ros.keypoints import PART_IDS


def _maps(height: int, width: int, stride: int) -> dict[str, np.ndarray]:
    return {
        "offsets": np.zeros((height, width, 34), np.float32),
        "displacement_fwd": np.zeros((height, width, 32), np.float32),
        "displacement_bwd": np.zeros((height, width, 32), np.float32),
        "stride": stride,
    }


@pytest.mark.parametrize(
    ("position", "stride", "size", "cell"),
    [
        (24.0, 16, 10, 2),  # 1.5 rounds up (JS Math.round), Python's round would give 2 too
        (40.0, 16, 10, 3),  # 2.5 -> 3, where Python's round gives 2
        (39.99, 16, 10, 2),
        (0.49999999999999994, 1, 10, 0),  # floor(q + 0.5) would wrongly give 1
        (-8.0, 16, 10, 0),  # -0.5 -> -0 in JS, clamped to 0
        (-24.0, 16, 10, 0),  # -1.5 -> -1, clamped to 0
        (150.0, 16, 10, 9),  # 9.375 -> 9
        (152.0, 16, 10, 9),  # 9.5 -> 10, clamped to the last cell
        (1e9, 8, 3, 2),
    ],
)
def test_nearest_cell_rounds_half_up_and_clamps(position, stride, size, cell):
    tall = HostMaps.from_arrays(**_maps(size, 1, stride))
    wide = HostMaps.from_arrays(**_maps(1, size, stride))
    assert nearest_cell(tall, position, position) == (cell, 0)
    assert nearest_cell(wide, position, position) == (0, cell)


@pytest.mark.parametrize(("value", "error"), [(math.nan, ValueError), (-math.inf, OverflowError)])
def test_nearest_cell_rejects_nan_and_infinite_positions(value, error):
    maps = HostMaps.from_arrays(**_maps(10, 10, 16))
    with pytest.raises(error):
        nearest_cell(maps, value, 0.0)
    with pytest.raises(error):
        nearest_cell(maps, 0.0, value)


def test_host_maps_are_flat_float32_views():
    arrays = _maps(2, 3, 8)
    arrays["offsets"] = arrays["offsets"].astype(np.float64)
    arrays["offsets"][1, 2, 33] = 0.1
    maps = HostMaps.from_arrays(**arrays)
    assert (maps.height, maps.width, maps.stride) == (2, 3, 8)
    assert len(maps.offsets) == 2 * 3 * 34
    assert maps.offsets[-1] == float(np.float32(0.1))


def test_step_reads_displacement_at_source_then_refines_twice():
    arrays = _maps(3, 3, 10)
    edge, target = _edge("nose", "leftShoulder"), PART_IDS["leftShoulder"]
    # Source (12, 19) -> cell (1, 2); displacement there (-9, -14) -> point (3, 5).
    arrays["displacement_fwd"][1, 2, edge] = -9.0
    arrays["displacement_fwd"][1, 2, edge + 16] = -14.0
    # (3, 5) -> cell (0, 1) (0.5 rounds up); offset (8, 6) -> (8, 16).
    arrays["offsets"][0, 1, target] = 8.0
    arrays["offsets"][0, 1, target + 17] = 6.0
    # (8, 16) -> cell (1, 2); offset (-1, 2) -> (9, 22), whose cell (1, 2) gives the score.
    arrays["offsets"][1, 2, target] = -1.0
    arrays["offsets"][1, 2, target + 17] = 2.0
    maps = HostMaps.from_arrays(**arrays)
    keypoints = decode_pose(maps, PART_IDS["nose"], 99, 12.0, 19.0)
    assert (keypoints.ys[target], keypoints.xs[target]) == (9.0, 22.0)
    assert keypoints.score_index[target] == (1 * 3 + 2) * 17 + target
    assert keypoints.score_index[PART_IDS["nose"]] == 99  # the root keeps its own


def test_refinement_stops_at_a_fixed_point():
    # (4, 4) -> cell (0, 0); offset (1, 2) -> (1, 2), still cell (0, 0): refining again
    # would read the same offset. The other cell's offset must not be read.
    arrays = _maps(2, 2, 16)
    edge, target = _edge("nose", "leftEye"), PART_IDS["leftEye"]
    arrays["displacement_fwd"][0, 0, edge] = 4.0
    arrays["displacement_fwd"][0, 0, edge + 16] = 4.0
    arrays["offsets"][0, 0, target] = 1.0
    arrays["offsets"][0, 0, target + 17] = 2.0
    arrays["offsets"][1, 1, target] = 50.0
    maps = HostMaps.from_arrays(**arrays)
    keypoints = decode_pose(maps, PART_IDS["nose"], 0, 0.0, 0.0)
    assert (keypoints.ys[target], keypoints.xs[target]) == (1.0, 2.0)
    assert keypoints.score_index[target] == target


def test_step_clamps_points_displaced_off_the_map():
    arrays = _maps(2, 2, 16)
    edge, target = _edge("nose", "leftEye"), PART_IDS["nose"]
    arrays["displacement_bwd"][0, 0, edge] = -500.0
    arrays["displacement_bwd"][0, 0, edge + 16] = 900.0
    arrays["offsets"][0, 1, target] = 1.0
    arrays["offsets"][0, 1, target + 17] = 2.0
    maps = HostMaps.from_arrays(**arrays)
    keypoints = decode_pose(maps, PART_IDS["leftEye"], 0, 0.0, 0.0)
    assert (keypoints.ys[target], keypoints.xs[target]) == (1.0, 18.0)
    assert keypoints.score_index[target] == (0 * 2 + 1) * 17 + target


def _edge(parent: str, child: str) -> int:
    from posenet_ros.keypoints import POSE_CHAIN

    return POSE_CHAIN.index((parent, child))


def test_decode_pose_walks_up_with_backward_then_down_with_forward_displacements():
    # Zero offsets: every keypoint lands on a cell centre, so positions are cell * 10.
    arrays = _maps(20, 20, 10)
    bwd, fwd = arrays["displacement_bwd"], arrays["displacement_fwd"]

    def set_(field, edge, dy, dx):
        field[..., edge] = dy
        field[..., edge + 16] = dx

    set_(bwd, _edge("leftElbow", "leftWrist"), 0.0, -20.0)
    set_(bwd, _edge("leftShoulder", "leftElbow"), 0.0, -20.0)
    set_(bwd, _edge("nose", "leftShoulder"), -30.0, 10.0)
    # Forward displacements for edges already walked backwards must be ignored.
    set_(fwd, _edge("nose", "leftShoulder"), 90.0, 90.0)
    set_(fwd, _edge("leftShoulder", "leftElbow"), 90.0, 90.0)
    set_(fwd, _edge("nose", "rightShoulder"), 30.0, 20.0)
    set_(fwd, _edge("rightShoulder", "rightHip"), 60.0, 0.0)
    set_(fwd, _edge("leftShoulder", "leftHip"), 60.0, 10.0)
    maps = HostMaps.from_arrays(**arrays)

    kp = decode_pose(maps, PART_IDS["leftWrist"], 1234, 50.0, 100.0)

    def at(name):
        i = PART_IDS[name]
        return kp.ys[i], kp.xs[i]

    assert at("leftWrist") == (50.0, 100.0)
    assert kp.score_index[PART_IDS["leftWrist"]] == 1234  # the root keeps its own
    assert at("leftElbow") == (50.0, 80.0)
    assert at("leftShoulder") == (50.0, 60.0)
    assert at("nose") == (20.0, 70.0)
    assert at("leftEye") == (20.0, 70.0)  # zero forward displacement
    assert at("rightShoulder") == (50.0, 90.0)
    assert at("rightHip") == (110.0, 90.0)
    assert at("leftHip") == (110.0, 70.0)
    assert at("leftAnkle") == (110.0, 70.0)
    # Scores are read at the final cell of each part.
    assert kp.score_index[PART_IDS["rightHip"]] == (11 * 20 + 9) * 17 + PART_IDS["rightHip"]
    assert None not in kp.ys and None not in kp.xs and None not in kp.score_index
