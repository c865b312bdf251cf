import math

import numpy as np

from posenet_ros.decode.scores import heatmap_scores, sigmoid32


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


def test_compiled_sigmoid_matches_heatmap_scores():
    rng = np.random.default_rng(5)
    logits = np.concatenate(
        [rng.normal(0.0, 8.0, 1000), rng.uniform(-1e-4, 1e-4, 1000), [np.inf, -np.inf, 0.0]]
    ).astype(np.float32)
    compiled = np.array([sigmoid32(v) for v in logits], np.float32)
    np.testing.assert_array_equal(compiled, heatmap_scores(logits))
    assert np.isnan(sigmoid32(np.float32(np.nan)))


def test_compiled_sigmoid_rounds_like_the_reference_where_numpy_exp_differs():
    # Over all 2**32 float32 logits this is the one where NumPy's float64 exp (its AVX-512
    # loop) and the C library's give float32 scores one ulp apart; V8 (the reference's
    # Math.exp) gives 1 / (1 + Math.exp(-x)) = 0.5000024735927581 -> 0.5000024437904358.
    logit = np.float32(9.894371e-06)
    assert float(sigmoid32(logit)) == 0.5000024437904358
