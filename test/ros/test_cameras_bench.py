"""The multi-camera bench's report: each camera's share and the node's stage medians."""

from .requirements import require_ros_build

require_ros_build()

from posenet_ros.ros.cameras_bench import shares, stage_medians  # noqa: E402


def test_shares_are_deviations_from_an_equal_share_of_the_total():
    assert shares([10.0, 10.0, 12.0, 8.0]) == "10.0 (+0%), 10.0 (+0%), 12.0 (+20%), 8.0 (-20%)"


def test_stage_medians_are_the_stages_only():
    values = {
        "latency_median_ms": "40.0",
        "processing_median_ms": "12.0",
        "handover_median_ms": "30.00",
        "estimation_median_ms": "11.70",
        "fps": "70.0",
    }
    assert stage_medians(values) == "handover 30.00, estimation 11.70"
