"""The reference's score rule over whole maps in NumPy, for the decode tests' expected values:
``1 / (1 + exp(-x))`` in float64, stored as float32 (tfjs's CPU sigmoid)."""

import numpy as np


def heatmap_scores(logits: np.ndarray) -> np.ndarray:
    with np.errstate(over="ignore"):  # exp(-x) of the most negative logits is inf: score 0
        return (1.0 / (1.0 + np.exp(-np.asarray(logits, np.float64)))).astype(np.float32)
