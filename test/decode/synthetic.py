"""Synthetic but realistic PoseNet outputs: people planted at known keypoint positions.

Each map cell predicts, for every part, a logit peaked at that part of the nearest person,
an offset pointing at it and displacements along the skeleton edges of that person, with
noise, as a trained PoseNet does. Used by the decode tests and the timing script.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from posenet_ros.keypoints import CHILD_IDS, NUM_KEYPOINTS, PARENT_IDS

# A standing person, (x, y) in units of their height, nose at the origin (reference order).
_TEMPLATE = np.array(
    [
        (0.0, 0.0),
        (-0.03, -0.03),
        (0.03, -0.03),
        (-0.07, -0.01),
        (0.07, -0.01),
        (-0.12, 0.15),
        (0.12, 0.15),
        (-0.16, 0.33),
        (0.16, 0.33),
        (-0.18, 0.5),
        (0.18, 0.5),
        (-0.08, 0.52),
        (0.08, 0.52),
        (-0.09, 0.73),
        (0.09, 0.73),
        (-0.1, 0.95),
        (0.1, 0.95),
    ]
)


class Scene(NamedTuple):
    """Network outputs, (H, W, C) float32, and the planted keypoints (people, 17, 2) x, y."""

    heatmap: np.ndarray
    offsets: np.ndarray
    displacement_fwd: np.ndarray
    displacement_bwd: np.ndarray
    people: np.ndarray


def people_keypoints(input_size: int, count: int, rng: np.random.Generator) -> np.ndarray:
    """(count, 17, 2) keypoints of people of random height and place, inside the input."""
    people = []
    for _ in range(count):
        height = rng.uniform(0.35, 0.8) * input_size
        jitter = rng.normal(0.0, 0.01, _TEMPLATE.shape)
        points = (_TEMPLATE + jitter) * height
        low = -points.min(axis=0)
        high = input_size - 1 - points.max(axis=0)
        people.append(points + rng.uniform(low, np.maximum(low, high)))
    return np.array(people)


def scene(
    input_size: int, output_stride: int, people: int, seed: int = 0, noise: float = 0.3
) -> Scene:
    """Outputs for ``people`` (>= 1) planted people on a square input of ``input_size`` pixels."""
    rng = np.random.default_rng(seed)
    size = (input_size - 1) // output_stride + 1
    points = people_keypoints(input_size, people, rng)  # (P, 17, 2) x, y
    cells = np.stack(np.meshgrid(np.arange(size), np.arange(size), indexing="xy"), -1)
    cells = cells * output_stride  # (H, W, 2) x, y pixels of each cell
    to_part = points[:, None, None, :, :] - cells[None, :, :, None, :]  # (P, H, W, 17, 2)
    distance = np.linalg.norm(to_part, axis=-1)  # (P, H, W, 17)
    nearest = distance.argmin(axis=0)  # (H, W, 17)
    near = np.take_along_axis(to_part, nearest[None, ..., None], axis=0)[0]  # (H, W, 17, 2)
    sigma = 1.2 * output_stride
    peak = rng.uniform(2.0, 6.0, (people, 1, 1, NUM_KEYPOINTS))
    peaks = (peak - (distance / sigma) ** 2).max(axis=0)
    background = -6.0 + rng.normal(0.0, noise, (size, size, NUM_KEYPOINTS))
    heatmap = np.maximum(background, peaks) + rng.normal(0.0, noise, background.shape)
    offsets = np.concatenate([near[..., 1], near[..., 0]], axis=-1)
    offsets += rng.normal(0.0, noise * 2, offsets.shape)
    parents, children = np.array(PARENT_IDS), np.array(CHILD_IDS)
    fwd = _displacements(points, nearest[..., parents], parents, children)
    bwd = _displacements(points, nearest[..., children], children, parents)
    fwd += rng.normal(0.0, noise * 4, fwd.shape)
    bwd += rng.normal(0.0, noise * 4, bwd.shape)
    as32 = [a.astype(np.float32) for a in (heatmap, offsets, fwd, bwd)]
    return Scene(*as32, points)


def _displacements(
    points: np.ndarray, person: np.ndarray, sources: np.ndarray, targets: np.ndarray
) -> np.ndarray:
    """(H, W, 32): target - source of the person nearest to each cell, y block then x block."""
    vectors = points[:, targets] - points[:, sources]  # (P, 16, 2)
    picked = vectors[person, np.arange(len(sources))]  # (H, W, 16, 2)
    return np.concatenate([picked[..., 1], picked[..., 0]], axis=-1)
