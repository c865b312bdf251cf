import numpy as np
import pytest

from posenet_ros.decode.local_maximum import CENTRE, is_local_maximum, window_index


def _mask(scores: np.ndarray) -> np.ndarray:
    """The local-maximum mask of every cell, through the window table."""
    windows = scores.reshape(-1).take(window_index(np, *scores.shape).T)
    return is_local_maximum(windows, np.float32(-np.inf)).reshape(scores.shape)


def _mask2d(rows: list[list[float]]) -> list[list[bool]]:
    return _mask(np.array(rows, dtype=np.float32)[..., None])[..., 0].tolist()


def _brute_force(scores: np.ndarray) -> np.ndarray:
    """The reference's loop: no cell of the clipped 3x3 window is strictly greater."""
    height, width, channels = scores.shape
    mask = np.zeros(scores.shape, dtype=bool)
    for y in range(height):
        for x in range(width):
            for c in range(channels):
                window = scores[max(y - 1, 0) : y + 2, max(x - 1, 0) : x + 2, c]
                mask[y, x, c] = not (window > scores[y, x, c]).any()
    return mask


def test_window_table_lists_the_clamped_3x3_window_row_major():
    table = window_index(np, 3, 4, 2)
    assert table.shape == (3 * 4 * 2, 9)
    flat = lambda y, x, c: (y * 4 + x) * 2 + c  # noqa: E731
    # An inner cell: its 3x3 window, the cell itself in the middle.
    assert table[flat(1, 1, 1)].tolist() == [flat(y, x, 1) for y in (0, 1, 2) for x in (0, 1, 2)]
    assert table[flat(1, 1, 1), CENTRE] == flat(1, 1, 1)
    # A corner: coordinates clamped, so only in-map cells of the window appear.
    assert sorted(set(table[flat(0, 3, 0)].tolist())) == sorted(
        flat(y, x, 0) for y in (0, 1) for x in (2, 3)
    )


def test_window_table_is_cached_per_shape():
    assert window_index(np, 5, 6, 17) is window_index(np, 5, 6, 17)


def test_strictly_greater_neighbour_disqualifies_including_diagonals():
    assert _mask2d([[0.1, 0.2, 0.1], [0.2, 0.5, 0.2], [0.1, 0.2, 0.6]]) == [
        [False, False, False],
        [False, False, False],
        [False, False, True],
    ]


def test_equal_neighbours_are_all_kept():
    assert _mask2d([[0.5, 0.5], [0.5, 0.4]]) == [[True, True], [True, False]]


def test_window_is_clipped_at_the_borders():
    # Corners and edges only see their in-map neighbours: the 0.3 corner is a maximum there.
    assert _mask2d([[0.3, 0.2, 0.0, 0.9], [0.1, 0.0, 0.0, 0.0], [0.0, 0.0, 0.0, 0.0]]) == [
        [True, False, False, True],
        [False, False, False, False],
        [False, False, True, True],
    ]


def test_cells_two_away_are_outside_the_radius_1_window():
    assert _mask2d([[0.5, 0.1, 0.9]]) == [[True, False, True]]


def test_channels_are_independent():
    scores = np.zeros((1, 2, 2), dtype=np.float32)
    scores[0, 0, 0] = 0.9
    scores[0, 1, 1] = 0.9
    assert _mask(scores).tolist() == [[[True, False], [False, True]]]


def test_single_cell_map_is_a_maximum():
    assert _mask2d([[0.2]]) == [[True]]


def test_floor_is_inclusive():
    windows = np.array([[0.5] * 9, [0.4] * 9], dtype=np.float32).T  # one window a column
    assert is_local_maximum(windows, np.float32(0.5)).tolist() == [True, False]


def test_nan_in_the_window_is_not_a_maximum():
    assert _mask2d([[0.5, np.nan, 0.1, 0.3]]) == [[False, False, False, True]]


@pytest.mark.parametrize("seed", range(5))
def test_matches_the_reference_loop_on_random_maps_with_ties(seed):
    rng = np.random.default_rng(seed)
    shape = (int(rng.integers(1, 9)), int(rng.integers(1, 9)), 3)
    scores = (rng.integers(0, 4, shape) / 4).astype(np.float32)  # many equal values
    assert _mask(scores).tolist() == _brute_force(scores).tolist()
