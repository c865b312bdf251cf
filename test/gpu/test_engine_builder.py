"""Engine builder control flow against a recording fake of the TensorRT builder API."""

from __future__ import annotations

import logging
from types import SimpleNamespace

import pytest

from posenet_ros.errors import ModelError
from posenet_ros.gpu import engine_builder, engine_cache, trt_compat
from posenet_ros.gpu.engine_cache import EngineCache, TimingCacheFile

SHAPE = (1, 257, 257, 3)


class FakeTrt:
    """Just enough of ``tensorrt`` for ``build_engine``; records what was asked of it."""

    __version__ = "fake"

    def __init__(
        self,
        weak_fp16: bool = True,
        parse_ok: bool = True,
        half: bool = False,
        returns_none: str = "",
        profile_index: int = 0,
        batch_dim: int = 1,
    ) -> None:
        self.calls: dict[str, object] = {"flags": set()}
        self.timing_data: list[bytes] = []
        fp16 = {"FP16": "FP16"} if weak_fp16 else {}
        self.BuilderFlag = SimpleNamespace(TF32="TF32", **fp16)
        self.NetworkDefinitionCreationFlag = SimpleNamespace(EXPLICIT_BATCH=0, STRONGLY_TYPED=1)
        self.MemoryPoolType = SimpleNamespace(WORKSPACE="WORKSPACE")
        self.DataType = SimpleNamespace(HALF="half")
        self._parse_ok, self._half = parse_ok, half
        fake = self

        def fails(name: str, result: object) -> object:
            """``result``, or None where the test makes the call ``name`` fail."""
            return None if name == returns_none else result

        class Builder:
            def __init__(self, logger) -> None:
                pass

            def create_network(self, flags):
                fake.calls["network_flags"] = flags
                output = SimpleNamespace(dtype="half" if fake._half else "float")
                layer = SimpleNamespace(num_outputs=1, get_output=lambda j: output)
                network = SimpleNamespace(
                    num_inputs=1,
                    get_input=lambda i: SimpleNamespace(
                        name="image", shape=(batch_dim, 257, 257, 3)
                    ),
                    num_layers=1,
                    get_layer=lambda i: layer,
                )
                return fails("create_network", network)

            def create_builder_config(self):
                return fails("create_builder_config", Config())

            def create_optimization_profile(self):
                profile = SimpleNamespace(set_shape=lambda *a: fake.calls.__setitem__("profile", a))
                return fails("create_optimization_profile", profile)

            def build_serialized_network(self, network, config):
                fake.calls["config"] = config
                return fails("build_serialized_network", memoryview(b"serialized plan"))

        class Config:
            progress_monitor = None

            def set_memory_pool_limit(self, pool, size):
                fake.calls["workspace"] = (pool, size)

            def set_flag(self, flag):
                fake.calls["flags"].add(flag)

            def clear_flag(self, flag):
                fake.calls["cleared"] = flag

            def add_optimization_profile(self, profile):
                fake.calls["profiles"] = fake.calls.get("profiles", 0) + 1
                return profile_index  # -1: refused

            def create_timing_cache(self, data):
                if data.startswith(b"junk"):
                    raise RuntimeError("bad timing cache")
                fake.timing_data.append(bytes(data))
                timings = SimpleNamespace(serialize=lambda: memoryview(b"timings"))
                return fails("create_timing_cache", timings)

            def set_timing_cache(self, cache, ignore_mismatch):
                return True

        class OnnxParser:
            def __init__(self, network, logger) -> None:
                self.num_errors = 0 if fake._parse_ok else 2

            def parse_from_file(self, path):
                fake.calls["parsed"] = path
                return fake._parse_ok

            def get_error(self, i):
                return f"error {i}"

        self.Builder = lambda logger: fails("Builder", Builder(logger))
        self.OnnxParser = lambda network, logger: fails("OnnxParser", OnnxParser(network, logger))


def _timing(path):
    return TimingCacheFile(path, EngineCache(path.parent))


@pytest.fixture(autouse=True)
def _plain_logger(monkeypatch):
    monkeypatch.setattr(trt_compat, "trt_logger", lambda trt: object())
    monkeypatch.setattr(trt_compat, "progress_monitor", lambda trt: None)


def test_fp32_build_with_profile_workspace_and_timing_cache(tmp_path, caplog) -> None:
    trt, onnx, timing = FakeTrt(), tmp_path / "m.onnx", tmp_path / "t.cache"
    with caplog.at_level(logging.INFO):
        plan = engine_builder.build_engine(trt, onnx, SHAPE, "fp32", 256 << 20, _timing(timing))
    assert plan == b"serialized plan"
    assert trt.calls["parsed"] == str(onnx)
    assert trt.calls["network_flags"] == 1  # explicit batch only
    assert trt.calls["profile"] == ("image", SHAPE, SHAPE, SHAPE)
    assert trt.calls["profiles"] == 1
    assert trt.calls["workspace"] == ("WORKSPACE", 256 << 20)
    assert trt.calls["flags"] == set()
    assert trt.calls["cleared"] == "TF32"  # true FP32, no TF32 tensor cores
    assert timing.read_bytes() == b"timings"
    assert "building TensorRT fp32 engine for m.onnx, input 1x257x257x3" in caplog.text
    assert "TensorRT engine built in" in caplog.text


def test_a_batch_profile_spans_one_frame_to_max_batch(tmp_path, caplog) -> None:
    trt = FakeTrt(batch_dim=-1)  # a batched export: symbolic batch dimension
    with caplog.at_level(logging.INFO):
        engine_builder.build_engine(trt, tmp_path / "m.onnx", SHAPE, "fp32", 1, max_batch=4)
    four = (4, 257, 257, 3)
    assert trt.calls["profile"] == ("image", SHAPE, four, four)  # min, opt, max
    assert trt.calls["profiles"] == 1
    assert "input 1x257x257x3, up to 4 frames per call" in caplog.text


def test_a_batch_profile_needs_a_batched_export(tmp_path) -> None:
    trt = FakeTrt(batch_dim=1)
    with pytest.raises(ModelError, match=r"m\.onnx takes batches of 1 only; .* up to 2 frames"):
        engine_builder.build_engine(trt, tmp_path / "m.onnx", SHAPE, "fp32", 1, max_batch=2)
    assert "profile" not in trt.calls


def test_a_refused_batch_profile_names_both_ends(tmp_path) -> None:
    trt = FakeTrt(batch_dim=-1, profile_index=-1)
    with pytest.raises(ModelError, match=r"\(1, 257, 257, 3\) to \(3, 257, 257, 3\)"):
        engine_builder.build_engine(trt, tmp_path / "m.onnx", SHAPE, "fp32", 1, max_batch=3)


def test_weak_fp16_sets_the_builder_flag(tmp_path) -> None:
    trt = FakeTrt(weak_fp16=True)
    engine_builder.build_engine(trt, tmp_path / "m.onnx", SHAPE, "fp16", 1 << 20)
    assert trt.calls["flags"] == {"FP16"}
    assert trt.calls["network_flags"] == 1
    assert "cleared" not in trt.calls


def test_strongly_typed_fp16_takes_an_fp16_export(tmp_path) -> None:
    trt = FakeTrt(weak_fp16=False, half=True)
    engine_builder.build_engine(trt, tmp_path / "m.onnx", SHAPE, "fp16", 1 << 20)
    assert trt.calls["network_flags"] == 0b11
    assert trt.calls["flags"] == set()


def test_strongly_typed_fp16_refuses_an_fp32_export(tmp_path) -> None:
    trt = FakeTrt(weak_fp16=False, half=False)
    with pytest.raises(ModelError, match=r"needs an FP16 ONNX export; m\.onnx is FP32"):
        engine_builder.build_engine(trt, tmp_path / "m.onnx", SHAPE, "fp16", 1 << 20)


def test_parse_errors_are_reported(tmp_path) -> None:
    with pytest.raises(ModelError, match=r"cannot parse .*m\.onnx: error 0; error 1"):
        engine_builder.build_engine(FakeTrt(parse_ok=False), tmp_path / "m.onnx", SHAPE, "fp32", 1)


def test_existing_timing_cache_is_loaded(tmp_path) -> None:
    trt, timing = FakeTrt(), tmp_path / "t.cache"
    timing.write_bytes(b"earlier timings")
    engine_builder.build_engine(trt, tmp_path / "m.onnx", SHAPE, "fp32", 1, _timing(timing))
    assert trt.timing_data == [b"earlier timings"]


def test_unusable_timing_cache_is_replaced_with_a_warning(tmp_path, caplog) -> None:
    trt, timing = FakeTrt(), tmp_path / "t.cache"
    timing.write_bytes(b"junk")
    with caplog.at_level(logging.WARNING):
        engine_builder.build_engine(trt, tmp_path / "m.onnx", SHAPE, "fp32", 1, _timing(timing))
    assert "does not fit this TensorRT/GPU; starting anew" in caplog.text
    assert trt.timing_data == [b""]
    assert timing.read_bytes() == b"timings"


@pytest.mark.parametrize(
    ("call", "message"),
    [
        ("Builder", "could not create a builder"),
        ("create_network", "could not create a network"),
        ("OnnxParser", "could not create an ONNX parser"),
        ("create_builder_config", "could not create a builder config"),
        ("create_optimization_profile", "could not create an optimisation profile"),
        ("create_timing_cache", "could not create a timing cache"),
        ("build_serialized_network", "failed to build an engine"),
    ],
)
def test_a_tensorrt_call_returning_none_says_what_to_do(tmp_path, call, message) -> None:
    trt = FakeTrt(returns_none=call)
    timing = _timing(tmp_path / "t.cache")
    with pytest.raises(ModelError, match=message) as info:
        engine_builder.build_engine(trt, tmp_path / "m.onnx", SHAPE, "fp32", 1, timing)
    assert "free device memory (close other GPU programs) or lower workspace_mb" in str(info.value)


def test_a_refused_profile_is_a_model_error(tmp_path) -> None:
    with pytest.raises(ModelError, match=r"refused the optimisation profile \(1, 257, 257, 3\)"):
        engine_builder.build_engine(
            FakeTrt(profile_index=-1), tmp_path / "m.onnx", SHAPE, "fp32", 1
        )


def test_an_unwritable_timing_cache_does_not_lose_the_build(tmp_path, monkeypatch, caplog) -> None:
    def refuse(path, data):
        raise PermissionError(13, "Permission denied", str(path))

    monkeypatch.setattr(engine_cache, "atomic_write_bytes", refuse)
    timing = _timing(tmp_path / "t.cache")
    with caplog.at_level(logging.WARNING):
        plan = engine_builder.build_engine(FakeTrt(), tmp_path / "m.onnx", SHAPE, "fp32", 1, timing)
    assert plan == b"serialized plan"
    assert "set POSENET_ROS_ENGINE_DIR to a writable directory" in caplog.text
    assert not (tmp_path / "t.cache").exists()
