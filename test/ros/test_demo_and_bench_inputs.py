"""The demo publisher's and the benchmark's image inputs, and their bad-input errors."""

import pytest

from .requirements import require_ros_build

require_ros_build()

from posenet_ros.errors import PoseNetError  # noqa: E402
from posenet_ros.ros.bench import main as bench_main  # noqa: E402
from posenet_ros.ros.demo_publisher import image_files  # noqa: E402

from .harness import DATA_DIR  # noqa: E402


def test_the_bundled_frames_are_found_sorted():
    files = image_files(str(DATA_DIR))
    assert [f.name for f in files] == sorted(f.name for f in files)
    assert len(files) == 4
    assert image_files(str(files[0])) == [files[0]]


@pytest.mark.parametrize("where", ["missing", "empty"])
def test_no_images_is_an_error_naming_the_place(tmp_path, where):
    place = tmp_path / where
    if where == "empty":
        place.mkdir()
    with pytest.raises(PoseNetError, match=where):
        image_files(str(place))


def test_bench_refuses_a_place_without_images(tmp_path, capsys):
    assert bench_main(["--images", str(tmp_path)]) == 2
    assert "no .jpg/.jpeg/.png images" in capsys.readouterr().err
