"""The parameter table: one entry per estimator field, descriptors, validation via the config."""

import pytest

from .requirements import require_ros_build

require_ros_build()

from rcl_interfaces.msg import ParameterType  # noqa: E402

from posenet_ros.config import EstimatorConfig  # noqa: E402
from posenet_ros.errors import InvalidConfigError  # noqa: E402
from posenet_ros.ros.parameters import (  # noqa: E402
    CONFIG_FIELDS,
    PARAMETERS,
    check_node_values,
    estimator_config,
    parameter_value,
)

NAMES = [spec.name for spec in PARAMETERS]


def test_every_config_field_and_the_node_ones_are_parameters():
    assert set(NAMES) == CONFIG_FIELDS | {"input_transport", "publish_annotated_image"}
    assert len(NAMES) == len(set(NAMES))


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
