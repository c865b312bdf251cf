import numpy as np

from posenet_ros.decode.part_queue import float32_at_least, part_candidates, root_order


def _candidates(scores: np.ndarray, threshold: float) -> tuple[list[float], list[int]]:
    values, index = part_candidates(scores.astype(np.float32), threshold)
    return values.tolist(), index.tolist()


def test_threshold_is_inclusive():
    scores = np.zeros((1, 5, 1), dtype=np.float32)
    scores[0, 0, 0] = 0.5
    scores[0, 2, 0] = 0.49
    scores[0, 4, 0] = 0.75
    values, index = _candidates(scores, 0.5)
    assert values == [0.75, 0.5]
    assert index == [4, 0]


def test_threshold_compares_as_float64_like_the_reference():
    # float32(0.7) = 0.699999988 < 0.7: the reference (JS numbers) rejects that score.
    at = np.float32(0.7)
    assert float(at) < 0.7
    scores = np.array([[[at], [0.0], [np.nextafter(at, np.float32(1))]]], dtype=np.float32)
    _, index = _candidates(scores.reshape(1, 3, 1), 0.7)
    assert index == [2]
    assert float(float32_at_least(0.7)) == float(np.nextafter(at, np.float32(1)))
    assert float32_at_least(0.5) == np.float32(0.5)


def test_only_local_maxima_are_candidates_and_index_is_row_major_cell_then_part():
    scores = np.zeros((2, 3, 2), dtype=np.float32)
    scores[0, 0, 0] = 0.8
    scores[0, 1, 0] = 0.9  # beats its neighbour (0, 0)
    scores[1, 2, 1] = 0.6
    values, index = _candidates(scores, 0.5)
    assert values == [np.float32(0.9), np.float32(0.6)]
    assert index == [(0 * 3 + 1) * 2 + 0, (1 * 3 + 2) * 2 + 1]


def test_equal_scores_stay_in_scan_order():
    scores = np.zeros((3, 3, 2), dtype=np.float32)
    scores[2, 2, 0] = scores[0, 0, 1] = scores[0, 0, 0] = 0.7
    scores[2, 0, 1] = 0.9  # two rows below (0, 0): outside its window
    values, index = _candidates(scores, 0.5)
    assert index == [(2 * 3 + 0) * 2 + 1, 0, 1, (2 * 3 + 2) * 2]
    assert values[1:] == [np.float32(0.7)] * 3


def test_no_candidates_gives_empty_arrays():
    values, index = _candidates(np.full((4, 4, 17), 0.2), 0.5)
    assert values == []
    assert index == []


def test_root_order_without_ties_is_the_sorted_order():
    assert list(root_order([0.9, 0.8, 0.1], [7, 3, 5])) == [(0.9, 7), (0.8, 3), (0.1, 5)]


def test_root_order_with_ties_replays_the_reference_heap():
    # Scan order a(0)=1, b(1)=1, c(2)=2, d(3)=1: the reference dequeues c, d, b, a
    # (worked by hand in test_max_heap), not c, a, b, d as a stable sort would.
    values, index = [2.0, 1.0, 1.0, 1.0], [2, 0, 1, 3]
    assert [flat for _, flat in root_order(values, index)] == [2, 3, 1, 0]


def test_root_order_of_nothing():
    assert list(root_order([], [])) == []
