"""A stand-in for ``cupy`` backed by NumPy, so the decoders' device branches run without a GPU.

Arrays are ``DeviceArray``: NumPy arrays whose type lives in module ``cupy`` (which is how
``posenet_ros.arrays`` recognises CuPy arrays) and that count their ``.get()`` copies. It
checks the branch logic and the data flow; CuPy itself is checked by ``pytest -m gpu``.
"""

from __future__ import annotations

import functools
import sys
import types
from collections.abc import Callable, Iterator

import numpy as np
import pytest

from posenet_ros.decode import local_maximum


class DeviceArray(np.ndarray):
    """Same API as ``np.ndarray``, a ``cupy`` module name and ``.get()``, which counts."""

    copies_to_host = 0

    def get(self) -> np.ndarray:
        DeviceArray.copies_to_host += 1
        return np.array(self)


DeviceArray.__module__ = "cupy"


def to_device(array: np.ndarray) -> DeviceArray:
    return np.asarray(array).view(DeviceArray)


def _on_device(function: Callable) -> Callable:
    @functools.wraps(function)
    def wrapped(*args, **kwargs):  # type: ignore[no-untyped-def]
        result = function(*args, **kwargs)
        return result.view(DeviceArray) if isinstance(result, np.ndarray) else result

    return wrapped


_FUNCTIONS = ("arange", "argmax", "asarray", "ascontiguousarray", "empty", "maximum", "stack")
_UFUNCS = ("exp", "negative", "reciprocal")  # keep their out= argument's type themselves


@pytest.fixture
def stand_in_cupy(monkeypatch: pytest.MonkeyPatch) -> Iterator[types.ModuleType]:
    """Installs the stand-in as ``cupy`` for one test (and keeps its tables out of caches)."""
    module = types.ModuleType("cupy")
    for name in _FUNCTIONS:
        setattr(module, name, _on_device(getattr(np, name)))
    for name in _UFUNCS:
        setattr(module, name, getattr(np, name))
    module.uint8, module.float32, module.float64 = np.uint8, np.float32, np.float64
    module.cuda = types.SimpleNamespace(Device=lambda: types.SimpleNamespace(id=0))
    monkeypatch.setitem(sys.modules, "cupy", module)
    DeviceArray.copies_to_host = 0
    local_maximum._window_index.cache_clear()
    yield module
    local_maximum._window_index.cache_clear()
