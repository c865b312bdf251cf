import numpy as np

from posenet_ros.decode.argmax2d import argmax2d


def test_each_channel_gets_its_own_maximum():
    scores = np.zeros((3, 4, 2), dtype=np.float32)
    scores[2, 1, 0] = 0.9
    scores[0, 3, 1] = 0.8
    ys, xs = argmax2d(scores)
    assert ys.tolist() == [2, 0]
    assert xs.tolist() == [1, 3]


def test_ties_go_to_the_first_cell_in_row_major_order():
    scores = np.zeros((3, 3, 3), dtype=np.float32)
    scores[1, 0, 0] = scores[0, 2, 0] = 0.7  # row 0 comes first
    scores[2, 2, 1] = scores[2, 1, 1] = 0.7  # same row: lower column first
    ys, xs = argmax2d(scores)  # channel 2: all equal -> (0, 0)
    assert list(zip(ys.tolist(), xs.tolist(), strict=True)) == [(0, 2), (2, 1), (0, 0)]


def test_single_cell_map():
    ys, xs = argmax2d(np.full((1, 1, 17), 0.3, dtype=np.float32))
    assert ys.tolist() == [0] * 17
    assert xs.tolist() == [0] * 17
