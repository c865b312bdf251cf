import sys
import types

import numpy as np
import pytest

from posenet_ros.arrays import array_namespace, is_cupy_array, to_host


class _DeviceArray(np.ndarray):
    """Stands in for ``cupy.ndarray``: same API, a ``cupy`` module name and ``.get()``."""

    def get(self) -> np.ndarray:
        _DeviceArray.transfers += 1
        return np.array(self)


_DeviceArray.__module__ = "cupy"
_DeviceArray.transfers = 0


@pytest.fixture
def fake_cupy(monkeypatch):
    module = types.SimpleNamespace(
        ascontiguousarray=lambda a: np.ascontiguousarray(a).view(_DeviceArray),
        empty=lambda n, dtype: np.empty(n, dtype).view(_DeviceArray),
        uint8=np.uint8,
    )
    monkeypatch.setitem(sys.modules, "cupy", module)
    _DeviceArray.transfers = 0
    return module


def test_numpy_arrays_use_numpy():
    assert array_namespace(np.zeros(3), np.ones((2, 2))) is np
    assert not is_cupy_array(np.zeros(3))


def test_cupy_arrays_use_cupy(fake_cupy):
    device = np.zeros(3).view(_DeviceArray)
    assert is_cupy_array(device)
    assert array_namespace(device) is fake_cupy


def test_mixing_numpy_and_cupy_is_refused():
    with pytest.raises(TypeError, match="mix"):
        array_namespace(np.zeros(3), np.zeros(3).view(_DeviceArray))


def test_to_host_keeps_contiguous_numpy_arrays_and_makes_others_contiguous():
    a = np.arange(12.0).reshape(3, 4)
    same, strided = to_host(a, a[:, ::2])
    assert same is a
    assert strided.flags.c_contiguous
    assert strided.tolist() == a[:, ::2].tolist()


def test_to_host_fetches_all_device_arrays_in_one_copy(fake_cupy):
    arrays = [
        np.arange(7, dtype=np.float32).reshape(7, 1),
        np.array([3, 1, 2], dtype=np.int64),
        np.array([True, False, True]),
        np.arange(6, dtype=np.float64).reshape(2, 3)[:, ::2],
        np.zeros((0, 17), dtype=np.float32),
    ]
    host = to_host(*(a.view(_DeviceArray) for a in arrays))
    assert _DeviceArray.transfers == 1
    for got, want in zip(host, arrays, strict=True):
        assert type(got) is np.ndarray
        assert got.dtype == want.dtype
        assert got.shape == want.shape
        assert got.tolist() == want.tolist()
        assert got.flags.aligned
