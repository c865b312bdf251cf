import numpy as np
import pytest

from decode.reference_scores import heatmap_scores
from posenet_ros.decode.argmax2d import argmax2d_of_logits


def argmax2d(scores: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Row and column of each channel's first maximum in row-major order (NumPy's argmax)."""
    height, width, channels = scores.shape
    return np.divmod(scores.reshape(height * width, channels).argmax(axis=0), width)


def test_each_channel_gets_its_own_maximum():
    logits = np.zeros((3, 4, 2), dtype=np.float32)
    logits[2, 1, 0] = 0.9
    logits[0, 3, 1] = 0.8
    ys, xs, _ = argmax2d_of_logits(logits)
    assert ys.tolist() == [2, 0]
    assert xs.tolist() == [1, 3]


def test_ties_go_to_the_first_cell_in_row_major_order():
    logits = np.zeros((3, 3, 3), dtype=np.float32)
    logits[1, 0, 0] = logits[0, 2, 0] = 0.7  # row 0 comes first
    logits[2, 2, 1] = logits[2, 1, 1] = 0.7  # same row: lower column first
    ys, xs, _ = argmax2d_of_logits(logits)  # channel 2: all equal -> (0, 0)
    assert list(zip(ys.tolist(), xs.tolist(), strict=True)) == [(0, 2), (2, 1), (0, 0)]


def test_single_cell_map():
    ys, xs, _ = argmax2d_of_logits(np.full((1, 1, 17), 0.3, dtype=np.float32))
    assert ys.tolist() == [0] * 17
    assert xs.tolist() == [0] * 17


@pytest.mark.parametrize("seed", range(6))
def test_argmax_of_logits_is_argmax2d_of_their_scores(seed):
    # Rounded logits: ties; scaled ones: saturated scores that tie logits that differ; a
    # NaN (wins where it first occurs) and an all -inf channel (first cell).
    rng = np.random.default_rng(seed)
    logits = rng.normal(0.0, 10.0, (9, 7, 17)) * (1, 3)[seed % 2]
    if seed % 3 == 0:
        logits = np.round(logits)
    logits = logits.astype(np.float32)
    logits[4, 2, 3] = logits[6, 1, 3] = np.nan
    logits[..., 5] = -np.inf
    scores = heatmap_scores(logits)
    ys, xs, best = argmax2d_of_logits(logits)
    want_ys, want_xs = argmax2d(scores)
    assert ys.tolist() == want_ys.tolist()
    assert xs.tolist() == want_xs.tolist()
    assert (ys[3], xs[3]) == (4, 2)
    np.testing.assert_array_equal(best, scores[want_ys, want_xs, np.arange(17)])
