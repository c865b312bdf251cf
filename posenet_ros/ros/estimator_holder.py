"""The serving estimator, swapped for a rebuilt one when a change needs a new model."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Protocol

from posenet_ros.config import EstimatorConfig


class Estimator(Protocol):
    config: EstimatorConfig

    def needs_rebuild(self, config: EstimatorConfig) -> bool: ...

    def set_config(self, config: EstimatorConfig) -> None: ...


class EstimatorHolder:
    """Applies config changes: decode-only ones at once, the others by a background rebuild.

    While a rebuild runs the old estimator keeps serving; when the new one is ready it takes
    over with the newest wanted config. A newer change supersedes a pending rebuild.
    """

    def __init__(
        self,
        config: EstimatorConfig,
        build: Callable[[EstimatorConfig], Estimator],
        on_ready: Callable[[Estimator], None],
        on_failed: Callable[[EstimatorConfig, Exception], None],
    ) -> None:
        self._build = build
        self._on_ready = on_ready
        self._on_failed = on_failed
        self._lock = threading.Lock()
        self._estimator = build(config)
        self._wanted = config
        self._building: EstimatorConfig | None = None
        self._generation = 0

    @property
    def estimator(self) -> Estimator:
        return self._estimator

    @property
    def rebuilding(self) -> bool:
        return self._building is not None

    def apply(self, config: EstimatorConfig) -> None:
        with self._lock:
            self._wanted = config
            if not self._estimator.needs_rebuild(config):
                self._estimator.set_config(config)
                self._generation += 1  # a pending rebuild is no longer wanted
                self._building = None
                return
            if self._building is not None and not self._building.needs_rebuild(config):
                return  # the pending rebuild takes the newest config when it switches over
            self._generation += 1
            self._building = config
            generation = self._generation
        threading.Thread(
            target=self._rebuild, args=(config, generation), name="posenet-rebuild", daemon=True
        ).start()

    def _rebuild(self, config: EstimatorConfig, generation: int) -> None:
        try:
            estimator = self._build(config)
        # The thread's boundary: any failure (missing GPU, export error) is reported, and the
        # old estimator keeps serving.
        except Exception as exc:
            with self._lock:
                if generation != self._generation:
                    return
                self._building = None
            self._on_failed(config, exc)
            return
        with self._lock:
            if generation != self._generation:
                return
            self._building = None
            wanted = self._wanted
            if estimator.needs_rebuild(wanted):
                # Changed meanwhile in a way this build cannot serve (e.g. the input size of
                # a fixed-size engine): build again for what is wanted now.
                restart = True
            else:
                restart = False
                estimator.set_config(wanted)
                self._estimator = estimator
        if restart:
            self.apply(wanted)
        else:
            self._on_ready(estimator)
