import pytest

from posenet_ros.config import EstimatorConfig, check_max_batch
from posenet_ros.errors import InvalidConfigError

CONFIG = EstimatorConfig()


def test_defaults_are_the_reference_2x_ones_and_valid() -> None:
    assert CONFIG.validated() is CONFIG
    assert (CONFIG.input_resolution, CONFIG.output_stride, CONFIG.max_pose_detections) == (
        257,
        16,
        5,
    )
    assert (CONFIG.score_threshold, CONFIG.nms_radius, CONFIG.precision) == (0.5, 20.0, "fp32")


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"precision": "int8"}, "invalid precision 'int8': expected one of fp32, fp16"),
        ({"backend": "cuda"}, "invalid backend 'cuda'"),
        ({"output_stride": 32}, "1.0-multiplier"),
        ({"inference_threads": -1}, "invalid inference_threads -1: expected an integer in"),
        ({"inference_threads": 1.5}, "invalid inference_threads 1.5"),
        ({"inference_threads": True}, "invalid inference_threads True"),
        ({"inference_threads": 257}, "invalid inference_threads 257"),
        ({"no_such": 1}, "unknown parameter(s): no_such"),
    ],
)
def test_bad_values_are_refused_naming_them(changes: dict, message: str) -> None:
    with pytest.raises(InvalidConfigError, match=message.replace("(", r"\(").replace(")", r"\)")):
        CONFIG.with_changes(**changes)


def test_model_fields_need_a_rebuild_decode_fields_do_not() -> None:
    assert CONFIG.needs_rebuild(CONFIG.with_changes(output_stride=8))
    assert CONFIG.needs_rebuild(CONFIG.with_changes(backend="onnxruntime"))
    assert not CONFIG.needs_rebuild(CONFIG.with_changes(score_threshold=0.3, mode="single"))


@pytest.mark.parametrize("backend", ["auto", "tensorrt"])
def test_precision_rebuilds_where_tensorrt_may_run(backend: str) -> None:
    config = CONFIG.with_changes(backend=backend)
    assert config.needs_rebuild(config.with_changes(precision="fp16"))


@pytest.mark.parametrize("backend", ["auto", "onnxruntime"])
def test_inference_threads_reach_onnx_runtime_and_rebuild_it(backend: str) -> None:
    config = CONFIG.with_changes(backend=backend)
    assert "threads" not in config.backend_options()  # 0: ONNX Runtime's own choice
    threaded = config.with_changes(inference_threads=1)
    assert threaded.backend_options()["threads"] == 1
    assert config.needs_rebuild(threaded)


def test_inference_threads_do_not_concern_tensorrt() -> None:
    config = CONFIG.with_changes(backend="tensorrt")
    threaded = config.with_changes(inference_threads=1)
    assert threaded.backend_options() == {"precision": "fp32"}
    assert not config.needs_rebuild(threaded)


def test_precision_does_not_rebuild_onnxruntime_which_runs_fp32() -> None:
    config = CONFIG.with_changes(backend="onnxruntime")
    assert not config.needs_rebuild(config.with_changes(precision="fp16"))


@pytest.mark.parametrize("value", [1, 4, 16])
def test_max_batch_takes_1_to_16_frames(value: int) -> None:
    assert check_max_batch(value) == value


@pytest.mark.parametrize("value", [0, -1, 17, 2.0, "2", True, None])
def test_bad_max_batch_is_refused_naming_it(value: object) -> None:
    with pytest.raises(InvalidConfigError, match=rf"invalid max_batch {value!r}: expected an "):
        check_max_batch(value)
