"""Real photos for parity checks and benchmarks, written as lossless PNGs.

scikit-image's ``astronaut`` (one person) and ``camera`` (a man with a camera) composed into
multi-person frames of landscape and portrait shape, so padding runs both ways. Lossless PNG on
both sides, because JPEG decoders differ enough to move weak keypoints.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from PIL import Image

from posenet_ros.errors import PoseNetError

BACKGROUND = (118, 124, 131)


def _skimage_data() -> object:
    try:
        from skimage import data
    except ImportError as exc:  # a dev-only dependency
        raise PoseNetError(
            "scikit-image is needed for the test photos: pip install 'posenet_ros[dev]'"
        ) from exc
    return data


def _astronaut() -> Image.Image:
    return Image.fromarray(_skimage_data().astronaut())


def _cameraman() -> Image.Image:
    return Image.fromarray(_skimage_data().camera()).convert("RGB")


def _scaled(image: Image.Image, factor: float) -> Image.Image:
    size = (round(image.width * factor), round(image.height * factor))
    return image.resize(size, Image.Resampling.BILINEAR)


def _compose(
    size: tuple[int, int], parts: list[tuple[Image.Image, tuple[int, int]]]
) -> Image.Image:
    canvas = Image.new("RGB", size, BACKGROUND)
    for part, corner in parts:
        canvas.paste(part, corner)
    return canvas


def _group_landscape() -> Image.Image:
    """Three people side by side on a 1400x600 canvas (one mirrored and smaller)."""
    astronaut = _astronaut()
    mirrored = _scaled(astronaut.transpose(Image.Transpose.FLIP_LEFT_RIGHT), 0.6)
    return _compose(
        (1400, 600),
        [(astronaut, (16, 44)), (_cameraman(), (544, 44)), (mirrored, (1072, 250))],
    )


def _group_portrait() -> Image.Image:
    """Three people stacked on a 421x1001 canvas (odd sizes, non-integer scales)."""
    astronaut = _astronaut()
    cameraman = _cameraman().transpose(Image.Transpose.FLIP_LEFT_RIGHT)
    return _compose(
        (421, 1001),
        [
            (_scaled(astronaut, 0.78), (10, 8)),
            (_scaled(cameraman, 0.78), (10, 418)),
            (_scaled(astronaut, 0.3), (133, 838)),
        ],
    )


IMAGES: dict[str, Callable[[], Image.Image]] = {
    "astronaut": _astronaut,
    "group_landscape": _group_landscape,
    "group_portrait": _group_portrait,
}


def build_test_images(out_dir: Path) -> dict[str, Path]:
    """Write every test photo as ``out_dir/<name>.png`` (RGB, 8 bit) and return the paths."""
    out_dir.mkdir(parents=True, exist_ok=True)
    paths = {}
    for name, make in IMAGES.items():
        path = out_dir / f"{name}.png"
        make().save(path, format="PNG")
        paths[name] = path
    return paths
