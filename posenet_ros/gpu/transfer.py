"""Host-to-device copies through a reusable pinned buffer (asynchronous on one stream)."""

from __future__ import annotations

from typing import Any

import numpy as np


class PinnedStaging:
    """Copies host arrays to device arrays through one page-locked buffer.

    Page-locked memory lets the copy run asynchronously on ``stream``; the buffer is reused,
    so a copy first waits (host side) until the previous one has read it.
    """

    def __init__(self, stream: Any) -> None:
        self._stream = stream
        self._host: np.ndarray | None = None
        self._copied: Any = None  # event recorded after the last copy

    def to_device(self, host: np.ndarray, device: Any) -> None:
        """Queue one copy of ``host`` into ``device`` (same shape; cast to its dtype)."""
        if host.shape != device.shape:
            raise ValueError(f"shape mismatch: host {host.shape}, device {device.shape}")
        if self._copied is not None:
            self._copied.synchronize()
        if self._host is None or self._host.shape != host.shape or self._host.dtype != device.dtype:
            import cupyx  # ships with CuPy, which the caller already uses

            self._host = cupyx.empty_pinned(host.shape, device.dtype)
        np.copyto(self._host, host, casting="same_kind")  # also packs strided frames
        device.set(self._host, stream=self._stream)
        self._copied = self._stream.record()
