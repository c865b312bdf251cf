from __future__ import annotations

from pathlib import Path

import pytest

from posenet_ros.reference.__main__ import main


def test_photos_writes_the_pngs(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["photos", str(tmp_path)]) == 0
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "astronaut.png",
        "group_landscape.png",
        "group_portrait.png",
    ]
    assert len(capsys.readouterr().out.splitlines()) == 3


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--output-stride", "12"], "error: invalid output_stride 12"),
        (["--input-resolution", "0"], "error: invalid input_resolution 0"),
        (["--nms-radius", "nan"], "error: invalid nms_radius nan"),
    ],
)
def test_errors_are_one_line_without_traceback(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], args: list[str], message: str
) -> None:
    image = tmp_path / "image.png"
    image.write_bytes(b"")
    assert main(["poses", str(image), *args]) == 1
    err = capsys.readouterr().err
    assert err.startswith(message) and err.count("\n") == 1


def test_missing_image_is_named(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["raw", str(tmp_path / "missing.png"), "--out", str(tmp_path)]) == 1
    assert "missing.png does not exist" in capsys.readouterr().err


def test_raw_needs_an_output_folder() -> None:
    with pytest.raises(SystemExit):
        main(["raw", "image.png"])
