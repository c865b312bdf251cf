"""Preprocessing against the reference formulas, written out per pixel here."""

from __future__ import annotations

import logging
import math
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest

from posenet_ros import preprocess
from posenet_ros.config import EstimatorConfig
from posenet_ros.jit import compiled
from posenet_ros.preprocess import (
    NO_PADDING,
    BilinearResizer,
    InputTransform,
    Padding,
    Preprocessor,
    aspect_padding,
    input_transform,
    js_round,
    resize_bilinear,
    scale_factor_resolution,
    valid_input_resolution,
    warm_up,
)
from posenet_ros.row_sharing import MIN_ROWS, RowSharer
from posenet_ros.types import Pose


def tfjs_resize(image: np.ndarray, out_h: int, out_w: int) -> np.ndarray:
    """The tfjs CPU resizeBilinear loop, one pixel at a time, in Python floats (doubles)."""
    in_h, in_w = image.shape[:2]
    out = np.zeros((out_h, out_w, 3), np.float32)
    for r in range(out_h):
        src_r = (in_h / out_h) * r
        r0 = max(0, math.floor(src_r))
        r1 = min(in_h - 1, math.ceil(src_r))
        rf = src_r - r0
        for c in range(out_w):
            src_c = (in_w / out_w) * c
            c0 = max(0, math.floor(src_c))
            c1 = min(in_w - 1, math.ceil(src_c))
            cf = src_c - c0
            for d in range(3):
                tl, tr = float(image[r0, c0, d]), float(image[r0, c1, d])
                bl, br = float(image[r1, c0, d]), float(image[r1, c1, d])
                top = tl + (tr - tl) * cf
                bottom = bl + (br - bl) * cf
                out[r, c, d] = top + (bottom - top) * rf
    return out


def padded(image: np.ndarray, padding: Padding) -> np.ndarray:
    return np.pad(image, ((padding.top, padding.bottom), (padding.left, padding.right), (0, 0)))


def random_image(height: int, width: int, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 256, (height, width, 3), dtype=np.uint8)


@pytest.mark.parametrize(
    ("value", "expected"),
    [(0.5, 1), (1.5, 2), (2.5, 3), (-0.5, 0), (-1.5, -1), (2.4999, 2), (0.49999999999999994, 0)],
)
def test_js_round_halves_go_up(value: float, expected: int) -> None:
    assert js_round(value) == expected


@pytest.mark.parametrize(
    ("resolution", "stride", "expected"),
    [
        (257, 16, 257),
        (513, 16, 513),
        (256, 16, 257),  # floor(256 / 16) * 16 + 1: rounds up when just below a valid value
        (250, 16, 241),
        (258, 16, 257),
        (33, 16, 33),
        (33, 8, 33),
        (500, 8, 497),
        (1281, 16, 1281),
    ],
)
def test_valid_input_resolution(resolution: int, stride: int, expected: int) -> None:
    assert valid_input_resolution(resolution, stride) == expected
    assert (valid_input_resolution(resolution, stride) - 1) % stride == 0


@pytest.mark.parametrize(
    ("size", "factor", "stride", "expected"),
    [
        (480, 0.5, 16, 225),  # 239 - 239 % 16 + 1
        (640, 0.5, 16, 305),
        (481, 0.5, 16, 225),  # fractional 239.5 (JS % keeps the fraction)
        (512, 1.0, 8, 505),
        (20, 0.2, 16, 1),  # tiny frames go down to a single cell
        (1, 0.2, 16, 1),
    ],
)
def test_scale_factor_resolution(size: int, factor: float, stride: int, expected: int) -> None:
    assert scale_factor_resolution(size, factor, stride) == expected


@pytest.mark.parametrize(
    ("height", "width", "expected"),
    [
        (480, 640, Padding(80, 80, 0, 0)),  # landscape: pad height
        (640, 480, Padding(0, 0, 80, 80)),  # portrait: pad width
        (480, 641, Padding(81, 81, 0, 0)),  # 80.5 rounds up on both sides
        (481, 640, Padding(80, 80, 0, 0)),  # 79.5 rounds up too
        (300, 300, NO_PADDING),
        (1, 1000, Padding(500, 500, 0, 0)),  # 499.5
    ],
)
def test_aspect_padding_square_target(height: int, width: int, expected: Padding) -> None:
    assert aspect_padding(height, width, 257, 257) == expected


def test_aspect_padding_non_square_target() -> None:
    assert aspect_padding(100, 100, 100, 200) == Padding(0, 0, 50, 50)
    assert aspect_padding(100, 100, 200, 100) == Padding(50, 50, 0, 0)


def test_input_transform_reference_2x() -> None:
    config = EstimatorConfig(input_resolution=250, output_stride=16, flip_horizontal=True)
    transform = input_transform(480, 640, config)
    assert (transform.input_height, transform.input_width) == (241, 241)
    assert transform.padding == Padding(80, 80, 0, 0)
    assert transform.flip_output and not transform.mirror_input
    assert transform.scale_y == pytest.approx(640 / 241)
    assert transform.scale_x == pytest.approx(640 / 241)


def test_input_transform_reference_0x() -> None:
    config = EstimatorConfig(input_resolution=None, image_scale_factor=0.5, flip_horizontal=True)
    transform = input_transform(480, 640, config)
    assert (transform.input_height, transform.input_width) == (225, 305)
    assert transform.padding == NO_PADDING
    assert transform.mirror_input and not transform.flip_output
    assert transform.scale_y == 480 / 225
    assert transform.scale_x == 640 / 305


@pytest.mark.parametrize(
    ("height", "width", "out_h", "out_w"),
    [(7, 5, 9, 9), (13, 17, 5, 7), (6, 6, 4, 4), (1, 1, 3, 3), (3, 8, 1, 1), (10, 3, 17, 17)],
)
def test_resize_matches_tfjs_formula_exactly(height: int, width: int, out_h: int, out_w: int):
    image = random_image(height, width, seed=height * 100 + width)
    got = resize_bilinear(image, (out_h, out_w))
    assert got.dtype == np.float32
    np.testing.assert_array_equal(got, tfjs_resize(image, out_h, out_w))


@pytest.mark.parametrize(
    ("height", "width", "side"),
    [(7, 5, 9), (5, 7, 9), (13, 17, 9), (30, 20, 33), (4, 40, 9), (21, 22, 17), (2, 2, 9)],
)
def test_padded_resize_matches_tfjs_on_the_padded_image(height: int, width: int, side: int):
    image = random_image(height, width, seed=side)
    padding = aspect_padding(height, width, side, side)
    got = resize_bilinear(image, (side, side), padding)
    np.testing.assert_array_equal(got, tfjs_resize(padded(image, padding), side, side))


@pytest.mark.parametrize(
    ("height", "width", "side", "pieces"),
    [(120, 90, 97, 5), (60, 200, 129, 7), (300, 280, 65, 3), (97, 97, 97, 97)],
)
def test_resize_in_row_pieces_matches_tfjs(
    monkeypatch: pytest.MonkeyPatch, height: int, width: int, side: int, pieces: int
) -> None:
    # Pieces start with empty row slots (on whichever thread takes them): every output row,
    # at piece starts and ends too, must still come out bit for bit.
    monkeypatch.setattr(preprocess, "_ROW_SHARER", RowSharer(pieces=pieces, min_rows=1))
    monkeypatch.setattr(preprocess, "Pacing", lambda: None)  # no pacing: always in pieces
    image = random_image(height, width, seed=pieces)
    padding = aspect_padding(height, width, side, side)
    got = resize_bilinear(image, (side, side), padding)
    np.testing.assert_array_equal(got, tfjs_resize(padded(image, padding), side, side))


def test_mirrored_resize_is_the_resize_of_the_mirrored_image() -> None:
    image = random_image(11, 14, seed=3)
    got = resize_bilinear(image, (9, 9), mirror=True)
    np.testing.assert_array_equal(got, tfjs_resize(image[:, ::-1], 9, 9))


@pytest.mark.parametrize("dtype", [np.float16, np.float32, np.float64])
def test_float_input_resizes_like_uint8(dtype: type) -> None:
    image = random_image(9, 12, seed=4)
    np.testing.assert_array_equal(
        resize_bilinear(image.astype(dtype), (5, 5)), resize_bilinear(image, (5, 5))
    )


def test_fractional_float_input_matches_tfjs() -> None:
    image = np.random.default_rng(7).uniform(0, 255, (9, 12, 3)).astype(np.float32)
    np.testing.assert_array_equal(resize_bilinear(image, (7, 5)), tfjs_resize(image, 7, 5))


def test_views_and_read_only_frames_need_no_copy_and_no_new_compile() -> None:
    """What the ROS node hands over: read-only buffers, BGR/RGBA channel views, mono broadcast."""
    warm_up()
    compiled = len(preprocess._resize.signatures)
    buffer = np.frombuffer(random_image(12, 10, seed=8).tobytes(), np.uint8)
    frames = [
        buffer.reshape(12, 10, 3),
        buffer.reshape(12, 10, 3)[:, :, ::-1],
        buffer.reshape(12, 30)[:, :28].reshape(12, 7, 4)[:, :, :3],
        np.broadcast_to(buffer[:120].reshape(12, 10, 1), (12, 10, 3)),
    ]
    for frame in frames:
        assert not frame.flags.writeable
        np.testing.assert_array_equal(
            resize_bilinear(frame, (9, 9)), tfjs_resize(np.ascontiguousarray(frame), 9, 9)
        )
    assert len(preprocess._resize.signatures) == compiled == 2


def test_resizer_refuses_arrays_it_was_not_built_for() -> None:
    resizer = BilinearResizer((10, 12), (5, 5))
    with pytest.raises(ValueError, match="resizer built for"):
        resizer.run(random_image(12, 10), np.zeros((5, 5, 3), np.float32))
    with pytest.raises(ValueError, match="resizer built for"):
        resizer.run(random_image(10, 12), np.zeros((5, 6, 3), np.float32))
    with pytest.raises(ValueError, match="resizer built for"):
        resizer.run(random_image(10, 12), np.zeros((5, 5, 3), np.float64))
    with pytest.raises(ValueError, match="resizer built for"):
        resizer.run(random_image(10, 12), np.zeros((5, 10, 3), np.float32)[:, ::2])


def test_jit_without_a_cache_location_still_compiles(caplog: pytest.LogCaptureFixture) -> None:
    namespace: dict = {}
    exec(compile("def twice(x):\n    return 2 * x\n", "<no file>", "exec"), namespace)
    with caplog.at_level(logging.WARNING, logger="posenet_ros.jit"):
        twice = compiled(namespace["twice"])
    assert twice(21) == 42
    assert "compiling twice on every start" in caplog.text


def test_frame_outside_every_sample_gives_pure_padding() -> None:
    # A 1-pixel-high strip padded to a square: no output row samples the frame, as in tfjs.
    image = random_image(1, 1000)
    padding = aspect_padding(1, 1000, 33, 33)
    got = resize_bilinear(image, (33, 33), padding)
    np.testing.assert_array_equal(got, tfjs_resize(padded(image, padding), 33, 33))
    assert not got.any()


@pytest.mark.parametrize(("height", "width"), [(48, 64), (64, 48), (33, 33), (50, 51)])
def test_preprocessor_tensor_is_normalised_resize(height: int, width: int) -> None:
    image = random_image(height, width, seed=width)
    config = EstimatorConfig(input_resolution=33)
    tensor, transform = Preprocessor()(image, config)
    assert tensor.shape == (1, 33, 33, 3) and tensor.dtype == np.float32
    resized = tfjs_resize(padded(image, transform.padding), 33, 33)
    expected = resized / np.float32(127.5) - np.float32(1.0)
    np.testing.assert_array_equal(tensor[0], expected)
    assert tensor.min() >= -1.0 and tensor.max() <= 1.0


def test_preprocessor_splits_large_inputs_into_row_pieces_exactly() -> None:
    # The first call runs alone (its time is the reference), the second one in pieces.
    image = random_image(100, 150, seed=7)
    preprocessor = Preprocessor()
    for _ in range(2):
        tensor, transform = preprocessor(image, EstimatorConfig(input_resolution=129))
        assert tensor.shape[1] >= MIN_ROWS  # the default sharer splits it
        resized = tfjs_resize(padded(image, transform.padding), 129, 129)
        expected = resized / np.float32(127.5) - np.float32(1.0)
        np.testing.assert_array_equal(tensor[0], expected)


def test_preprocessor_0x_mode_mirrors_the_image() -> None:
    image = random_image(40, 70, seed=5)
    config = EstimatorConfig(input_resolution=None, image_scale_factor=0.5, flip_horizontal=True)
    tensor, transform = Preprocessor()(image, config)
    assert tensor.shape == (1, 17, 33, 3)
    expected = tfjs_resize(image[:, ::-1], 17, 33) / np.float32(127.5) - np.float32(1.0)
    np.testing.assert_array_equal(tensor[0], expected)
    assert transform.mirror_input


def test_preprocessor_reuses_buffers_per_geometry_and_accepts_views() -> None:
    preprocess = Preprocessor()
    config = EstimatorConfig(input_resolution=33)
    image = random_image(40, 60, seed=6)
    first, _ = preprocess(image, config)
    first_copy = first.copy()
    view = np.ascontiguousarray(image[:, ::-1])[:, ::-1]  # same pixels, negative stride
    again, _ = preprocess(view, config)
    assert again is first
    np.testing.assert_array_equal(again, first_copy)
    other, _ = preprocess(random_image(60, 40), config)  # another geometry: its own buffer
    assert other is not first
    for size in range(5):  # older geometries are evicted, results stay right
        preprocess(random_image(30 + size, 30), config)
    final, transform = preprocess(image, config)
    np.testing.assert_array_equal(final, first_copy)
    assert transform.padding == aspect_padding(40, 60, 33, 33)


def test_to_source_inverts_the_input_mapping() -> None:
    transform = InputTransform(480, 640, 257, 257, Padding(80, 80, 0, 0))
    source = np.array([[0.0, 0.0, 0.5], [639.0, 479.0, 0.25], [320.5, 100.25, 1.0]])
    model = source.copy()
    model[:, 0] = (source[:, 0] + 0) / transform.scale_x
    model[:, 1] = (source[:, 1] + 80) / transform.scale_y
    back = transform.to_source(model)
    np.testing.assert_allclose(back, source, atol=1e-9)
    assert back is not model


def test_to_source_flips_after_scaling() -> None:
    transform = InputTransform(100, 200, 33, 33, Padding(50, 50, 0, 0), flip_output=True)
    model = np.array([[[16.5, 16.5, 0.7]]])
    x = 16.5 * (200 / 33) - 0
    y = 16.5 * (200 / 33) - 50
    np.testing.assert_array_equal(transform.to_source(model), [[[200 - 1 - x, y, 0.7]]])


def test_poses_to_source_keeps_scores() -> None:
    transform = InputTransform(66, 66, 33, 33)
    keypoints = np.tile([[1.0, 2.0, 0.5]], (17, 1))
    (pose,) = transform.poses_to_source([Pose(0.8, keypoints)])
    assert pose.score == 0.8
    np.testing.assert_array_equal(pose.keypoints[:, :2], np.tile([[2.0, 4.0]], (17, 1)))
    np.testing.assert_array_equal(pose.keypoints[:, 2], 0.5)


@pytest.mark.parametrize(("height", "width"), [(120, 200), (200, 120), (99, 101)])
def test_round_trip_of_a_bright_spot(height: int, width: int) -> None:
    """A spot in the frame lands where the transform says, and maps back to itself."""
    image = np.zeros((height, width, 3), np.uint8)
    y, x = height // 3, 2 * width // 3
    image[y - 4 : y + 5, x - 4 : x + 5] = 255
    tensor, transform = Preprocessor()(image, EstimatorConfig(input_resolution=65))
    heat = (tensor[0] + 1).sum(axis=2)  # padding is -1, so only the spot counts
    rows, cols = np.indices(heat.shape)
    centre = [(cols * heat).sum() / heat.sum(), (rows * heat).sum() / heat.sum(), 1.0]
    back = transform.to_source(np.array([centre]))[0]
    assert abs(back[0] - x) <= transform.scale_x
    assert abs(back[1] - y) <= transform.scale_y


def test_warm_up_from_several_threads_at_once() -> None:
    warm_up()
    preprocess._resize.disable_compile(False)  # as before the first warm-up (now from cache)
    preprocess._compiled_kernel.cache_clear()
    with ThreadPoolExecutor(4) as pool:
        list(pool.map(lambda _: warm_up(), range(4)))
    assert len(preprocess._resize.signatures) == 2
    np.testing.assert_array_equal(resize_bilinear(random_image(5, 5), (3, 3)).shape, (3, 3, 3))
