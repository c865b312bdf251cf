import numpy as np
import pytest

from posenet_ros.arrays import array_namespace, is_cupy_array, to_host
from posenet_ros.gpu.bench import count_copies


def test_numpy_arrays_use_numpy():
    assert array_namespace(np.zeros(3), np.ones((2, 2))) is np
    assert not is_cupy_array(np.zeros(3))


def test_to_host_keeps_contiguous_numpy_arrays_and_makes_others_contiguous():
    a = np.arange(12.0).reshape(3, 4)
    same, strided = to_host(a, a[:, ::2])
    assert same is a
    assert strided.flags.c_contiguous
    assert strided.tolist() == a[:, ::2].tolist()


@pytest.mark.gpu
def test_cupy_arrays_use_cupy(cp):
    device = cp.zeros(3)
    assert is_cupy_array(device)
    assert array_namespace(device) is cp


@pytest.mark.gpu
def test_mixing_numpy_and_cupy_is_refused(cp):
    with pytest.raises(TypeError, match="mix"):
        array_namespace(np.zeros(3), cp.zeros(3))


ARRAYS = [
    np.arange(7, dtype=np.float32).reshape(7, 1),
    np.array([3, 1, 2], dtype=np.int64),
    np.array([True, False, True]),
    np.arange(6, dtype=np.float64).reshape(2, 3)[:, ::2],
    np.zeros((0, 17), dtype=np.float32),
    np.arange(5, dtype=np.uint8),
    np.full((4, 3), -2.5, dtype=np.float16),  # a seventh array: a second packing launch
]


@pytest.mark.gpu
def test_to_host_fetches_device_arrays_whole_and_aligned(cp):
    host = to_host(*(cp.asarray(a) for a in ARRAYS))
    for got, want in zip(host, ARRAYS, strict=True):
        assert type(got) is np.ndarray
        assert got.dtype == want.dtype
        assert got.shape == want.shape
        assert got.tolist() == want.tolist()
        assert got.flags.aligned


@pytest.mark.gpu
def test_to_host_makes_one_device_to_host_copy(cp):
    device = [cp.asarray(a) for a in ARRAYS[:5]]
    copies = count_copies(lambda: to_host(*device), 3)
    if copies is None:
        pytest.skip("copies are counted with PyTorch's profiler, which is not installed")
    assert copies == (0.0, 1.0)  # (host-to-device, device-to-host) per call
