import math

import numpy as np

from decode.reference_scores import heatmap_scores
from posenet_ros.decode.scores import sigmoid32


def test_sigmoid_is_the_float64_value_rounded_to_float32():
    logits = np.array([-30.0, -4.25, -1e-3, 0.0, 0.3, 2.0, 9.5, 40.0], dtype=np.float32)
    scores = [sigmoid32(v) for v in logits]
    expected = [np.float32(1.0 / (1.0 + math.exp(-float(v)))) for v in logits]
    assert scores == expected
    assert all(np.float32(score) == score for score in scores)  # float32 values


def test_sigmoid_landmarks():
    assert sigmoid32(np.float32(0.0)) == 0.5
    assert sigmoid32(np.float32(100.0)) == 1.0  # saturates exactly, so strong parts tie
    assert 0.0 < sigmoid32(np.float32(-100.0)) < 1e-40


def test_float64_logits_score_as_their_value():
    assert sigmoid32(np.float64(0.0)) == 0.5
    assert sigmoid32(np.float64(-2.5)) == sigmoid32(np.float32(-2.5))
    assert sigmoid32(np.float64(-2.5 + 1e-12)) == sigmoid32(np.float32(-2.5))  # then rounded


def test_compiled_sigmoid_matches_numpy_over_maps():
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
