"""Engine cache: keys, atomic writes, damaged or foreign engines rebuilt with a warning."""

from __future__ import annotations

import hashlib
import json
import logging
import struct
from dataclasses import asdict, replace

import pytest

from posenet_ros.errors import ModelError
from posenet_ros.gpu import engine_cache
from posenet_ros.gpu.engine_cache import (
    EngineCache,
    EngineKey,
    default_engine_dir,
    load_or_build,
)

# Two Jetson modules that report the same name and compute capability (figures as their
# CUDA device properties give them: 16 SMs / 61.4 GiB and 8 SMs / 7.4 GiB).
AGX_ORIN = {"gpu_name": "Orin", "compute_capability": "87", "multiprocessors": 16}
AGX_ORIN_MEMORY = 62_841 * 2**20
ORIN_NANO_MEMORY = 7_620 * 2**20
KEY = EngineKey(
    onnx_sha256="ab" * 32,
    tensorrt_version="10.3.0",
    **AGX_ORIN,
    memory_bytes=AGX_ORIN_MEMORY,
    precision="fp16",
    input_shape=(1, 257, 257, 3),
)
ORIN_NANO_KEY = replace(KEY, multiprocessors=8, memory_bytes=ORIN_NANO_MEMORY)


@pytest.mark.parametrize(
    "change",
    [
        {"onnx_sha256": "cd" * 32},
        {"tensorrt_version": "8.6.2"},
        {"gpu_name": "NVIDIA H100"},
        {"compute_capability": "90"},
        {"multiprocessors": 8},
        {"memory_bytes": ORIN_NANO_MEMORY},
        {"precision": "fp32"},
        {"input_shape": (1, 513, 513, 3)},
        {"max_batch": 4},
    ],
)
def test_every_key_field_changes_the_file(change: dict) -> None:
    other = replace(KEY, **change)
    assert other.digest() != KEY.digest()
    assert other.file_name() != KEY.file_name()


def test_file_name_is_stable_and_readable() -> None:
    assert KEY.file_name() == replace(KEY).file_name()
    assert KEY.file_name().startswith("posenet_1x257x257x3_fp16_")
    assert KEY.file_name().endswith(".engine")


def test_batch_engines_say_so_in_their_name() -> None:
    assert replace(KEY, max_batch=4).file_name().startswith("posenet_1x257x257x3_batch4_fp16_")


def test_one_frame_keys_are_those_from_before_the_batch_size() -> None:
    """Engines cached before ``max_batch`` existed keep their file (no rebuild on upgrade)."""
    fields_before = {
        "onnx_sha256": "ab" * 32,
        "tensorrt_version": "10.3.0",
        "gpu_name": "Orin",
        "compute_capability": "87",
        "multiprocessors": 16,
        "memory_bytes": AGX_ORIN_MEMORY,
        "precision": "fp16",
        "input_shape": [1, 257, 257, 3],
    }
    digest = hashlib.sha256(json.dumps(fields_before, sort_keys=True).encode()).hexdigest()
    assert KEY.max_batch == 1 and KEY.digest() == digest
    assert KEY.file_name() == f"posenet_1x257x257x3_fp16_{digest[:16]}.engine"


def _store_with_header(cache: EngineCache, key: EngineKey, header: dict, plan: bytes) -> None:
    header = dict(header, payload_sha256=hashlib.sha256(plan).hexdigest())
    raw = json.dumps(header).encode()
    cache.path_for(key).write_bytes(
        b"POSENET-TRT-ENGINE\n" + struct.pack("<I", len(raw)) + raw + plan
    )


def test_an_engine_cached_before_the_batch_size_loads_as_one_frame(tmp_path) -> None:
    cache = EngineCache(tmp_path)
    header = {k: v for k, v in asdict(KEY).items() if k != "max_batch"}
    _store_with_header(cache, KEY, header, b"one-frame plan")
    assert cache.load(KEY) == b"one-frame plan"


def test_an_engine_of_another_batch_size_is_rebuilt(tmp_path, caplog) -> None:
    cache, batched = EngineCache(tmp_path), replace(KEY, max_batch=4)
    cache.store(batched, b"batch plan")
    cache.path_for(batched).rename(cache.path_for(KEY))
    with caplog.at_level(logging.WARNING):
        assert cache.load(KEY) is None
    assert "was built for another model, precision, input shape or batch size" in caplog.text


def test_store_then_load_round_trips(tmp_path) -> None:
    cache = EngineCache(tmp_path / "engines")
    path = cache.store(KEY, b"plan bytes")
    assert path.parent == tmp_path / "engines"
    assert cache.load(KEY) == b"plan bytes"
    assert [p.name for p in path.parent.iterdir()] == [KEY.file_name()]  # no temp files left


def test_missing_engine_is_none_without_warning(tmp_path, caplog) -> None:
    assert EngineCache(tmp_path).load(KEY) is None
    assert not caplog.records


@pytest.mark.parametrize(
    ("damage", "message"),
    [
        (lambda blob: blob[:-3], "truncated or corrupt"),
        (lambda blob: blob[:-1] + bytes([blob[-1] ^ 1]), "truncated or corrupt"),
        (lambda blob: b"not an engine at all", "is not a posenet_ros engine file"),
        (lambda blob: blob[:30], "damaged header"),
    ],
)
def test_damaged_engine_is_rejected_with_a_warning(tmp_path, caplog, damage, message) -> None:
    cache = EngineCache(tmp_path)
    path = cache.store(KEY, b"plan bytes " * 10)
    path.write_bytes(damage(path.read_bytes()))
    with caplog.at_level(logging.WARNING):
        assert cache.load(KEY) is None
    assert message in caplog.text and "rebuilding" in caplog.text


def test_engine_for_another_gpu_or_tensorrt_is_rejected(tmp_path, caplog) -> None:
    cache = EngineCache(tmp_path)
    foreign = replace(
        KEY,
        tensorrt_version="8.6.2",
        gpu_name="Xavier",
        compute_capability="72",
        multiprocessors=8,
        memory_bytes=15_388 * 2**20,
    )
    cache.store(foreign, b"old plan")
    cache.path_for(foreign).rename(cache.path_for(KEY))  # e.g. a cache copied between machines
    with caplog.at_level(logging.WARNING):
        assert cache.load(KEY) is None
    assert "was built for TensorRT 8.6.2 on Xavier (sm_72, 8 SMs, 15388 MiB)" in caplog.text
    assert "this is TensorRT 10.3.0 on Orin (sm_87, 16 SMs, 62841 MiB)" in caplog.text


def test_an_engine_prepared_on_one_orin_is_not_loaded_on_another(tmp_path, caplog) -> None:
    """Same name, same sm_87: the multiprocessor count and memory tell the modules apart."""
    cache = EngineCache(tmp_path)
    assert cache.path_for(ORIN_NANO_KEY) != cache.path_for(KEY)
    assert cache.timing_cache_path(ORIN_NANO_KEY) != cache.timing_cache_path(KEY)
    cache.store(KEY, b"AGX plan")
    cache.path_for(KEY).rename(cache.path_for(ORIN_NANO_KEY))  # a cache copied to the Nano
    with caplog.at_level(logging.WARNING):
        assert cache.load(ORIN_NANO_KEY) is None
    assert "was built for TensorRT 10.3.0 on Orin (sm_87, 16 SMs, 62841 MiB)" in caplog.text
    assert "this is TensorRT 10.3.0 on Orin (sm_87, 8 SMs, 7620 MiB)" in caplog.text


def test_an_engine_cached_under_the_older_key_is_rebuilt(tmp_path, caplog) -> None:
    """Files written before the key held SMs and memory: their header lacks both fields."""
    cache = EngineCache(tmp_path)
    old_key = {k: v for k, v in asdict(KEY).items() if k not in ("multiprocessors", "memory_bytes")}
    header = json.dumps(dict(old_key, payload_sha256=hashlib.sha256(b"plan").hexdigest())).encode()
    cache.path_for(KEY).write_bytes(
        b"POSENET-TRT-ENGINE\n" + struct.pack("<I", len(header)) + header + b"plan"
    )
    with caplog.at_level(logging.WARNING):
        assert cache.load(KEY) is None
    assert "was built for TensorRT 10.3.0 on Orin (sm_87, ? SMs, ? MiB)" in caplog.text


def test_timing_cache_is_per_tensorrt_and_gpu(tmp_path) -> None:
    cache = EngineCache(tmp_path)
    same_device = replace(KEY, precision="fp32", input_shape=(1, 513, 513, 3))
    assert cache.timing_cache_path(same_device) == cache.timing_cache_path(KEY)
    assert cache.timing_cache_path(replace(KEY, gpu_name="H100")) != cache.timing_cache_path(KEY)


def test_timing_cache_file_reads_what_it_saved(tmp_path) -> None:
    timing = EngineCache(tmp_path).timing_cache(KEY)
    assert timing.read() == b""  # none yet
    assert timing.save(b"timings")
    assert timing.read() == b"timings"
    assert timing.path == EngineCache(tmp_path).timing_cache_path(KEY)


def test_default_dir_honours_the_environment(tmp_path, monkeypatch) -> None:
    monkeypatch.setenv(engine_cache.ENV_ENGINE_DIR, str(tmp_path / "mine"))
    assert default_engine_dir() == tmp_path / "mine"
    assert EngineCache().root == tmp_path / "mine"
    monkeypatch.delenv(engine_cache.ENV_ENGINE_DIR)
    assert default_engine_dir().parts[-2:] == ("posenet_ros", "tensorrt")


class _Builds:
    """A fake builder and runtime: counts builds; "bad" plans do not deserialize."""

    def __init__(self, plan: bytes = b"good plan") -> None:
        self.plan = plan
        self.count = 0

    def build(self) -> bytes:
        self.count += 1
        return self.plan

    @staticmethod
    def deserialize(blob: bytes) -> str | None:
        if blob.startswith(b"raise"):
            raise RuntimeError("plan from another TensorRT")
        return None if blob.startswith(b"bad") else f"engine<{blob.decode()}>"


def test_load_or_build_builds_once_then_uses_the_cache(tmp_path) -> None:
    cache, builds = EngineCache(tmp_path), _Builds()
    assert load_or_build(cache, KEY, builds.build, builds.deserialize) == "engine<good plan>"
    assert load_or_build(cache, KEY, builds.build, builds.deserialize) == "engine<good plan>"
    assert builds.count == 1


@pytest.mark.parametrize("cached", [b"bad plan", b"raise plan"])
def test_undeserializable_cached_engine_is_rebuilt(tmp_path, caplog, cached) -> None:
    cache, builds = EngineCache(tmp_path), _Builds()
    cache.store(KEY, cached)
    with caplog.at_level(logging.WARNING):
        engine = load_or_build(cache, KEY, builds.build, builds.deserialize)
    assert engine == "engine<good plan>" and builds.count == 1
    assert (
        "failed to deserialize with TensorRT 10.3.0 on Orin (sm_87, 16 SMs, 62841 MiB); rebuilding"
        in caplog.text
    )
    assert cache.load(KEY) == b"good plan"


@pytest.mark.parametrize("plan", [b"bad plan", b"raise plan"])
def test_fresh_engine_that_does_not_load_is_an_error(tmp_path, plan) -> None:
    cache, builds = EngineCache(tmp_path), _Builds(plan)
    with pytest.raises(ModelError, match="could not load the engine it just built"):
        load_or_build(cache, KEY, builds.build, builds.deserialize)
    assert cache.load(KEY) is None  # nothing stored


def _blocked_dir(tmp_path, monkeypatch):
    """An engine dir whose path runs through a regular file: mkdir fails, even for root."""
    (tmp_path / "file").write_text("not a directory")
    return tmp_path / "file" / "engines"


def _read_only_dir(tmp_path, monkeypatch):
    """A read-only engine dir (simulated: chmod does not stop root, which runs CI)."""

    def refuse(path, data):
        raise PermissionError(13, "Permission denied", str(path))

    monkeypatch.setattr(engine_cache, "atomic_write_bytes", refuse)
    return tmp_path / "engines"


@pytest.mark.parametrize("unwritable", [_blocked_dir, _read_only_dir])
def test_an_unwritable_cache_keeps_the_built_engine_and_warns_once(
    tmp_path, monkeypatch, caplog, unwritable
) -> None:
    cache = EngineCache(unwritable(tmp_path, monkeypatch))
    builds = _Builds()

    def build() -> bytes:  # as build_engine does: the timing cache is saved after a build
        assert not cache.timing_cache(KEY).save(b"timings")
        return builds.build()

    with caplog.at_level(logging.WARNING):
        engine = load_or_build(cache, KEY, build, builds.deserialize)
    assert engine == "engine<good plan>" and builds.count == 1
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1, warnings
    assert "set POSENET_ROS_ENGINE_DIR to a writable directory" in warnings[0]
    assert "kept in memory" in warnings[0]
    assert cache.load(KEY) is None  # nothing was stored
