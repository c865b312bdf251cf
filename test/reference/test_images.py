from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image

from posenet_ros.reference.images import IMAGES, build_test_images


def test_builds_every_photo_as_8bit_rgb_png(tmp_path: Path) -> None:
    paths = build_test_images(tmp_path / "photos")
    assert set(paths) == set(IMAGES)
    for path in paths.values():
        with Image.open(path) as image:
            assert (image.format, image.mode) == ("PNG", "RGB")


def test_covers_square_landscape_and_portrait(tmp_path: Path) -> None:
    sizes = {}
    for name, path in build_test_images(tmp_path).items():
        with Image.open(path) as image:
            sizes[name] = image.size
    aspects = sorted(width / height for width, height in sizes.values())
    assert aspects[0] < 1 == aspects[1] < aspects[2]


def test_is_deterministic(tmp_path: Path) -> None:
    first = build_test_images(tmp_path / "a")
    second = build_test_images(tmp_path / "b")
    for name in IMAGES:
        assert np.array_equal(
            np.asarray(Image.open(first[name])), np.asarray(Image.open(second[name]))
        )
