"""On-disk cache of serialized TensorRT engines, keyed by everything that makes one invalid.

A file holds a small JSON header (the key and a SHA-256 of the payload) before the engine, so
an engine that is truncated, corrupt, or was built for another GPU or TensorRT is detected
before TensorRT sees it, and rebuilt with a warning.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import struct
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TypeVar

import platformdirs

from posenet_ros.errors import ModelError
from posenet_ros.files import atomic_write_bytes
from posenet_ros.model.paths import APP_NAME

ENV_ENGINE_DIR = "POSENET_ROS_ENGINE_DIR"
_MAGIC = b"POSENET-TRT-ENGINE\n"
_LENGTH = struct.Struct("<I")

log = logging.getLogger(__name__)
Engine = TypeVar("Engine")


@dataclass(frozen=True)
class EngineKey:
    """What an engine depends on; any difference means a different engine file."""

    onnx_sha256: str
    tensorrt_version: str
    gpu_name: str
    compute_capability: str
    precision: str
    input_shape: tuple[int, ...]

    def digest(self) -> str:
        fields = json.dumps(asdict(self), sort_keys=True).encode()
        return hashlib.sha256(fields).hexdigest()

    def file_name(self) -> str:
        shape = "x".join(str(d) for d in self.input_shape)
        return f"posenet_{shape}_{self.precision}_{self.digest()[:16]}.engine"

    def describe(self) -> str:
        return f"TensorRT {self.tensorrt_version} on {self.gpu_name} (sm_{self.compute_capability})"


def default_engine_dir() -> Path:
    """``$POSENET_ROS_ENGINE_DIR`` if set, else ``<user cache dir>/posenet_ros/tensorrt``."""
    override = os.environ.get(ENV_ENGINE_DIR, "").strip()
    if override:
        return Path(override).expanduser()
    return platformdirs.user_cache_path(APP_NAME) / "tensorrt"


class EngineCache:
    """Engines under one directory (created on first store)."""

    def __init__(self, root: Path | str | None = None) -> None:
        self.root = Path(root).expanduser() if root is not None else default_engine_dir()

    def path_for(self, key: EngineKey) -> Path:
        return self.root / key.file_name()

    def timing_cache_path(self, key: EngineKey) -> Path:
        """One timing cache per TensorRT version and GPU (shared by every model shape)."""
        device = f"{key.tensorrt_version}|{key.gpu_name}|{key.compute_capability}"
        return self.root / f"timing_{hashlib.sha256(device.encode()).hexdigest()[:16]}.cache"

    def store(self, key: EngineKey, engine: bytes) -> Path:
        header = dict(asdict(key), payload_sha256=hashlib.sha256(engine).hexdigest())
        header_bytes = json.dumps(header, sort_keys=True).encode()
        path = self.path_for(key)
        atomic_write_bytes(path, _MAGIC + _LENGTH.pack(len(header_bytes)) + header_bytes + engine)
        return path

    def load(self, key: EngineKey) -> bytes | None:
        """The cached engine for ``key``; None (with a warning if a file was there) otherwise."""
        path = self.path_for(key)
        try:
            blob = path.read_bytes()
        except FileNotFoundError:
            return None
        except OSError as exc:
            log.warning("cannot read cached engine %s (%s); rebuilding", path, exc)
            return None
        header, payload, problem = _split(blob)
        if problem is None and header is not None:
            problem = _mismatch(header, key, payload)
        if problem is not None:
            log.warning("cached engine %s %s; rebuilding", path, problem)
            return None
        return payload


def load_or_build(
    cache: EngineCache,
    key: EngineKey,
    build: Callable[[], bytes],
    deserialize: Callable[[bytes], Engine | None],
) -> Engine:
    """The deserialized engine for ``key``: from the cache, else built, checked and stored."""
    blob = cache.load(key)
    if blob is not None:
        try:
            engine = deserialize(blob)
        except Exception as exc:  # a foreign or damaged plan may raise instead of returning None
            log.debug("deserializing cached engine raised %r", exc)
            engine = None
        if engine is not None:
            log.info("loaded TensorRT engine %s", cache.path_for(key))
            return engine
        log.warning(
            "cached engine %s failed to deserialize with %s; rebuilding",
            cache.path_for(key),
            key.describe(),
        )
    blob = build()
    try:
        engine = deserialize(blob)
    except Exception as exc:
        raise ModelError(
            f"TensorRT could not load the engine it just built ({key.describe()}): {exc}"
        ) from exc
    if engine is None:
        raise ModelError(f"TensorRT could not load the engine it just built ({key.describe()})")
    path = cache.store(key, blob)
    log.info("stored TensorRT engine %s (%.1f MiB)", path, len(blob) / 2**20)
    return engine


def _split(blob: bytes) -> tuple[dict | None, bytes, str | None]:
    if not blob.startswith(_MAGIC) or len(blob) < len(_MAGIC) + _LENGTH.size:
        return None, b"", "is not a posenet_ros engine file"
    start = len(_MAGIC) + _LENGTH.size
    (length,) = _LENGTH.unpack_from(blob, len(_MAGIC))
    try:
        header = json.loads(blob[start : start + length])
    except ValueError:
        return None, b"", "has a damaged header"
    if not isinstance(header, dict):
        return None, b"", "has a damaged header"
    return header, blob[start + length :], None


def _mismatch(header: dict, key: EngineKey, payload: bytes) -> str | None:
    if header.get("payload_sha256") != hashlib.sha256(payload).hexdigest():
        return "is truncated or corrupt (checksum mismatch)"
    expected = asdict(key)
    stored = {name: header.get(name) for name in expected}
    stored["input_shape"] = tuple(stored["input_shape"] or ())
    if stored == expected:
        return None
    built_for = (
        f"TensorRT {stored['tensorrt_version']} on {stored['gpu_name']} "
        f"(sm_{stored['compute_capability']})"
    )
    if built_for != key.describe():
        return f"was built for {built_for}, this is {key.describe()}"
    return "was built for another model, precision or input shape"
