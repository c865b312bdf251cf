"""The runner's checks, install cache and error messages (no Node run needed)."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import numpy as np
import pytest

from posenet_ros.config import EstimatorConfig
from posenet_ros.errors import InvalidConfigError
from posenet_ros.reference import runner
from posenet_ros.reference.runner import (
    PosesJob,
    RawJob,
    ReferenceHarnessError,
    ReferenceRunner,
    TimingJob,
    ensure_node_modules,
)


@pytest.fixture
def png(tmp_path: Path) -> Path:
    path = tmp_path / "image.png"
    path.write_bytes(b"not checked before Node")
    return path


@pytest.fixture
def offline_runner(tmp_path: Path) -> ReferenceRunner:
    """A runner whose weights exist, so only the job checks can fail."""
    json_path, bin_path = tmp_path / "posenet.json", tmp_path / "posenet.bin"
    json_path.write_text("{}")
    bin_path.write_bytes(b"")
    return ReferenceRunner(json_path, bin_path, cache_dir=tmp_path / "cache")


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"output_stride": 32}, "output_stride 32"),
        ({"output_stride": 12}, "invalid output_stride 12"),
        ({"input_resolution": 0}, "invalid input_resolution 0"),
        ({"input_resolution": None}, "needs an input_resolution"),
        ({"score_threshold": float("nan")}, "invalid score_threshold nan"),
        ({"nms_radius": -1.0}, "invalid nms_radius -1.0"),
        ({"min_pose_score": 0.2}, "min_pose_score"),
        ({"mode": "several"}, "invalid mode 'several'"),
    ],
)
def test_rejects_bad_configs(offline_runner, png, changes, message) -> None:
    config = EstimatorConfig(**changes)
    with pytest.raises(InvalidConfigError, match=message):
        offline_runner.run([PosesJob((png,), config)])


@pytest.mark.parametrize(
    ("images", "message"),
    [
        ((), "non-empty sequence"),
        ("image.png", "non-empty sequence"),
        ((Path("/nonexistent/x.png"),), "image /nonexistent/x.png does not exist"),
    ],
)
def test_rejects_bad_image_lists(offline_runner, images, message) -> None:
    with pytest.raises(InvalidConfigError, match=message):
        offline_runner.run([PosesJob(images, EstimatorConfig())])


@pytest.mark.parametrize(
    ("job", "message"),
    [
        (RawJob(16), "exactly one of image"),
        (RawJob(16, image=Path("a.png"), tensor=np.zeros((1, 9, 9, 3), np.float32)), "exactly one"),
        (RawJob(16, tensor=np.zeros((9, 9, 3), np.float32)), r"shape \(9, 9, 3\)"),
        (RawJob(16, tensor=np.zeros((1, 9, 9, 3), np.float64)), "dtype float64"),
        (RawJob(16, tensor=np.zeros((1, 0, 9, 3), np.float32)), "expected a float32"),
        (RawJob(16, tensor=np.full((1, 9, 9, 3), np.nan, np.float32)), "NaN"),
        (RawJob(16, tensor=[[0.0]]), "dtype list"),
        (RawJob(32, tensor=np.zeros((1, 9, 9, 3), np.float32)), "output_stride 32"),
    ],
)
def test_rejects_bad_raw_jobs(offline_runner, job, message) -> None:
    with pytest.raises(InvalidConfigError, match=message):
        offline_runner.run([job])


@pytest.mark.parametrize(("repeats", "warmup"), [(0, 1), (2, -1), (1.5, 0), (True, 0)])
def test_rejects_bad_timing_counts(offline_runner, png, repeats, warmup) -> None:
    with pytest.raises(InvalidConfigError, match="expected an integer"):
        offline_runner.run([TimingJob((png,), EstimatorConfig(), repeats=repeats, warmup=warmup)])


def test_rejects_unknown_jobs(offline_runner) -> None:
    with pytest.raises(InvalidConfigError, match="unknown job"):
        offline_runner.run(["poses"])


def test_needs_both_weights_files(tmp_path: Path) -> None:
    with pytest.raises(InvalidConfigError, match="both model_json and model_bin"):
        ReferenceRunner(model_json=tmp_path / "posenet.json")


def test_missing_weights_file(tmp_path: Path, png: Path) -> None:
    runner_ = ReferenceRunner(tmp_path / "none.json", tmp_path / "none.bin")
    with pytest.raises(InvalidConfigError, match=r"none\.json does not exist"):
        runner_.run([PosesJob((png,), EstimatorConfig())])


def test_missing_node_is_one_clear_error(monkeypatch, tmp_path: Path) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(ReferenceHarnessError, match=r"node not found on PATH: .*install Node\.js"):
        ensure_node_modules(tmp_path / "cache")


def _fake_tool(folder: Path, name: str, script: str) -> None:
    path = folder / name
    path.write_text(f"#!/bin/sh\n{script}\n")
    path.chmod(path.stat().st_mode | stat.S_IEXEC)


def test_failed_npm_ci_leaves_no_install(monkeypatch, tmp_path: Path) -> None:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    _fake_tool(bin_dir, "node", "exit 0")
    _fake_tool(bin_dir, "npm", "echo 'npm error 404 Not Found' >&2; exit 1")
    monkeypatch.setenv("PATH", str(bin_dir))
    cache = tmp_path / "cache"
    with pytest.raises(ReferenceHarnessError, match=r"npm ci.*failed \(npm error 404 Not Found\)"):
        ensure_node_modules(cache)
    assert list(cache.iterdir()) == []


def test_install_is_cached_by_lockfile(monkeypatch, tmp_path: Path) -> None:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    calls = tmp_path / "calls"
    _fake_tool(bin_dir, "node", "exit 0")
    _fake_tool(bin_dir, "npm", f'echo "$@" >> {calls}; mkdir node_modules')
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}/usr/bin{os.pathsep}/bin")
    first = ensure_node_modules(tmp_path / "cache")
    second = ensure_node_modules(tmp_path / "cache")
    assert first == second
    assert (first / "node_modules").is_dir()
    assert (first / "package-lock.json").read_bytes() == (
        runner.NODE_DIR / "package-lock.json"
    ).read_bytes()
    assert calls.read_text().split("\n")[0].startswith("ci ")
    assert len(calls.read_text().splitlines()) == 1


def test_node_failure_names_the_problem(monkeypatch, tmp_path: Path, png: Path) -> None:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    _fake_tool(bin_dir, "node", "echo 'reference: Invalid PNG signature' >&2; exit 1")
    _fake_tool(bin_dir, "npm", "mkdir node_modules")
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}/usr/bin{os.pathsep}/bin")
    weights = tmp_path / "w.json", tmp_path / "w.bin"
    for path in weights:
        path.write_bytes(b"{}")
    runner_ = ReferenceRunner(*weights, cache_dir=tmp_path / "cache")
    with pytest.raises(ReferenceHarnessError, match=r"exit status 1\): reference: Invalid PNG"):
        runner_.run([PosesJob((png,), EstimatorConfig())])
