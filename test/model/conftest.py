"""Fixtures: the real weights (fetched once into the default cache) and private copies."""

import shutil
from pathlib import Path

import pytest

from posenet_ros.model.weights import WeightsFiles, ensure_weights


@pytest.fixture(scope="session")
def real_weights() -> WeightsFiles:
    return ensure_weights()


@pytest.fixture
def model_dir(tmp_path: Path, real_weights: WeightsFiles) -> Path:
    """A fresh cache dir holding verified copies of the weights (no exports yet)."""
    directory = tmp_path / "models"
    directory.mkdir()
    shutil.copy(real_weights.json_path, directory)
    shutil.copy(real_weights.bin_path, directory)
    return directory
