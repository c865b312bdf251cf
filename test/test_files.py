"""Shared file helpers: sha256 of a file, atomic writes that keep the old file on failure."""

from __future__ import annotations

import pytest

from posenet_ros import files
from posenet_ros.files import atomic_write_bytes, file_sha256


def test_atomic_write_keeps_the_old_file_when_replace_fails(tmp_path, monkeypatch) -> None:
    target = tmp_path / "engine"
    target.write_bytes(b"old")

    def failing_replace(src, dst):
        raise OSError("disk full")

    monkeypatch.setattr(files.os, "replace", failing_replace)
    with pytest.raises(OSError, match="disk full"):
        atomic_write_bytes(target, b"new")
    assert target.read_bytes() == b"old"
    assert [p.name for p in tmp_path.iterdir()] == ["engine"]


def test_file_sha256(tmp_path) -> None:
    path = tmp_path / "model.onnx"
    path.write_bytes(b"abc")
    assert file_sha256(path) == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
