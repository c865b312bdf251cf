"""The local-maximum rule of root candidates (reference ``scoreIsMaximumInLocalWindow``),
through ``candidates`` at threshold 0."""

import numpy as np
import pytest

from decode.root_candidates import candidate_mask


def _mask(scores: np.ndarray) -> np.ndarray:
    """Which cells of (H, W, C) ``scores`` are local maxima, from logits with those scores
    (the sigmoid keeps order and equality; 0 and 1 come from -inf and +inf)."""
    with np.errstate(divide="ignore"):
        logits = np.log(scores.astype(np.float64)) - np.log1p(-scores.astype(np.float64))
    return candidate_mask(logits, 0.0).reshape(scores.shape)


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


def test_nan_in_the_window_is_not_a_maximum():
    assert _mask2d([[0.5, np.nan, 0.1, 0.3]]) == [[False, False, False, True]]


@pytest.mark.parametrize("seed", range(5))
def test_matches_the_reference_loop_on_random_maps_with_ties(seed):
    rng = np.random.default_rng(seed)
    shape = (int(rng.integers(1, 9)), int(rng.integers(1, 9)), 3)
    scores = (rng.integers(0, 4, shape) / 4).astype(np.float32)  # many equal values
    assert _mask(scores).tolist() == _brute_force(scores).tolist()
