"""Node figures and the DiagnosticStatus built from them."""

import math

import pytest

from .requirements import require_ros_build

require_ros_build()

from diagnostic_msgs.msg import DiagnosticStatus  # noqa: E402

from posenet_ros.ros.diagnostics import NodeStats  # noqa: E402


def values(status):
    return {kv.key: kv.value for kv in status.values}


def test_fresh_stats_are_ok_and_empty():
    status = NodeStats().status("posenet", "onnxruntime cpu", 0, False)
    assert status.level == DiagnosticStatus.OK
    assert values(status)["frames_processed"] == "0"
    assert math.isnan(NodeStats().latency_ms()[0])


def test_counts_latency_and_drops_are_reported():
    stats = NodeStats()
    for latency in (0.010, 0.020, 0.030):
        stats.frame_received()
        stats.frame_done(latency)
    median, p99 = stats.latency_ms()
    assert median == 20.0
    assert 29.0 < p99 <= 30.0
    got = values(stats.status("posenet", "onnxruntime cpu", 4, False))
    assert (got["frames_received"], got["frames_processed"], got["frames_dropped"]) == (
        "3",
        "3",
        "4",
    )
    assert got["backend"] == "onnxruntime cpu"


def test_bad_frames_and_errors_warn_with_the_reason():
    stats = NodeStats()
    stats.failed("unsupported encoding 'x'", bad_frame=True)
    stats.failed("boom", bad_frame=False)
    status = stats.status("posenet", "b", 0, False)
    assert status.level == DiagnosticStatus.WARN
    got = values(status)
    assert (got["bad_frames"], got["errors"], got["last_error"]) == ("1", "1", "boom")


def test_rebuilding_warns():
    status = NodeStats().status("posenet", "b", 0, True)
    assert status.level == DiagnosticStatus.WARN
    assert values(status)["rebuilding"] == "true"


def test_depth_counters_are_reported_and_problems_warn():
    stats = NodeStats()
    assert values(stats.status("posenet", "b", 0, False))["depth_size_mismatch"] == "0"
    stats.count("colour_frames_without_depth")
    stats.count("colour_frames_without_depth")
    status = stats.status("posenet", "b", 0, False)
    assert status.level == DiagnosticStatus.OK  # no partner in time is not an error
    assert values(status)["colour_frames_without_depth"] == "2"
    stats.count("depth_size_mismatch", "depth image refused: 10x10 is not 20x20")
    status = stats.status("posenet", "b", 0, False)
    assert status.level == DiagnosticStatus.WARN
    got = values(status)
    assert (got["depth_size_mismatch"], got["last_error"]) == (
        "1",
        "depth image refused: 10x10 is not 20x20",
    )


def test_stage_medians_are_reported():
    stats = NodeStats()
    assert values(stats.status("posenet", "b", 0, False))["estimation_median_ms"] == "nan"
    for stage, seconds in (("conversion", 0.0005), ("estimation", 0.004), ("estimation", 0.006)):
        stats.stage_time(stage, seconds)
    got = values(stats.status("posenet", "b", 0, False))
    assert (got["conversion_median_ms"], got["estimation_median_ms"]) == ("0.50", "5.00")
    assert (got["handover_median_ms"], got["publish_median_ms"]) == ("nan", "nan")


def test_a_cameras_events_are_counted_for_the_node_too():
    node = NodeStats()
    front, back = NodeStats(node, "front"), NodeStats(node, "back")
    front.frame_received()
    front.frame_done(0.010)
    front.stage_time("estimation", 0.005)
    back.frame_received()
    back.failed("bad frame dropped: unknown encoding", bad_frame=True)
    back.count("depth_refused", "depth image refused: truncated")
    back.count("depth_frames_received")
    assert (node.received, node.processed, node.bad_frames, node.errors) == (2, 1, 1, 0)
    assert (front.received, front.processed, front.bad_frames) == (1, 1, 0)
    assert (back.received, back.processed, back.bad_frames) == (1, 0, 1)
    assert node.counters["depth_refused"] == back.counters["depth_refused"] == 1
    assert node.counters["depth_frames_received"] == 1
    assert front.counters["depth_refused"] == 0
    assert back.last_error == "depth image refused: truncated"
    assert node.last_error == "back: depth image refused: truncated"
    assert front.last_error == ""
    assert node.latency_ms()[0] == front.latency_ms()[0] == pytest.approx(10.0)
    assert node.stage_ms("estimation")[0] == pytest.approx(5.0)
