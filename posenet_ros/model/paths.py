"""Where weights and exported models are cached (one rule, used by every cache in the package)."""

from __future__ import annotations

import os
from pathlib import Path

import platformdirs

ENV_MODEL_DIR = "POSENET_ROS_MODEL_DIR"
APP_NAME = "posenet_ros"


def default_model_dir() -> Path:
    """The model cache directory.

    ``$POSENET_ROS_MODEL_DIR`` if set; else ``<repo>/models`` when running from the source tree
    (a ``package.xml`` beside the ``posenet_ros`` package); else the user cache directory.
    """
    override = os.environ.get(ENV_MODEL_DIR, "").strip()
    if override:
        return Path(override).expanduser()
    repo_root = Path(__file__).resolve().parents[2]
    if (repo_root / "package.xml").is_file():
        return repo_root / "models"
    return platformdirs.user_cache_path(APP_NAME) / "models"


def resolve_model_dir(cache_dir: str | os.PathLike[str] | None) -> Path:
    """``cache_dir`` if given, else ``default_model_dir()``."""
    return Path(cache_dir).expanduser() if cache_dir is not None else default_model_dir()
