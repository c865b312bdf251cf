import numpy as np

from posenet_ros.decode.local_maximum import local_maximum_mask


def _mask(rows: list[list[float]]) -> list[list[bool]]:
    scores = np.array(rows, dtype=np.float32)[..., None]
    return local_maximum_mask(scores)[..., 0].tolist()


def test_strictly_greater_neighbour_disqualifies_including_diagonals():
    assert _mask([[0.1, 0.2, 0.1], [0.2, 0.5, 0.2], [0.1, 0.2, 0.6]]) == [
        [False, False, False],
        [False, False, False],
        [False, False, True],
    ]


def test_equal_neighbours_are_all_kept():
    assert _mask([[0.5, 0.5], [0.5, 0.4]]) == [[True, True], [True, False]]


def test_window_is_clipped_at_the_borders():
    # Corners and edges only see their in-map neighbours: the 0.3 corner is a maximum there.
    assert _mask([[0.3, 0.2, 0.0, 0.9], [0.1, 0.0, 0.0, 0.0], [0.0, 0.0, 0.0, 0.0]]) == [
        [True, False, False, True],
        [False, False, False, False],
        [False, False, True, True],
    ]


def test_cells_two_away_are_outside_the_radius_1_window():
    assert _mask([[0.5, 0.1, 0.9]]) == [[True, False, True]]


def test_channels_are_independent():
    scores = np.zeros((1, 2, 2), dtype=np.float32)
    scores[0, 0, 0] = 0.9
    scores[0, 1, 1] = 0.9
    assert local_maximum_mask(scores).tolist() == [[[True, False], [False, True]]]


def test_single_cell_map_is_a_maximum():
    assert _mask([[0.2]]) == [[True]]
