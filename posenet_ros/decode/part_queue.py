"""Root candidates for multi-pose decoding, best first (reference ``buildPartWithScoreQueue``)."""

from __future__ import annotations

import functools
import math
from typing import Any

import numpy as np

from posenet_ros.decode.compiled import compiled
from posenet_ros.decode.local_maximum import is_window_maximum
from posenet_ros.decode.scores import sigmoid32


def kernel_logits(logits: np.ndarray) -> np.ndarray:
    """Host logits as the kernels read them: float64 ones as they are, others as float32
    (float16 widens exactly), C-contiguous."""
    return np.ascontiguousarray(logits, None if logits.dtype == np.float64 else np.float32)


@compiled
def candidates(logits: np.ndarray, floor: float, threshold: np.float32) -> tuple[Any, Any]:
    """Root candidates of (H, W, C) host logits: flat indices ``(y * W + x) * C + part``
    (ascending is the reference's scan order) and their scores.

    A candidate's score (the float32 sigmoid of its logit) is at least ``threshold`` and a
    local maximum of its part, judged exactly as the reference judges it: on float32 scores,
    whose saturation ties logits that differ. Only cells whose logit reaches ``floor`` are
    judged (``logit_floor``: the sigmoid is monotonic, no other cell can pass).

    A hot cell passes when its score is >= ``threshold`` and >= every score of its window,
    clipped at the borders (``local_maximum``); a NaN in the window fails it, as there.
    """
    height, width, channels = logits.shape
    flat = np.empty(logits.size, np.int64)
    scores = np.empty(logits.size, np.float32)
    count = 0
    for y in range(height):
        for x in range(width):
            for part in range(channels):
                logit = logits[y, x, part]
                if not logit >= floor:
                    continue
                score = sigmoid32(logit)
                if not score >= threshold:
                    continue
                if is_window_maximum(logits, y, x, part, logit, score):
                    flat[count] = (y * width + x) * channels + part
                    scores[count] = score
                    count += 1
    return flat[:count].copy(), scores[:count].copy()


@functools.lru_cache(maxsize=64)
def thresholds(score_threshold: float, dtype: Any) -> tuple[np.generic, np.float32]:
    """(``logit_floor``, ``float32_at_least``) of ``score_threshold`` for logits of ``dtype``."""
    return logit_floor(score_threshold, dtype), float32_at_least(score_threshold)


def logit_floor(score_threshold: float, dtype: Any) -> np.generic:
    """A logit of ``dtype`` below every logit whose float32 score is >= ``score_threshold``.

    Such a score is at least ``t = float32_at_least(score_threshold)``, so the float64
    sigmoid before rounding exceeds the float32 just below ``t`` (rounding to nearest);
    the floor is that value's logit less a margin far wider than the few-ulp error of the
    float64 ``exp``, rounded down to ``dtype`` (NumPy compares in the array's dtype).
    """
    below = float(np.nextafter(float32_at_least(score_threshold), np.float32(0)))
    kind = np.dtype(dtype).type
    if below <= 0.0:
        return kind(-np.inf)
    logit = math.log(below) - math.log1p(-below)
    floor = logit - 1e-6 * max(1.0, abs(logit))
    rounded = kind(floor)
    if rounded > floor:
        rounded = np.nextafter(rounded, kind(-np.inf))
    return rounded


def float32_at_least(value: float) -> np.float32:
    """The smallest float32 >= ``value``.

    The reference compares the float32 score with the threshold as JS numbers (float64);
    ``score >= float32_at_least(t)`` in float32 gives the same answer for every float32
    score, where rounding ``t`` to the nearest float32 would not when it rounds down.
    """
    rounded = np.float32(value)
    if float(rounded) < value:
        rounded = np.nextafter(rounded, np.float32(np.inf))
    return rounded
