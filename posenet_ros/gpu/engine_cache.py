"""On-disk cache of serialized TensorRT engines, keyed by everything that makes one invalid.

A file holds a small JSON header (the key and a SHA-256 of the payload) before the engine, so
an engine that is truncated, corrupt, or was built for another GPU or TensorRT is detected
before TensorRT sees it, and rebuilt with a warning. A cache that cannot be written never
costs a build: the engine is used from memory, with one warning naming ``POSENET_ROS_ENGINE_DIR``.
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
# Key fields added since engines were first cached, with the value a header without them means.
_FIELDS_ADDED = {"max_batch": 1}
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
    multiprocessors: int  # with the memory, tells apart GPUs of one name (Orin AGX / Nano)
    memory_bytes: int
    precision: str
    input_shape: tuple[int, ...]  # one frame's: (1, H, W, C)
    max_batch: int = 1  # frames per call the engine's optimisation profile reaches

    def digest(self) -> str:
        fields = asdict(self)
        if self.max_batch == 1:  # as before batching: one-frame engines cached then stay valid
            del fields["max_batch"]
        return hashlib.sha256(json.dumps(fields, sort_keys=True).encode()).hexdigest()

    def file_name(self) -> str:
        shape = "x".join(str(d) for d in self.input_shape)
        batch = f"_batch{self.max_batch}" if self.max_batch > 1 else ""
        return f"posenet_{shape}{batch}_{self.precision}_{self.digest()[:16]}.engine"

    def describe(self) -> str:
        return _built_for(asdict(self))


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
        self._write_failed = False  # warn once per cache, not once per file

    def path_for(self, key: EngineKey) -> Path:
        return self.root / key.file_name()

    def timing_cache_path(self, key: EngineKey) -> Path:
        """One timing cache per TensorRT version and GPU (shared by every model shape)."""
        device = key.describe()
        return self.root / f"timing_{hashlib.sha256(device.encode()).hexdigest()[:16]}.cache"

    def timing_cache(self, key: EngineKey) -> TimingCacheFile:
        return TimingCacheFile(self.timing_cache_path(key), self)

    def write(self, path: Path, data: bytes) -> bool:
        """Write ``data`` atomically; False (and one warning per cache) when it cannot."""
        try:
            atomic_write_bytes(path, data)
        except OSError as exc:
            if not self._write_failed:
                self._write_failed = True
                log.warning(
                    "cannot write %s (%s): the TensorRT engine is kept in memory for this run "
                    "only and built again at the next start; set %s to a writable directory",
                    path,
                    exc,
                    ENV_ENGINE_DIR,
                )
            return False
        return True

    def store(self, key: EngineKey, engine: bytes) -> Path | None:
        """Cache ``engine`` for ``key``; its path, or None when it could not be written."""
        header = dict(asdict(key), payload_sha256=hashlib.sha256(engine).hexdigest())
        header_bytes = json.dumps(header, sort_keys=True).encode()
        path = self.path_for(key)
        blob = _MAGIC + _LENGTH.pack(len(header_bytes)) + header_bytes + engine
        return path if self.write(path, blob) else None

    def load(self, key: EngineKey) -> bytes | None:
        """The cached engine for ``key``; None (with a warning if a file was there) otherwise."""
        path = self.path_for(key)
        try:
            blob = path.read_bytes()
        except (FileNotFoundError, NotADirectoryError):  # nothing cached (yet)
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


@dataclass(frozen=True)
class TimingCacheFile:
    """Where a build reads and saves its timing cache (saved through the engine cache)."""

    path: Path
    cache: EngineCache

    def read(self) -> bytes:
        """The stored timing cache; empty when missing or unreadable (with a warning)."""
        try:
            return self.path.read_bytes()
        except FileNotFoundError:
            return b""
        except OSError as exc:
            log.warning("cannot read timing cache %s (%s); starting an empty one", self.path, exc)
            return b""

    def save(self, data: bytes) -> bool:
        return self.cache.write(self.path, data)


def load_or_build(
    cache: EngineCache,
    key: EngineKey,
    build: Callable[[], bytes],
    deserialize: Callable[[bytes], Engine | None],
) -> Engine:
    """The deserialized engine for ``key``: from the cache, else built, checked and stored
    (or, where the cache cannot be written, used from memory)."""
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
    if path is not None:
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
    stored = {name: header.get(name, _FIELDS_ADDED.get(name)) for name in expected}
    stored["input_shape"] = tuple(stored["input_shape"] or ())
    if stored == expected:
        return None
    built_for = _built_for(stored)
    if built_for != key.describe():
        return f"was built for {built_for}, this is {key.describe()}"
    return "was built for another model, precision, input shape or batch size"


def _built_for(fields: dict) -> str:
    """TensorRT and GPU of a key's fields ("?" for those a header of an older key lacks)."""
    known = {name: "?" if value is None else value for name, value in fields.items()}
    memory = fields.get("memory_bytes")
    size = f"{memory // 2**20} MiB" if isinstance(memory, int) else "? MiB"
    return (
        f"TensorRT {known['tensorrt_version']} on {known['gpu_name']} "
        f"(sm_{known['compute_capability']}, {known['multiprocessors']} SMs, {size})"
    )
