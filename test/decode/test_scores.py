import math

import numpy as np

from posenet_ros.decode.scores import heatmap_scores


def test_sigmoid_is_the_float64_value_rounded_to_float32():
    logits = np.array([[[-30.0, -4.25, -1e-3, 0.0, 0.3, 2.0, 9.5, 40.0]]], dtype=np.float32)
    scores = heatmap_scores(logits)
    assert scores.dtype == np.float32
    assert scores.shape == logits.shape
    expected = [np.float32(1.0 / (1.0 + math.exp(-float(v)))) for v in logits.ravel()]
    assert scores.ravel().tolist() == [float(v) for v in expected]


def test_sigmoid_landmarks():
    scores = heatmap_scores(np.array([[[0.0, 100.0, -100.0]]], dtype=np.float32)).ravel()
    assert scores[0] == 0.5
    assert scores[1] == 1.0  # saturates exactly, so strong parts tie
    assert 0.0 < scores[2] < 1e-40


def test_float16_and_float64_inputs_give_float32_scores():
    for dtype in (np.float16, np.float64):
        scores = heatmap_scores(np.zeros((2, 3, 17), dtype=dtype))
        assert scores.dtype == np.float32
        assert np.all(scores == 0.5)
