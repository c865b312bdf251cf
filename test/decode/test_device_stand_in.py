"""The cupy stand-in refuses what CuPy refuses: every implicit copy back to the host."""

from __future__ import annotations

import math

import numpy as np
import pytest

from decode.device_stand_in import DeviceArray, to_device

IMPLICIT_HOST_COPIES = {
    "np.asarray": np.asarray,
    "np.array": np.array,
    "np.exp (ufunc)": np.exp,
    "np.flatnonzero (function)": np.flatnonzero,
    "np.isfinite (ufunc)": np.isfinite,
    "np.stack of device arrays": lambda a: np.stack([a, a]),
    "NumPy array + device array": lambda a: np.zeros(3) + a,
    "device array + NumPy array": lambda a: a + np.zeros(3),
    "float()": lambda a: float(a[0]),
    "int()": lambda a: int(a[0]),
    "bool()": lambda a: bool(a[0]),
    "index": lambda a: [0, 1, 2][a[0]],
    "math": lambda a: math.exp(a[0]),
    ".item()": lambda a: a[0].item(),
    ".tolist()": lambda a: a.tolist(),
}


@pytest.mark.parametrize("copy", IMPLICIT_HOST_COPIES.values(), ids=IMPLICIT_HOST_COPIES.keys())
def test_implicit_host_copies_are_refused(stand_in_cupy, copy) -> None:
    with pytest.raises(TypeError):
        copy(to_device(np.arange(3)))
    assert DeviceArray.copies_to_host == 0


def test_device_arithmetic_stays_on_the_device_and_get_copies_once(stand_in_cupy) -> None:
    a = to_device(np.array([1.0, 4.0, 2.0]))
    b = stand_in_cupy.maximum((a * 2 - 1) // 3, np.float32(1.5))
    b += 1
    top = a.max(axis=0)
    assert isinstance(b, DeviceArray) and isinstance(top, DeviceArray) and top.shape == ()
    assert isinstance(a[stand_in_cupy.argmax(a, axis=0)], DeviceArray)
    np.testing.assert_array_equal(b.get(), [2.5, 3.0, 2.5])
    assert DeviceArray.copies_to_host == 1
