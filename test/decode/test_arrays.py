import numpy as np
import pytest

from decode.device_stand_in import DeviceArray, to_device
from posenet_ros.arrays import array_namespace, is_cupy_array, to_host


def test_numpy_arrays_use_numpy():
    assert array_namespace(np.zeros(3), np.ones((2, 2))) is np
    assert not is_cupy_array(np.zeros(3))


def test_cupy_arrays_use_cupy(stand_in_cupy):
    device = to_device(np.zeros(3))
    assert is_cupy_array(device)
    assert array_namespace(device) is stand_in_cupy


def test_mixing_numpy_and_cupy_is_refused():
    with pytest.raises(TypeError, match="mix"):
        array_namespace(np.zeros(3), to_device(np.zeros(3)))


def test_to_host_keeps_contiguous_numpy_arrays_and_makes_others_contiguous():
    a = np.arange(12.0).reshape(3, 4)
    same, strided = to_host(a, a[:, ::2])
    assert same is a
    assert strided.flags.c_contiguous
    assert strided.tolist() == a[:, ::2].tolist()


def test_to_host_fetches_all_device_arrays_in_one_copy(stand_in_cupy):
    arrays = [
        np.arange(7, dtype=np.float32).reshape(7, 1),
        np.array([3, 1, 2], dtype=np.int64),
        np.array([True, False, True]),
        np.arange(6, dtype=np.float64).reshape(2, 3)[:, ::2],
        np.zeros((0, 17), dtype=np.float32),
    ]
    host = to_host(*(to_device(a) for a in arrays))
    assert DeviceArray.copies_to_host == 1
    for got, want in zip(host, arrays, strict=True):
        assert type(got) is np.ndarray
        assert got.dtype == want.dtype
        assert got.shape == want.shape
        assert got.tolist() == want.tolist()
        assert got.flags.aligned
