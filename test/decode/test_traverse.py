import math

import numpy as np
import pytest

from posenet_ros.decode.traverse import (
    HostMaps,
    decode_pose,
    image_coords,
    strided_index,
    traverse_to_target,
)
from posenet_ros.keypoints import PART_IDS


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
def test_strided_index_rounds_half_up_and_clamps(position, stride, size, cell):
    assert strided_index(position, stride, size) == cell


def test_strided_index_rejects_nan():
    with pytest.raises(ValueError):
        strided_index(math.nan, 16, 10)


def _maps(height: int, width: int, stride: int) -> dict[str, np.ndarray]:
    return {
        "scores": np.zeros((height, width, 17), np.float32),
        "offsets": np.zeros((height, width, 34), np.float32),
        "displacement_fwd": np.zeros((height, width, 32), np.float32),
        "displacement_bwd": np.zeros((height, width, 32), np.float32),
        "stride": stride,
    }


def test_image_coords_add_the_part_offset_to_the_scaled_cell():
    arrays = _maps(3, 4, 16)
    arrays["offsets"][2, 1, 5] = 3.5  # y of part 5
    arrays["offsets"][2, 1, 5 + 17] = -1.25  # x of part 5
    maps = HostMaps.from_arrays(**arrays)
    assert image_coords(maps, 5, 2, 1) == (32 + 3.5, 16 - 1.25)


def test_traverse_reads_displacement_at_source_then_refines_twice():
    arrays = _maps(3, 3, 10)
    edge, target = 4, 5
    # Source (12, 19) -> cell (1, 2); displacement there (-9, -14) -> point (3, 5).
    arrays["displacement_fwd"][1, 2, edge] = -9.0
    arrays["displacement_fwd"][1, 2, edge + 16] = -14.0
    # (3, 5) -> cell (0, 1) (0.5 rounds up); offset (8, 6) -> (8, 16).
    arrays["offsets"][0, 1, target] = 8.0
    arrays["offsets"][0, 1, target + 17] = 6.0
    # (8, 16) -> cell (1, 2); offset (-1, 2) -> (9, 22), whose cell (1, 2) gives the score.
    arrays["offsets"][1, 2, target] = -1.0
    arrays["offsets"][1, 2, target + 17] = 2.0
    arrays["scores"][1, 2, target] = 0.75
    arrays["scores"][0, 1, target] = 0.25
    maps = HostMaps.from_arrays(**arrays)
    assert traverse_to_target(maps, edge, 12.0, 19.0, target, maps.displacement_fwd) == (
        9.0,
        22.0,
        0.75,
    )


def test_traverse_clamps_points_displaced_off_the_map():
    arrays = _maps(2, 2, 16)
    arrays["displacement_bwd"][0, 0, 0] = -500.0
    arrays["displacement_bwd"][0, 0, 16] = 900.0
    arrays["offsets"][0, 1, 3] = 1.0
    arrays["offsets"][0, 1, 3 + 17] = 2.0
    arrays["scores"][0, 1, 3] = 0.5
    maps = HostMaps.from_arrays(**arrays)
    assert traverse_to_target(maps, 0, 0.0, 0.0, 3, maps.displacement_bwd) == (1.0, 18.0, 0.5)


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
    arrays["scores"][..., :] = np.arange(20 * 20, dtype=np.float32).reshape(20, 20, 1) / 1000
    maps = HostMaps.from_arrays(**arrays)

    kp = decode_pose(maps, PART_IDS["leftWrist"], 0.99, 50.0, 100.0)

    def at(name):
        i = PART_IDS[name]
        return kp.ys[i], kp.xs[i]

    assert at("leftWrist") == (50.0, 100.0)
    assert kp.scores[PART_IDS["leftWrist"]] == 0.99  # the root keeps its candidate score
    assert at("leftElbow") == (50.0, 80.0)
    assert at("leftShoulder") == (50.0, 60.0)
    assert at("nose") == (20.0, 70.0)
    assert at("leftEye") == (20.0, 70.0)  # zero forward displacement
    assert at("rightShoulder") == (50.0, 90.0)
    assert at("rightHip") == (110.0, 90.0)
    assert at("leftHip") == (110.0, 70.0)
    assert at("leftAnkle") == (110.0, 70.0)
    # Scores are read at the final cell of each part.
    assert kp.scores[PART_IDS["rightHip"]] == pytest.approx((11 * 20 + 9) / 1000)
    assert None not in kp.ys and None not in kp.xs and None not in kp.scores
