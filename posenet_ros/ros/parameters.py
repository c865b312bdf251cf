"""The node's parameters as one table: name, default, descriptor; and their mapping to config.

Estimator parameters take their defaults from ``EstimatorConfig`` and are validated by it, so
the node and the core library cannot disagree about what is valid.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, fields

from rcl_interfaces.msg import (
    FloatingPointRange,
    IntegerRange,
    ParameterDescriptor,
    ParameterType,
)

from posenet_ros.config import (
    BACKENDS,
    IMAGE_SCALE_FACTOR_RANGE,
    MAX_INFERENCE_THREADS,
    MAX_INPUT_RESOLUTION,
    MODES,
    PRECISIONS,
    EstimatorConfig,
)
from posenet_ros.depth import DEPTH_RANGES, DepthConfig
from posenet_ros.errors import InvalidConfigError
from posenet_ros.ranges import Range
from posenet_ros.ros.people import PeopleSettings
from posenet_ros.smoothing import SMOOTHING_RANGES, SmoothingConfig

INPUT_TRANSPORTS = ("raw", "compressed")
# ROS parameters cannot be null: input_resolution 0 stands for the config's None.
NO_INPUT_RESOLUTION = 0

_DEFAULTS = EstimatorConfig()
_DEPTH_DEFAULTS = DepthConfig()
_SMOOTHING_DEFAULTS = SmoothingConfig()
SMOOTHING_PREFIX = "smoothing_"
SMOOTHING_DESCRIPTIONS = {
    "min_cutoff": "Hz; One Euro filter cutoff of a still keypoint: lower removes more jitter "
    "and lags more",
    "beta": "1/pixel; how fast the cutoff rises with keypoint speed: higher lags less when moving",
    "d_cutoff": "Hz; cutoff of the keypoint speed estimate",
    "forget_after_s": "s; a track unseen for longer restarts its filter",
}
DEPTH_SYNC_SLOP_RANGE = (0.0, 1.0)

# The cameras one node serves, read once at start (each has its own topics and subscriptions).
# Not in PARAMETERS: it cannot change live, and ROS cannot type an empty list's default
# (``[]`` is taken for a byte array), so it is declared by type alone (see cameras_descriptor).
CAMERAS = "cameras"
SINGLE_CAMERA = ""  # the name of the one camera of a node without ``cameras``: topics unprefixed
# A camera name is a relative ROS name: tokens of letters, digits and _, not starting with a
# digit, joined by "/" (front, left_wrist, arm/left).
_CAMERA_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*(/[A-Za-z_][A-Za-z0-9_]*)*")


@dataclass(frozen=True)
class ParameterSpec:
    name: str
    default: object
    description: str
    constraints: str = ""
    float_range: tuple[float, float] | None = None
    int_range: tuple[int, int] | None = None
    int_step: int = 1

    def descriptor(self) -> ParameterDescriptor:
        """The descriptor ``ros2 param describe`` shows; ranges are enforced by rclpy too."""
        descriptor = ParameterDescriptor(
            name=self.name,
            type=_PARAMETER_TYPES[type(self.default)],
            description=self.description,
            additional_constraints=self.constraints,
        )
        if self.float_range is not None:
            lo, hi = self.float_range
            descriptor.floating_point_range = [FloatingPointRange(from_value=lo, to_value=hi)]
        if self.int_range is not None:
            lo, hi = self.int_range
            descriptor.integer_range = [
                IntegerRange(from_value=lo, to_value=hi, step=self.int_step)
            ]
        return descriptor


_PARAMETER_TYPES = {
    bool: ParameterType.PARAMETER_BOOL,
    int: ParameterType.PARAMETER_INTEGER,
    float: ParameterType.PARAMETER_DOUBLE,
    str: ParameterType.PARAMETER_STRING,
}


def _ranged(name: str, default: object, description: str, limits: Range) -> ParameterSpec:
    """A parameter whose range comes from a core config's range table."""
    if limits.integer:
        return ParameterSpec(name, default, description, int_range=(limits.low, limits.high))
    return ParameterSpec(name, default, description, float_range=(limits.low, limits.high))


# The One Euro filter's parameters, one per SmoothingConfig field, with its ranges.
SMOOTHING_PARAMETERS: tuple[ParameterSpec, ...] = tuple(
    _ranged(
        SMOOTHING_PREFIX + name,
        getattr(_SMOOTHING_DEFAULTS, name),
        SMOOTHING_DESCRIPTIONS[name],
        limits,
    )
    for name, limits in SMOOTHING_RANGES.items()
)

PARAMETERS: tuple[ParameterSpec, ...] = (
    ParameterSpec(
        "mode",
        _DEFAULTS.mode,
        "single: the one best pose (fast); multi: up to max_pose_detections people",
        f"one of {', '.join(MODES)}",
    ),
    ParameterSpec(
        "backend",
        _DEFAULTS.backend,
        "inference engine; auto picks TensorRT when a GPU is usable, else ONNX Runtime. "
        "A change rebuilds the model in the background",
        f"one of {', '.join(BACKENDS)}",
    ),
    ParameterSpec(
        "precision",
        _DEFAULTS.precision,
        "TensorRT engine precision: fp16 is faster on GPUs with tensor cores; ONNX Runtime "
        "runs fp32 whatever this says. A change rebuilds the engine in the background",
        f"one of {', '.join(PRECISIONS)}",
    ),
    ParameterSpec(
        "inference_threads",
        _DEFAULTS.inference_threads,
        "ONNX Runtime threads per inference: 0 takes one per physical core; fewer leave cores "
        "to the camera driver and other nodes. A change rebuilds the model in the background",
        f"0, or an integer in [1, {MAX_INFERENCE_THREADS}]",
        int_range=(0, MAX_INFERENCE_THREADS),
    ),
    ParameterSpec(
        "input_resolution",
        _DEFAULTS.input_resolution or NO_INPUT_RESOLUTION,
        "square network input size the image is padded and resized to (reference 2.x); "
        "0 uses image_scale_factor instead",
        "0, or an integer in [33, 1281]",
        int_range=(NO_INPUT_RESOLUTION, MAX_INPUT_RESOLUTION),
    ),
    ParameterSpec(
        "image_scale_factor",
        _DEFAULTS.image_scale_factor,
        "scale applied to the image before inference when input_resolution is 0 (reference 0.x)",
        float_range=IMAGE_SCALE_FACTOR_RANGE,
    ),
    ParameterSpec(
        "output_stride",
        _DEFAULTS.output_stride,
        "network output stride: 8 is more precise, 16 faster. A change rebuilds the model "
        "in the background",
        "8 or 16 (32 needs the 1.0-multiplier model)",
    ),
    ParameterSpec(
        "flip_horizontal",
        _DEFAULTS.flip_horizontal,
        "mirror the poses horizontally (for mirrored webcam images)",
    ),
    ParameterSpec(
        "max_pose_detections",
        _DEFAULTS.max_pose_detections,
        "multi mode: at most this many poses per image",
        "an integer >= 1",
    ),
    ParameterSpec(
        "score_threshold",
        _DEFAULTS.score_threshold,
        "multi mode: minimum part score of a pose root candidate",
        float_range=(0.0, 1.0),
    ),
    ParameterSpec(
        "nms_radius",
        _DEFAULTS.nms_radius,
        "multi mode: non-maximum suppression radius in model-input pixels",
        "a finite number > 0",
    ),
    ParameterSpec(
        "min_pose_score",
        _DEFAULTS.min_pose_score,
        "poses scoring below this are not published",
        float_range=(0.0, 1.0),
    ),
    ParameterSpec(
        "min_keypoint_score",
        _DEFAULTS.min_keypoint_score,
        "minimum keypoint score applied to the published poses and the drawing",
        float_range=(0.0, 1.0),
    ),
    ParameterSpec(
        "input_transport",
        "raw",
        "raw: subscribe sensor_msgs/Image on 'image'; compressed: sensor_msgs/CompressedImage "
        "on '<image>/compressed'. A change resubscribes",
        f"one of {', '.join(INPUT_TRANSPORTS)}",
    ),
    ParameterSpec(
        "publish_annotated_image",
        True,
        "publish the image with the skeletons drawn on 'poses/image' (only while subscribed)",
    ),
    ParameterSpec(
        "tracking",
        True,
        "give each person a track id (Pose.id) kept across frames; keypoints are not changed",
    ),
    ParameterSpec(
        "smoothing",
        False,
        "filter the published keypoints of each tracked person over time (One Euro filter); "
        "off keeps /poses equal to the reference decoder",
    ),
    *SMOOTHING_PARAMETERS,
    ParameterSpec(
        "use_depth",
        False,
        "subscribe 'depth' (aligned to the colour image, 16UC1 mm or 32FC1 m) and "
        "'camera_info', publish 'poses_3d' and 'markers'. A change (un)subscribes",
    ),
    ParameterSpec(
        "depth_sync_slop",
        0.05,
        "s; a colour frame is paired with the depth frame of nearest stamp within this",
        float_range=DEPTH_SYNC_SLOP_RANGE,
    ),
    ParameterSpec(
        "depth_window",
        _DEPTH_DEFAULTS.window,
        "odd side in pixels of the square around a keypoint whose median depth is taken",
        "an odd integer",
        int_range=(DEPTH_RANGES["window"].low, DEPTH_RANGES["window"].high),
        int_step=2,
    ),
    _ranged(
        "depth_min",
        _DEPTH_DEFAULTS.depth_min,
        "m; depth readings nearer than this are ignored (must be below depth_max)",
        DEPTH_RANGES["depth_min"],
    ),
    _ranged(
        "depth_max",
        _DEPTH_DEFAULTS.depth_max,
        "m; depth readings farther than this are ignored",
        DEPTH_RANGES["depth_max"],
    ),
)

CONFIG_FIELDS = frozenset(f.name for f in fields(EstimatorConfig))


def estimator_config(values: Mapping[str, object]) -> EstimatorConfig:
    """Validated config from parameter values (raises ``InvalidConfigError`` naming the value)."""
    changes = {name: values[name] for name in CONFIG_FIELDS if name in values}
    if changes.get("input_resolution") == NO_INPUT_RESOLUTION:
        changes["input_resolution"] = None
    return EstimatorConfig().with_changes(**changes)


def people_settings(values: Mapping[str, object]) -> PeopleSettings:
    """Tracking, smoothing and depth settings from parameter values (``InvalidConfigError``)."""
    return PeopleSettings(
        tracking=values["tracking"],
        smoothing=values["smoothing"],
        smoothing_config=SmoothingConfig(
            **{name: values[SMOOTHING_PREFIX + name] for name in SMOOTHING_RANGES}
        ),
        depth_config=DepthConfig(
            window=values["depth_window"],
            depth_min=values["depth_min"],
            depth_max=values["depth_max"],
        ),
    )


def check_node_values(values: Mapping[str, object]) -> None:
    """Validate the parameters the node itself owns (raises ``InvalidConfigError``)."""
    transport = values.get("input_transport", "raw")
    if transport not in INPUT_TRANSPORTS:
        raise InvalidConfigError(
            f"invalid input_transport {transport!r}: expected one of {', '.join(INPUT_TRANSPORTS)}"
        )


def cameras_descriptor() -> ParameterDescriptor:
    """``cameras``: a string array, declared without a default (unset = one unnamed camera).

    Declared as ``declare_parameter(CAMERAS, Parameter.Type.STRING_ARRAY, descriptor)``, which
    rclpy has taken since Humble's 3.3 (ros2/rclpy#798): an override from the command
    line or a params file sets it, an empty YAML list leaves it unset.
    """
    return ParameterDescriptor(
        name=CAMERAS,
        type=ParameterType.PARAMETER_STRING_ARRAY,
        description="names of the cameras this node serves with one model: camera NAME reads "
        "'NAME/image' and publishes 'NAME/poses', 'NAME/poses/image' (with depth 'NAME/depth', "
        "'NAME/camera_info' in, 'NAME/poses_3d', 'NAME/markers' out). Unset or empty: one "
        "camera on 'image'. Read at start only: a change needs a restart",
        additional_constraints="distinct relative ROS names (letters, digits, _, / between "
        "tokens), e.g. [front, back]",
    )


def camera_names(value: Sequence[str] | None) -> tuple[str, ...]:
    """The validated camera names; unset or empty is the one unnamed camera (``SINGLE_CAMERA``).

    Raises ``InvalidConfigError`` naming the bad name.
    """
    if not value:
        return (SINGLE_CAMERA,)
    names = tuple(value)
    for name in names:
        if not isinstance(name, str) or not _CAMERA_NAME.fullmatch(name):
            raise InvalidConfigError(
                f"invalid camera name {name!r} in {CAMERAS}: expected a relative ROS name "
                "(letters, digits and _, not starting with a digit, / between tokens)"
            )
    repeated = sorted({name for name in names if names.count(name) > 1})
    if repeated:
        raise InvalidConfigError(f"camera {', '.join(map(repr, repeated))} repeated in {CAMERAS}")
    return names


def camera_topic(camera: str, topic: str) -> str:
    """A camera's relative topic: ``front/poses`` of camera ``front``; ``poses`` unnamed."""
    return f"{camera}/{topic}" if camera else topic


def cameras_change_refused(serving: Sequence[str]) -> str:
    """Why a live change of ``cameras`` is refused (topics and subscriptions are per camera)."""
    shown = "unset (one camera on 'image')" if tuple(serving) == (SINGLE_CAMERA,) else list(serving)
    return (
        f"{CAMERAS} cannot change while the node runs (it serves {shown}): restart the node "
        "with the new list"
    )


def parameter_value(config: EstimatorConfig, name: str) -> object:
    """The ROS parameter value of one config field (``input_resolution`` None -> 0)."""
    value = getattr(config, name)
    return NO_INPUT_RESOLUTION if name == "input_resolution" and value is None else value
