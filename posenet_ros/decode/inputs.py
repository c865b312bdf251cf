"""Checks of the decoders' inputs: map shapes against the PoseNet heads, and parameters."""

from __future__ import annotations

import contextlib
import math
import numbers
from types import ModuleType
from typing import Any

from posenet_ros.arrays import array_namespace
from posenet_ros.errors import InvalidConfigError, ModelError
from posenet_ros.keypoints import NUM_EDGES, NUM_KEYPOINTS

# Channels per head: scores, then y/x pairs as (all y, all x).
CHANNELS = {
    "heatmap": NUM_KEYPOINTS,
    "offsets": 2 * NUM_KEYPOINTS,
    "displacement_fwd": 2 * NUM_EDGES,
    "displacement_bwd": 2 * NUM_EDGES,
}


def check_maps(**maps: Any) -> tuple[ModuleType, int, int]:
    """The array namespace and (height, width) of the named maps, or ``ModelError``.

    Every map must be a real floating (H, W, C) array with the head's channel count and the
    same H and W as the others (keyword names are those of ``CHANNELS``).
    """
    try:
        xp = array_namespace(*maps.values())
    except TypeError as exc:
        raise ModelError(f"network outputs: {exc}") from None
    size = None
    for name, array in maps.items():
        shape = getattr(array, "shape", None)
        kind = getattr(getattr(array, "dtype", None), "kind", None)
        if shape is None or len(shape) != 3 or shape[2] != CHANNELS[name] or kind != "f":
            raise ModelError(
                f"invalid {name} output {_describe(array)}: expected an "
                f"(H, W, {CHANNELS[name]}) floating-point array"
            )
        if size is None:
            size = shape[:2]
            if shape[0] < 1 or shape[1] < 1:
                raise ModelError(f"invalid {name} output of shape {tuple(shape)}: the map is empty")
        elif shape[:2] != size:
            raise ModelError(
                f"invalid {name} output of shape {tuple(shape)}: expected H, W = {tuple(size)} "
                "like the heatmap"
            )
    return xp, size[0], size[1]


# (names, (type, shape, dtype) per map) -> check_maps' result, for maps seen before.
_KNOWN_MAPS: dict[tuple, tuple[ModuleType, int, int]] = {}
_KNOWN_MAPS_LIMIT = 64


def check_known_maps(names: tuple[str, ...], *arrays: Any) -> tuple[ModuleType, int, int]:
    """``check_maps(**dict(zip(names, arrays)))``, run only for the first maps of each kind
    (types, shapes and dtypes): frame after frame the backend returns the same kind. The
    full check runs a dozen calls per map, which costs tens of µs right after inference."""
    try:
        key = (names, *[(type(a), a.shape, a.dtype) for a in arrays])
        return _KNOWN_MAPS[key]
    except (AttributeError, KeyError, TypeError):  # no shape / dtype, unhashable, or new
        pass
    result = check_maps(**dict(zip(names, arrays, strict=True)))
    if len(_KNOWN_MAPS) >= _KNOWN_MAPS_LIMIT:
        _KNOWN_MAPS.clear()
    with contextlib.suppress(TypeError):  # the key was built: the maps have shape and dtype
        _KNOWN_MAPS[key] = result
    return result


def check_stride(output_stride: object) -> int:
    """The output stride as a positive ``int``, or ``InvalidConfigError``."""
    if not _is_int(output_stride) or output_stride < 1:
        raise InvalidConfigError(
            f"invalid output_stride {output_stride!r}: expected a positive integer (8 or 16)"
        )
    return int(output_stride)


def check_multi_pose_params(
    max_pose_detections: object, score_threshold: object, nms_radius: object
) -> None:
    """Raise ``InvalidConfigError`` naming the first parameter out of its range."""
    if not _is_int(max_pose_detections) or max_pose_detections < 1:
        raise InvalidConfigError(
            f"invalid max_pose_detections {max_pose_detections!r}: expected an integer >= 1"
        )
    if not _is_number(score_threshold) or not 0.0 <= score_threshold <= 1.0:
        raise InvalidConfigError(
            f"invalid score_threshold {score_threshold!r}: expected a number in [0.0, 1.0]"
        )
    if not _is_number(nms_radius) or not 0.0 < nms_radius < math.inf:
        raise InvalidConfigError(f"invalid nms_radius {nms_radius!r}: expected a finite number > 0")


def _describe(array: object) -> str:
    shape = getattr(array, "shape", None)
    if shape is None:
        return f"of type {type(array).__name__}"
    return f"of shape {tuple(shape)} and dtype {getattr(array, 'dtype', '?')}"


def _is_int(value: object) -> bool:
    if type(value) is int:  # the usual case, without the ABC check
        return True
    return isinstance(value, numbers.Integral) and not isinstance(value, bool)


def _is_number(value: object) -> bool:
    if type(value) is float or type(value) is int:  # the usual cases, without the ABC check
        return True
    return isinstance(value, numbers.Real) and not isinstance(value, bool)
