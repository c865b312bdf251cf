"""A stand-in for ``cupy`` backed by NumPy, so code on CuPy's API (``arrays``) runs without a GPU.

Its arrays, ``DeviceArray``, hold a NumPy array "on the device" and, like ``cupy.ndarray``,
refuse every implicit way back to the host: ``np.asarray`` (``__array__``), NumPy functions
and ufuncs (``np.flatnonzero(a)``, ``np.exp(a)``), arithmetic with NumPy arrays, and
``float``/``int``/``bool``/``.item()``/``.tolist()`` of device values (each a hidden
synchronising copy on a GPU). Only ``.get()`` copies to the host, and it counts. Stricter
than CuPy in one way: CuPy dispatches ``np.*`` on its arrays to its own functions, which hides
a host/device mix-up until a NumPy array is expected, so the stand-in refuses. CuPy itself,
and the decoders' CUDA kernels, are checked by ``pytest -m gpu``.
"""

from __future__ import annotations

import functools
import operator
import sys
import types
from collections.abc import Callable, Iterator
from typing import Any

import numpy as np
import pytest

IMPLICIT = (
    "Implicit conversion to a NumPy array is not allowed. "
    "Please use `.get()` to construct a NumPy array explicitly."
)


def _to_host(value: Any) -> Any:
    """The NumPy value behind a device operand; NumPy arrays are refused, as CuPy does."""
    if isinstance(value, DeviceArray):
        return value._data
    if isinstance(value, np.ndarray):
        raise TypeError(f"Unsupported type {type(value)}")
    if isinstance(value, (list, tuple)):
        return type(value)(_to_host(v) for v in value)
    return value


def _on_device(value: Any) -> Any:
    """Results stay on the device: arrays and NumPy scalars (CuPy gives 0-d arrays)."""
    if isinstance(value, (np.ndarray, np.generic)):
        return DeviceArray(np.asarray(value))
    if isinstance(value, tuple):
        return tuple(_on_device(v) for v in value)
    return value


def _refuse(what: str) -> Callable[..., Any]:
    def refused(self: DeviceArray, *args: Any, **kwargs: Any) -> Any:
        raise TypeError(f"{what} of a device array would copy it to the host: use .get()")

    return refused


class DeviceArray:
    """A NumPy array on the stand-in device: CuPy's array surface, no implicit host copy."""

    copies_to_host = 0
    __array_ufunc__ = None  # np.exp(a), np.zeros(3) + a: NumPy gives up, CuPy's rules apply
    __hash__ = None  # type: ignore[assignment]  # == is elementwise

    def __init__(self, data: np.ndarray) -> None:
        self._data = data

    def get(self) -> np.ndarray:
        """The one explicit device-to-host copy (counted)."""
        DeviceArray.copies_to_host += 1
        return self._data.copy()

    def __array__(self, *args: Any, **kwargs: Any) -> np.ndarray:
        raise TypeError(IMPLICIT)

    def __array_function__(self, func: Any, types: Any, args: Any, kwargs: Any) -> Any:
        raise TypeError(f"np.{func.__name__} on a device array: use the arrays' namespace")

    __float__ = _refuse("float()")
    __int__ = _refuse("int()")
    __index__ = _refuse("operator.index()")
    __complex__ = _refuse("complex()")
    __bool__ = _refuse("bool()")
    item = _refuse(".item()")
    tolist = _refuse(".tolist()")

    shape = property(lambda self: self._data.shape)
    dtype = property(lambda self: self._data.dtype)
    size = property(lambda self: self._data.size)
    ndim = property(lambda self: self._data.ndim)
    nbytes = property(lambda self: self._data.nbytes)
    T = property(lambda self: DeviceArray(self._data.T))

    def __len__(self) -> int:
        return len(self._data)

    def __iter__(self) -> Iterator[DeviceArray]:
        return (self[i] for i in range(len(self)))

    def __getitem__(self, key: Any) -> DeviceArray:
        return _on_device(self._data[_to_host(key)])

    def __setitem__(self, key: Any, value: Any) -> None:
        # A NumPy value is an upload, which CuPy allows; device values stay on the device.
        value = value._data if isinstance(value, DeviceArray) else value
        self._data[_to_host(key)] = value

    def __repr__(self) -> str:
        return f"DeviceArray(shape={self.shape}, dtype={self.dtype})"


def _method(name: str) -> Callable[..., Any]:
    def method(self: DeviceArray, *args: Any, **kwargs: Any) -> Any:
        kwargs = {k: _to_host(v) for k, v in kwargs.items()}
        return _on_device(getattr(self._data, name)(*_to_host(args), **kwargs))

    method.__name__ = name
    return method


def _operator(function: Callable[[Any, Any], Any], *, reflected: bool = False) -> Callable:
    def op(self: DeviceArray, other: Any) -> Any:
        other = _to_host(other)
        return _on_device(function(other, self._data) if reflected else function(self._data, other))

    return op


def _in_place(function: Callable[[Any, Any], Any]) -> Callable:
    def op(self: DeviceArray, other: Any) -> DeviceArray:
        self._data = function(self._data, _to_host(other))
        return self

    return op


# Methods that give device arrays (the reductions 0-d ones, as in CuPy).
for _name in (
    "all", "any", "argmax", "astype", "copy", "max", "min", "nonzero", "ravel", "reshape",
    "sum", "take", "transpose", "view",
):  # fmt: skip
    setattr(DeviceArray, _name, _method(_name))
for _name in ("add", "sub", "mul", "truediv", "floordiv", "mod", "pow", "and", "or", "xor"):
    _function = getattr(operator, f"{_name}_" if _name in ("and", "or") else _name)
    setattr(DeviceArray, f"__{_name}__", _operator(_function))
    setattr(DeviceArray, f"__r{_name}__", _operator(_function, reflected=True))
    setattr(DeviceArray, f"__i{_name}__", _in_place(getattr(operator, f"i{_name}")))
for _name in ("lt", "le", "eq", "ne", "gt", "ge"):
    setattr(DeviceArray, f"__{_name}__", _operator(getattr(operator, _name)))
for _name in ("neg", "pos", "abs", "invert"):
    setattr(DeviceArray, f"__{_name}__", _method(f"__{_name}__"))

DeviceArray.__module__ = "cupy"  # how posenet_ros.arrays recognises CuPy arrays


def to_device(array: Any) -> DeviceArray:
    """An upload: a device copy of ``array``."""
    return DeviceArray(np.array(array))


def _device_function(function: Callable[..., Any], *, uploads: bool = False) -> Callable:
    """``function`` on device operands, with a device result; ``out=`` is written in place.

    ``uploads`` lets NumPy arrays in (``cupy.asarray`` is an explicit upload)."""

    @functools.wraps(function)
    def wrapped(*args: Any, out: DeviceArray | None = None, **kwargs: Any) -> Any:
        if uploads:
            args = tuple(a._data if isinstance(a, DeviceArray) else a for a in args)
        else:
            args = _to_host(args)
        kwargs = {k: _to_host(v) for k, v in kwargs.items()}
        if out is None:
            return _on_device(function(*args, **kwargs))
        function(*args, out=out._data, **kwargs)
        return out

    return wrapped


_FUNCTIONS = ("arange", "argmax", "ascontiguousarray", "empty", "maximum", "stack")
_UFUNCS = ("exp", "negative", "reciprocal")


@pytest.fixture
def stand_in_cupy(monkeypatch: pytest.MonkeyPatch) -> Iterator[types.ModuleType]:
    """Installs the stand-in as ``cupy`` for one test."""
    module = types.ModuleType("cupy")
    for name in (*_FUNCTIONS, *_UFUNCS):
        setattr(module, name, _device_function(getattr(np, name)))
    module.asarray = _device_function(np.asarray, uploads=True)
    module.ndarray = DeviceArray
    module.uint8, module.float32, module.float64 = np.uint8, np.float32, np.float64
    module.cuda = types.SimpleNamespace(Device=lambda: types.SimpleNamespace(id=0))
    monkeypatch.setitem(sys.modules, "cupy", module)
    DeviceArray.copies_to_host = 0
    yield module
