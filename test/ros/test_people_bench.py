"""The people benchmark runs and prints its figures (no timing is asserted)."""

from .requirements import require_ros_build

require_ros_build()

from posenet_ros.ros.people_bench import main  # noqa: E402


def test_people_bench_prints_each_figure(capsys):
    assert main(["--people", "2", "--frames", "12"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("2 people, 12 frames (")
    for name in ("track + 3D", "track + smooth + 3D", "Poses message", "Poses3D + markers"):
        assert name in out
