"""Per-part position of the best score over the 2-D map (reference ``argmax2d``)."""

from __future__ import annotations

import math

import numpy as np

from posenet_ros.decode.compiled import compiled
from posenet_ros.decode.scores import score_logit_floor, sigmoid32


@compiled
def argmax2d_of_logits(logits: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The reference's ``argmax2d`` of the scores (``sigmoid32``) of host (H, W, C) logits,
    with the scores there: row, column (int64) and score (float32) per part, in two passes
    over the logits. On ties the first cell in row-major order wins, as with tfjs ``argMax``
    over the flattened map (its loop keeps the first of equal values).

    The sigmoid is monotonic, so the best score is that of the largest logit, and only
    cells whose logit reaches ``score_logit_floor`` of it can tie with it (saturated scores
    tie logits that differ): only theirs are computed. A NaN wins where it first occurs, as
    with NumPy's argmax.
    """
    height, width, channels = logits.shape
    largest = np.full(channels, -np.inf)
    first_nan = np.full(channels, -1)
    for y in range(height):
        for x in range(width):
            for part in range(channels):
                logit = np.float64(logits[y, x, part])
                if math.isnan(logit):
                    if first_nan[part] < 0:
                        first_nan[part] = y * width + x
                elif logit > largest[part]:
                    largest[part] = logit
    floors = np.empty(channels)
    for part in range(channels):
        floors[part] = score_logit_floor(sigmoid32(largest[part]))
    best = np.full(channels, -1)
    scores = np.full(channels, np.float32(-1.0))
    for y in range(height):
        for x in range(width):
            for part in range(channels):
                logit = logits[y, x, part]
                if logit >= floors[part]:
                    score = sigmoid32(logit)
                    if score > scores[part]:
                        best[part], scores[part] = y * width + x, score
    for part in range(channels):
        if first_nan[part] >= 0:
            best[part], scores[part] = first_nan[part], np.float32(np.nan)
    return best // width, best % width, scores
