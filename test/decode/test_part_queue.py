import math

import numpy as np
import pytest

from decode.reference_scores import heatmap_scores
from decode.root_candidates import candidate_mask
from posenet_ros.decode.max_heap import heap_pop, heap_push
from posenet_ros.decode.part_queue import (
    float32_at_least,
    logit_floor,
)

LOW = -10.0  # background logit


def _candidates(logits: np.ndarray, threshold: float) -> tuple[list[float], list[int]]:
    logits = np.asarray(logits, dtype=np.float32)
    mask = candidate_mask(logits, threshold)
    index = np.flatnonzero(mask)
    return heatmap_scores(logits.take(index)).tolist(), index.tolist()


def _score(logit: float) -> float:
    return float(heatmap_scores(np.array([[[logit]]], dtype=np.float32))[0, 0, 0])


def test_threshold_is_inclusive():
    logits = np.full((1, 5, 1), LOW, dtype=np.float32)
    logits[0, 0, 0] = 0.0  # score exactly 0.5
    logits[0, 2, 0] = -0.04
    logits[0, 4, 0] = 1.1
    values, index = _candidates(logits, 0.5)
    assert index == [0, 4]  # scan order
    assert values == [0.5, _score(1.1)]


def _logit_with_score(score: np.float32) -> np.float32:
    """A float32 logit whose float32 sigmoid is exactly ``score``."""
    x = np.float32(math.log(score / (1 - score)))
    for _ in range(100):
        got = heatmap_scores(np.array([[[x]]], dtype=np.float32))[0, 0, 0]
        if got == score:
            return x
        x = np.nextafter(x, np.float32(np.inf if got < score else -np.inf))
    raise AssertionError(f"no float32 logit scores {score}")


def test_threshold_compares_as_float64_like_the_reference():
    # float32(0.7) = 0.699999988 < 0.7: the reference (JS numbers) rejects that score.
    at = np.float32(0.7)
    above = np.nextafter(at, np.float32(1))
    assert float(at) < 0.7
    logits = np.array([[[_logit_with_score(at)], [LOW], [_logit_with_score(above)]]])
    values, index = _candidates(logits, 0.7)
    assert index == [2]
    assert values == [float(above)]
    assert float32_at_least(0.7) == above
    assert float32_at_least(0.5) == np.float32(0.5)


def test_only_local_maxima_are_candidates_and_index_is_row_major_cell_then_part():
    logits = np.full((2, 3, 2), LOW, dtype=np.float32)
    logits[0, 0, 0] = 1.0
    logits[0, 1, 0] = 2.0  # beats its neighbour (0, 0)
    logits[1, 2, 1] = 0.5
    values, index = _candidates(logits, 0.5)
    assert index == [(0 * 3 + 1) * 2 + 0, (1 * 3 + 2) * 2 + 1]
    assert values == [_score(2.0), _score(0.5)]


def test_saturated_scores_tie_although_their_logits_differ():
    # Both sigmoids round to 1.0 in float32: neither beats the other, both are candidates
    # (a local maximum taken on the logits would keep only the 30).
    logits = np.full((1, 3, 1), LOW, dtype=np.float32)
    logits[0, 0, 0], logits[0, 1, 0] = 20.0, 30.0
    values, index = _candidates(logits, 0.5)
    assert index == [0, 1]
    assert values == [1.0, 1.0]


def test_no_candidates_gives_empty_arrays():
    values, index = _candidates(np.full((4, 4, 17), LOW), 0.5)
    assert values == []
    assert index == []


def test_zero_threshold_takes_every_local_maximum():
    logits = np.full((3, 3, 1), -np.inf, dtype=np.float32)  # scores all 0.0: all tie
    _, index = _candidates(logits, 0.0)
    assert index == list(range(9))


def test_nan_logits_are_never_candidates():
    logits = np.full((1, 3, 1), np.nan, dtype=np.float32)
    assert _candidates(logits, 0.0) == ([], [])


def test_float16_and_float64_logits_match_float32_semantics():
    logits = np.full((2, 2, 17), LOW, dtype=np.float64)
    logits[1, 1, 3] = 0.25
    for dtype in (np.float16, np.float64):
        mask = candidate_mask(logits.astype(dtype), 0.5)
        assert np.flatnonzero(mask).tolist() == [(1 * 2 + 1) * 17 + 3]


def _sigmoid32(x: np.ndarray) -> np.ndarray:
    with np.errstate(over="ignore"):  # exp(-x) of the most negative float16 logits
        return heatmap_scores(x.reshape(1, 1, -1)).ravel()


@pytest.mark.parametrize(
    "threshold", [1e-30, 0.1, 0.3, 0.5, 0.7, 0.999, 0.9999999, 1.0 - 2**-25, 1.0]
)
def test_logit_floor_never_excludes_a_passing_float32_logit(threshold):
    floor = logit_floor(threshold, np.float32)
    assert floor.dtype == np.float32
    assert floor > -np.inf
    passing = float32_at_least(threshold)
    # The 20000 float32 values below the floor (its margin is a few dozen of them).
    below = np.nextafter(floor, np.float32(-np.inf))
    step = 1 if below > 0 else -1  # bit patterns grow towards zero for negative floats
    bits = below.view(np.int32) - step * np.arange(20000, dtype=np.int32)
    x = bits.view(np.float32)
    assert (x < floor).all()
    assert (_sigmoid32(x) < passing).all()
    # And it lets few extra cells in: logits a little above it pass.
    near = np.float32(floor + 0.1 * max(1.0, abs(float(floor))))
    assert _sigmoid32(np.array([near]))[0] >= passing


def test_logit_floor_on_every_float16():
    every = np.arange(2**16, dtype=np.uint16).view(np.float16)
    every = every[~np.isnan(every)]
    for threshold in (1e-8, 0.05, 0.5, 0.9, 0.999, 1.0):
        floor = logit_floor(threshold, np.float16)
        assert floor.dtype == np.float16
        below = every[every < floor].astype(np.float32)
        assert (_sigmoid32(below) < float32_at_least(threshold)).all()


def test_logit_floor_of_thresholds_down_to_the_smallest_score_lets_everything_in():
    # float32_at_least(1e-45) is the smallest float32 above 0: only a score of 0 fails it.
    for threshold in (0.0, 1e-45):
        assert logit_floor(threshold, np.float32) == -np.inf


def _roots(values: list[float], index: list[int]) -> list:
    """(score, flat index) in the order ``decode_multiple_poses`` dequeues its roots: the
    compiled heap, fed the candidates in scan order."""
    keys, items, size = np.empty(len(values), np.float32), np.empty(len(index), np.int64), 0
    for value, flat in zip(values, index, strict=True):
        size = heap_push(keys, items, size, value, flat)
    roots = []
    while size:
        size = heap_pop(keys, items, size)
        roots.append((float(keys[size]), int(items[size])))
    return roots


def test_root_order_without_ties_is_by_score_descending():
    assert _roots([0.25, 0.75, 0.5], [5, 7, 3]) == [(0.75, 7), (0.5, 3), (0.25, 5)]


def test_root_order_with_ties_replays_the_reference_heap():
    # Scan order a(0)=1, b(1)=1, c(2)=2, d(3)=1: the reference dequeues c, d, b, a
    # (worked by hand in test_max_heap), not c, a, b, d as a stable sort would.
    roots = _roots([0.5, 0.5, 1.0, 0.5], [0, 1, 2, 3])
    assert [flat for _, flat in roots] == [2, 3, 1, 0]


def test_root_order_of_nothing():
    assert _roots([], []) == []
