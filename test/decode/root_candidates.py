"""The root-candidate mask of host logits, for the tests of the local-maximum rule."""

import numpy as np

from posenet_ros.decode.part_queue import candidates, kernel_logits, thresholds


def candidate_mask(logits: np.ndarray, threshold: float) -> np.ndarray:
    """Boolean (H * W * C,): which cells ``candidates`` takes at ``threshold``."""
    logits = kernel_logits(logits)
    mask = np.zeros(logits.size, dtype=bool)
    mask[candidates(logits, *thresholds(threshold, logits.dtype))[0]] = True
    return mask
