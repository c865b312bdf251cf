from pathlib import Path

import platformdirs

from posenet_ros.model import paths


def test_env_variable_overrides(monkeypatch, tmp_path):
    monkeypatch.setenv(paths.ENV_MODEL_DIR, str(tmp_path / "cache"))
    assert paths.default_model_dir() == tmp_path / "cache"


def test_source_tree_uses_repo_models_dir(monkeypatch):
    monkeypatch.delenv(paths.ENV_MODEL_DIR, raising=False)
    repo = Path(paths.__file__).resolve().parents[2]
    assert (repo / "package.xml").is_file()
    assert paths.default_model_dir() == repo / "models"


def test_installed_package_uses_user_cache_dir(monkeypatch, tmp_path):
    monkeypatch.delenv(paths.ENV_MODEL_DIR, raising=False)
    fake_module = tmp_path / "site-packages" / "posenet_ros" / "model" / "paths.py"
    monkeypatch.setattr(paths, "__file__", str(fake_module))
    expected = platformdirs.user_cache_path("posenet_ros") / "models"
    assert paths.default_model_dir() == expected


def test_blank_env_variable_is_ignored(monkeypatch):
    monkeypatch.setenv(paths.ENV_MODEL_DIR, "  ")
    assert paths.default_model_dir().name == "models"


def test_explicit_dir_wins(monkeypatch, tmp_path):
    monkeypatch.setenv(paths.ENV_MODEL_DIR, "/elsewhere")
    assert paths.resolve_model_dir(tmp_path) == tmp_path
    assert paths.resolve_model_dir(None) == Path("/elsewhere")
