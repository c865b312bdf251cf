"""Fixtures of the decode tests."""

from decode.device_stand_in import stand_in_cupy

__all__ = ["stand_in_cupy"]
