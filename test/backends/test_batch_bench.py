"""The batching bench: the batch-dimension model gives each frame what a one-frame call gives."""

import numpy as np

from posenet_ros.backends import batch_bench
from posenet_ros.backends.onnxruntime_backend import OnnxRuntimeBackend
from posenet_ros.model.export import ensure_onnx
from posenet_ros.model.mobilenet import OUTPUT_NAMES


def test_batched_session_outputs_are_the_backends_outputs_per_frame():
    frames = np.random.default_rng(1).uniform(-1, 1, (3, 65, 97, 3)).astype(np.float32)
    batched = batch_bench.batched_session(16).run(OUTPUT_NAMES, {"image": frames})
    backend = OnnxRuntimeBackend(ensure_onnx(16), 16)
    for index in range(len(frames)):
        single = backend.run(frames[index : index + 1])
        for got, want in zip(batched, single, strict=True):  # both in OUTPUT_NAMES order
            np.testing.assert_array_equal(got[index], want)


def test_main_reports_every_batch_size(capsys):
    assert batch_bench.main(["--size", "33", "--repeat", "1"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].startswith("batched outputs equal single-frame outputs: True")
    assert [line.split(" at ")[0] for line in lines[1:5]] == ["N=1", "N=2", "N=3", "N=4"]
