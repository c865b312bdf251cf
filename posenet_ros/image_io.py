"""Decode image files to RGB uint8 arrays, and check arrays handed in by callers.

Pillow, not OpenCV: it is already a dependency (small wheel, no system libraries), it decodes
PNG losslessly like the reference's decoders, its errors tell a truncated file from a foreign
one, it reads the size from the header before decoding (so the pixel limit costs nothing), and
it converts every colour mode we accept. OpenCV would add ~50 MB for the same job.
"""

from __future__ import annotations

import io
import os
import struct
import warnings

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from posenet_ros.errors import InvalidImageError

# 8192 x 8192: far above any camera frame, low enough that decoding cannot exhaust memory.
MAX_IMAGE_PIXELS = 8192 * 8192

_EIGHT_BIT_MODES = frozenset({"RGB", "RGBA", "RGBX", "L", "LA", "1", "P", "PA", "CMYK", "YCbCr"})
_SIXTEEN_BIT_MODES = frozenset({"I;16", "I;16B", "I;16L", "I;16N"})
_SIGNATURES = {
    b"\x89PNG\r\n\x1a\n": "PNG",
    b"\xff\xd8\xff": "JPEG",
    b"GIF8": "GIF",
    b"BM": "BMP",
    b"RIFF": "WebP",
}
_PNG_HEADER = struct.Struct(">8sI4sII")  # signature, IHDR length, "IHDR", width, height

ImageSource = str | os.PathLike[str] | bytes | bytearray | memoryview


def load_image(source: ImageSource) -> np.ndarray:
    """Decode a file path or encoded bytes into a writable (H, W, 3) uint8 RGB array.

    Grayscale, palette, RGBA (alpha dropped) and 16-bit (high byte kept, as Pillow does for
    16-bit RGB) are converted; the EXIF orientation is applied. Anything else raises
    ``InvalidImageError`` with a one-line reason.
    """
    is_bytes = isinstance(source, bytes | bytearray | memoryview)
    name = "<bytes>" if is_bytes else repr(os.fspath(source))
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            image = Image.open(io.BytesIO(source) if is_bytes else source)
    except UnidentifiedImageError:
        raise InvalidImageError(_unidentified(name, _head(source, is_bytes))) from None
    except Image.DecompressionBombError:
        raise InvalidImageError(_too_large(name, None)) from None
    except OSError as exc:
        if exc.errno is None:  # Pillow gave up decoding the header
            raise InvalidImageError(_unidentified(name, _head(source, is_bytes))) from None
        raise InvalidImageError(f"cannot read image {name}: {exc.strerror}") from None
    with image:
        width, height = image.size
        if width == 0 or height == 0:
            raise InvalidImageError(f"image {name} is empty ({width}x{height} pixels)")
        if width * height > MAX_IMAGE_PIXELS:
            raise InvalidImageError(_too_large(name, (width, height)))
        try:
            image.load()
            return _to_rgb(ImageOps.exif_transpose(image), name)
        except (OSError, SyntaxError, ValueError, EOFError) as exc:
            kind = image.format or "image"
            raise InvalidImageError(
                f"{kind} data in {name} is truncated or corrupt ({exc})"
            ) from None


def check_image_array(image: object) -> np.ndarray:
    """Return ``image`` if it is a usable (H, W, 3) RGB array, else raise ``InvalidImageError``.

    uint8 is the normal case; float arrays are accepted when finite and within [0, 255]
    (the reference resizes any numeric tensor).
    """
    if not isinstance(image, np.ndarray):
        raise InvalidImageError(
            f"image must be a NumPy array of shape (height, width, 3), got {type(image).__name__}"
        )
    if image.ndim != 3 or image.shape[2] != 3:
        raise InvalidImageError(
            f"image must have shape (height, width, 3) with RGB channels, got {image.shape}"
        )
    height, width = image.shape[:2]
    if height == 0 or width == 0:
        raise InvalidImageError(f"image is empty ({width}x{height} pixels)")
    if height * width > MAX_IMAGE_PIXELS:
        raise InvalidImageError(_too_large("array", (width, height)))
    if image.dtype == np.uint8:
        return image
    if image.dtype.kind != "f":
        raise InvalidImageError(
            f"unsupported image dtype {image.dtype}: expected uint8 (or float in [0, 255])"
        )
    if not np.isfinite(image).all():
        raise InvalidImageError("image contains NaN or infinite values")
    low, high = float(image.min()), float(image.max())
    if low < 0.0 or high > 255.0:
        raise InvalidImageError(f"float image values must lie in [0, 255], got [{low:g}, {high:g}]")
    return image


def _to_rgb(image: Image.Image, name: str) -> np.ndarray:
    if image.mode in _SIXTEEN_BIT_MODES:
        gray = (np.asarray(image).astype(np.uint16) >> 8).astype(np.uint8)
        return np.repeat(gray[:, :, None], 3, axis=2)
    if image.mode not in _EIGHT_BIT_MODES:
        raise InvalidImageError(
            f"unsupported image mode {image.mode!r} in {name}: expected 8-bit RGB, RGBA, "
            "grayscale or palette, or 16-bit grayscale/RGB"
        )
    if image.mode in ("P", "PA"):
        image = image.convert("RGBA")  # palette transparency would warn if converted directly
    return np.array(image.convert("RGB"), dtype=np.uint8)


def _head(source: ImageSource, is_bytes: bool) -> bytes:
    """The first bytes of the data (to tell a damaged known format from a foreign file)."""
    if is_bytes:
        return bytes(source[: _PNG_HEADER.size])
    try:
        with open(source, "rb") as handle:
            return handle.read(_PNG_HEADER.size)
    except OSError:
        return b""


def _unidentified(name: str, head: bytes) -> str:
    if len(head) == _PNG_HEADER.size:
        signature, _, chunk, width, height = _PNG_HEADER.unpack(head)
        if signature.startswith(b"\x89PNG") and chunk == b"IHDR":
            if 0 in (width, height):
                return f"image {name} is empty ({width}x{height} pixels)"
            if width * height > MAX_IMAGE_PIXELS:
                return _too_large(name, (width, height))
    for signature, kind in _SIGNATURES.items():
        if head.startswith(signature):
            return f"{kind} data in {name} is truncated or corrupt (cannot read its header)"
    return f"{name} is not an image (or not in a format Pillow can read)"


def _too_large(name: str, size: tuple[int, int] | None) -> str:
    pixels = "far more" if size is None else f"{size[0]}x{size[1]} = {size[0] * size[1]:,}"
    return (
        f"image {name} is too large: {pixels} pixels, more than "
        f"MAX_IMAGE_PIXELS = {MAX_IMAGE_PIXELS:,} (8192x8192)"
    )
