"""The parameter table: one entry per estimator field, descriptors, validation via the config."""

import pytest

from .requirements import require_ros_build

require_ros_build()

from rcl_interfaces.msg import ParameterType  # noqa: E402

from posenet_ros.config import EstimatorConfig  # noqa: E402
from posenet_ros.depth import DepthConfig  # noqa: E402
from posenet_ros.errors import InvalidConfigError  # noqa: E402
from posenet_ros.ros.parameters import (  # noqa: E402
    CAMERAS,
    CONFIG_FIELDS,
    PARAMETERS,
    SINGLE_CAMERA,
    camera_names,
    cameras_change_refused,
    cameras_descriptor,
    check_node_values,
    estimator_config,
    parameter_value,
    people_settings,
)
from posenet_ros.ros.people import PeopleSettings  # noqa: E402
from posenet_ros.smoothing import SMOOTHING_RANGES, SmoothingConfig  # noqa: E402

NAMES = [spec.name for spec in PARAMETERS]


PEOPLE_PARAMETERS = {
    "tracking",
    "smoothing",
    "smoothing_min_cutoff",
    "smoothing_beta",
    "smoothing_d_cutoff",
    "smoothing_forget_after_s",
    "use_depth",
    "depth_sync_slop",
    "depth_window",
    "depth_min",
    "depth_max",
}


def test_every_config_field_and_the_node_ones_are_parameters():
    node_parameters = {"input_transport", "publish_annotated_image"} | PEOPLE_PARAMETERS
    assert set(NAMES) == CONFIG_FIELDS | node_parameters
    assert len(NAMES) == len(set(NAMES))


def test_people_defaults_are_the_core_defaults():
    values = {spec.name: spec.default for spec in PARAMETERS}
    assert (values["tracking"], values["smoothing"], values["use_depth"]) == (True, False, False)
    assert values["depth_sync_slop"] == 0.05
    settings = people_settings(values)
    assert settings == PeopleSettings(
        tracking=True,
        smoothing=False,
        smoothing_config=SmoothingConfig(),
        depth_config=DepthConfig(),
    )
    assert settings.depth_config.window == 5


def test_people_ranges_are_the_core_ranges():
    by_name = {spec.name: spec.descriptor() for spec in PARAMETERS}
    for name, limits in SMOOTHING_RANGES.items():
        (published,) = by_name[f"smoothing_{name}"].floating_point_range
        assert (published.from_value, published.to_value) == (limits.low, limits.high)
    (window,) = by_name["depth_window"].integer_range
    # step 2 from 1: rclpy itself refuses even windows
    assert (window.from_value, window.to_value, window.step) == (1, 51, 2)
    (depth_max,) = by_name["depth_max"].floating_point_range
    assert (depth_max.from_value, depth_max.to_value) == (0.0, 1000.0)
    (slop,) = by_name["depth_sync_slop"].floating_point_range
    assert (slop.from_value, slop.to_value) == (0.0, 1.0)


def test_people_settings_follow_the_values():
    values = {spec.name: spec.default for spec in PARAMETERS} | {
        "tracking": False,
        "smoothing": True,
        "smoothing_beta": 0.5,
        "depth_window": 7,
        "depth_min": 0.3,
        "depth_max": 4.0,
    }
    settings = people_settings(values)
    assert (settings.tracking, settings.smoothing) == (False, True)
    assert settings.smoothing_config == SmoothingConfig(beta=0.5)
    assert settings.depth_config == DepthConfig(window=7, depth_min=0.3, depth_max=4.0)


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"depth_min": 5.0, "depth_max": 2.0}, "depth_min 5.0"),
        ({"depth_window": 4}, "window 4"),
        ({"smoothing_min_cutoff": 0.0}, "min_cutoff 0.0"),
    ],
)
def test_invalid_people_values_name_themselves(changes, message):
    values = {spec.name: spec.default for spec in PARAMETERS} | changes
    with pytest.raises(InvalidConfigError, match=message):
        people_settings(values)


def test_defaults_are_the_config_defaults():
    values = {spec.name: spec.default for spec in PARAMETERS}
    assert estimator_config(values) == EstimatorConfig()


@pytest.mark.parametrize("spec", PARAMETERS, ids=NAMES)
def test_descriptors_are_typed_and_described(spec):
    descriptor = spec.descriptor()
    assert descriptor.name == spec.name
    assert descriptor.type != ParameterType.PARAMETER_NOT_SET
    assert descriptor.description
    assert not descriptor.read_only  # every parameter can change live


def test_ranges_are_published():
    by_name = {spec.name: spec.descriptor() for spec in PARAMETERS}
    (score_range,) = by_name["score_threshold"].floating_point_range
    assert (score_range.from_value, score_range.to_value) == (0.0, 1.0)
    (resolution_range,) = by_name["input_resolution"].integer_range
    assert (resolution_range.from_value, resolution_range.to_value) == (0, 1281)


def test_input_resolution_zero_means_scale_factor():
    assert estimator_config({"input_resolution": 0}).input_resolution is None
    assert estimator_config({"input_resolution": 353}).input_resolution == 353


def test_parameter_value_maps_config_fields_back():
    assert parameter_value(EstimatorConfig(input_resolution=None), "input_resolution") == 0
    assert parameter_value(EstimatorConfig(input_resolution=353), "input_resolution") == 353
    assert parameter_value(EstimatorConfig(output_stride=8), "output_stride") == 8


@pytest.mark.parametrize(
    ("values", "message"),
    [
        ({"mode": "dual"}, "mode"),
        ({"output_stride": 32}, "output_stride 32"),
        ({"input_resolution": 20}, "input_resolution"),
        ({"nms_radius": 0.0}, "nms_radius"),
        ({"max_pose_detections": 0}, "max_pose_detections"),
        ({"backend": "cuda"}, "backend"),
        ({"precision": "int8"}, "invalid precision 'int8': expected one of fp32, fp16"),
    ],
)
def test_invalid_config_values_name_themselves(values, message):
    with pytest.raises(InvalidConfigError, match=message):
        estimator_config(values)


def test_unknown_transport_is_refused():
    check_node_values({"input_transport": "compressed"})
    with pytest.raises(InvalidConfigError, match="input_transport 'theora'"):
        check_node_values({"input_transport": "theora"})


def test_no_cameras_is_the_one_unnamed_camera():
    assert camera_names(None) == camera_names([]) == (SINGLE_CAMERA,) == ("",)
    assert camera_names(["front", "back", "arm/left_wrist"]) == ("front", "back", "arm/left_wrist")


@pytest.mark.parametrize(
    ("names", "message"),
    [
        (["front", ""], "invalid camera name '' in cameras"),
        (["2nd"], "invalid camera name '2nd'"),
        (["/front"], "invalid camera name '/front'"),
        (["front/"], "invalid camera name 'front/'"),
        (["front cam"], "invalid camera name 'front cam'"),
        (["front", "back", "front"], "camera 'front' repeated in cameras"),
    ],
)
def test_invalid_camera_names_name_themselves(names, message):
    with pytest.raises(InvalidConfigError, match=message):
        camera_names(names)


def test_a_cameras_change_is_refused_with_what_is_served_and_the_remedy():
    assert cameras_change_refused(("front", "back")) == (
        "cameras cannot change while the node runs (it serves ['front', 'back']): restart "
        "the node with the new list"
    )
    assert "unset (one camera on 'image')" in cameras_change_refused((SINGLE_CAMERA,))


@pytest.mark.parametrize(
    ("arguments", "declared"),
    [
        ([], None),
        (["-p", "cameras:=[front,back]"], ["front", "back"]),
    ],
)
def test_cameras_is_declared_as_a_string_array_without_a_default(arguments, declared):
    """How the node declares it: unset without an override, the override's list with one."""
    import rclpy
    from rclpy.parameter import Parameter

    context = rclpy.Context()
    rclpy.init(args=["node", "--ros-args", *arguments], context=context)
    try:
        node = rclpy.create_node("posenet", context=context)
        parameter = node.declare_parameter(
            CAMERAS, Parameter.Type.STRING_ARRAY, cameras_descriptor()
        )
        assert parameter.value == declared
        assert node.describe_parameter(CAMERAS).type == ParameterType.PARAMETER_STRING_ARRAY
        node.destroy_node()
    finally:
        rclpy.try_shutdown(context=context)
