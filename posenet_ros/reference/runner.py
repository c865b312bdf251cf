"""Run the reference @tensorflow-models/posenet 2.2.2 (tfjs 3.21 CPU backend) in Node.

Development tool for parity tests and the benchmark's speed ratio: the pinned npm packages are
installed once with ``npm ci`` into a cache keyed by the lockfile's hash, then one Node process
runs a whole batch of jobs (Node and tfjs start slowly) on the same weights as our pipeline.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import platformdirs

from posenet_ros.config import EstimatorConfig
from posenet_ros.errors import InvalidConfigError, PoseNetError
from posenet_ros.model.weights import ensure_weights

NODE_DIR = Path(__file__).resolve().parent / "node"
SCRIPT = NODE_DIR / "reference.js"
INSTALL_FILES = ("package.json", "package-lock.json")
COMPLETE_STAMP = ".posenet-ros-complete"
NPM_TIMEOUT_S = 600
RAW_OUTPUTS = ("heatmap", "offsets", "displacement_fwd", "displacement_bwd")


class ReferenceHarnessError(PoseNetError):
    """The Node reference cannot be installed or failed while running."""


@dataclass(frozen=True, slots=True)
class PosesJob:
    """Estimate poses on each PNG with one configuration (reference ``estimate*Pose(s)``)."""

    images: tuple[Path, ...]
    config: EstimatorConfig


@dataclass(frozen=True, slots=True)
class RawJob:
    """The four raw network outputs, from a PNG (padded and resized by the reference) or from a
    preprocessed (1, H, W, 3) float32 tensor in [-1, 1] given as ``tensor``."""

    output_stride: int
    image: Path | None = None
    input_resolution: int = 257
    tensor: np.ndarray | None = field(default=None, compare=False)


@dataclass(frozen=True, slots=True)
class TimingJob:
    """Mean wall time of the reference ``estimate`` per image (PNG decoding excluded)."""

    images: tuple[Path, ...]
    config: EstimatorConfig
    repeats: int = 10
    warmup: int = 2


@dataclass(frozen=True, slots=True)
class Timing:
    per_image_ms: tuple[float, ...]
    mean_ms: float


@dataclass(frozen=True, slots=True)
class RunResult:
    """``results[i]`` answers ``jobs[i]``: a list of CLI-format dicts (one per image) for a
    ``PosesJob``, a dict of arrays for a ``RawJob``, a ``Timing`` for a ``TimingJob``."""

    versions: dict[str, str]
    results: list[Any]


Job = PosesJob | RawJob | TimingJob


def default_cache_dir() -> Path:
    """``<repo>/.cache/reference-node`` in a source checkout, else the user cache directory."""
    repo_root = Path(__file__).resolve().parents[2]
    if (repo_root / "setup.py").is_file():
        return repo_root / ".cache" / "reference-node"
    return platformdirs.user_cache_path("posenet_ros") / "reference-node"


def ensure_node_modules(cache_dir: Path | None = None) -> Path:
    """Install the pinned packages (``npm ci``) once; return the folder holding node_modules.

    The folder is named after the hash of package.json + package-lock.json, so a changed pin
    installs afresh and an unchanged one returns at once without touching the network.
    """
    _require_tool("node")
    digest = hashlib.sha256()
    for name in INSTALL_FILES:
        digest.update((NODE_DIR / name).read_bytes())
    root = (cache_dir or default_cache_dir()) / digest.hexdigest()[:16]
    if (root / COMPLETE_STAMP).is_file():
        return root
    npm = _require_tool("npm")
    root.parent.mkdir(parents=True, exist_ok=True)
    # Install beside the final place and rename, so a crash never leaves a half-used install.
    staging = Path(tempfile.mkdtemp(prefix=".install-", dir=root.parent))
    try:
        for name in INSTALL_FILES:
            shutil.copy2(NODE_DIR / name, staging / name)
        _run_npm_ci(npm, staging)
        (staging / COMPLETE_STAMP).touch()
        if not (root / COMPLETE_STAMP).is_file():  # else a concurrent install finished first
            shutil.rmtree(root, ignore_errors=True)  # an interrupted install from before
            try:
                staging.rename(root)
            except OSError:
                if not (root / COMPLETE_STAMP).is_file():
                    raise
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return root


class ReferenceRunner:
    """Runs batches of jobs in one Node process on the given (default: cached) weights."""

    def __init__(
        self,
        model_json: Path | None = None,
        model_bin: Path | None = None,
        cache_dir: Path | None = None,
        timeout_s: float | None = None,
        reuse_results: bool = False,
    ) -> None:
        """``reuse_results``: answer a batch of ``PosesJob`` seen before from the cache; the key
        covers the harness sources, lockfile, weights, image bytes and configurations."""
        if (model_json is None) != (model_bin is None):
            raise InvalidConfigError("give both model_json and model_bin, or neither")
        self._model = (model_json, model_bin)
        self._cache_dir = cache_dir or default_cache_dir()
        self._timeout_s = timeout_s
        self._reuse_results = reuse_results

    def run(self, jobs: Sequence[Job]) -> RunResult:
        """Run every job in order in one Node process and return their results."""
        requests = [_job_request(job) for job in jobs]  # validates before any install or run
        json_path, bin_path = self._weights()
        saved = None
        if self._reuse_results and all(isinstance(job, PosesJob) for job in jobs):
            key = _results_key(requests, (json_path, bin_path))
            saved = self._cache_dir / "results" / f"{key}.json"
            if saved.is_file():
                response = json.loads(saved.read_text())
                return RunResult(versions=response["versions"], results=response["results"])
        response = self._run_batch(jobs, requests, json_path, bin_path)
        if saved is not None:
            saved.parent.mkdir(parents=True, exist_ok=True)
            partial = saved.with_suffix(f".{os.getpid()}.part")
            partial.write_text(json.dumps(response))
            os.replace(partial, saved)
        return RunResult(
            versions=response["versions"],
            results=[
                _parse_result(job, result)
                for job, result in zip(jobs, response["results"], strict=True)
            ],
        )

    def _run_batch(
        self, jobs: Sequence[Job], requests: list[dict[str, Any]], json_path: Path, bin_path: Path
    ) -> dict[str, Any]:
        """One Node process for all jobs; raw tensors are read back before the folder goes."""
        root = ensure_node_modules(self._cache_dir)
        with tempfile.TemporaryDirectory(prefix="posenet-reference-") as work_dir:
            work = Path(work_dir)
            for index, (job, request) in enumerate(zip(jobs, requests, strict=True)):
                if isinstance(job, RawJob):
                    request["outDir"] = str(_job_dir(work, index))
                    if job.tensor is not None:
                        request["input"] = _write_tensor(job.tensor, work / f"input-{index}.f32")
            request_file, response_file = work / "request.json", work / "response.json"
            model = {"json": str(json_path), "bin": str(bin_path)}
            request_file.write_text(json.dumps({"model": model, "jobs": requests}))
            self._run_node(root, request_file, response_file)
            response = json.loads(response_file.read_text())
            for index, job in enumerate(jobs):
                if isinstance(job, RawJob):
                    response["results"][index] = _read_raw(response["results"][index])
        return response

    def _weights(self) -> tuple[Path, Path]:
        json_path, bin_path = self._model
        if json_path is None or bin_path is None:
            weights = ensure_weights()
            json_path, bin_path = weights.json_path, weights.bin_path
        for path in (json_path, bin_path):
            if not Path(path).is_file():
                raise InvalidConfigError(f"weights file {path} does not exist")
        return Path(json_path), Path(bin_path)

    def _run_node(self, root: Path, request_file: Path, response_file: Path) -> None:
        node = _require_tool("node")
        env = {**os.environ, "POSENET_REFERENCE_NODE_ROOT": str(root)}
        try:
            done = subprocess.run(
                [node, str(SCRIPT), str(request_file), str(response_file)],
                env=env,
                capture_output=True,
                text=True,
                timeout=self._timeout_s,
                check=False,
            )
        except subprocess.TimeoutExpired as exc:
            raise ReferenceHarnessError(
                f"the Node reference did not finish within {self._timeout_s} s"
            ) from exc
        if done.returncode != 0 or not response_file.is_file():
            raise ReferenceHarnessError(
                f"the Node reference failed (exit status {done.returncode}): "
                f"{_last_line(done.stderr)}"
            )


def _require_tool(name: str) -> str:
    path = shutil.which(name)
    if path is None:
        raise ReferenceHarnessError(
            f"{name} not found on PATH: the reference PoseNet runs in Node.js; install Node.js "
            "16 or newer with npm (e.g. `sudo apt install nodejs npm`)"
        )
    return path


def _run_npm_ci(npm: str, folder: Path) -> None:
    command = [npm, "ci", "--no-audit", "--no-fund", "--ignore-scripts", "--loglevel=error"]
    try:
        done = subprocess.run(
            command, cwd=folder, capture_output=True, text=True, timeout=NPM_TIMEOUT_S, check=False
        )
    except subprocess.TimeoutExpired as exc:
        raise ReferenceHarnessError(
            f"`npm ci` for the reference did not finish within {NPM_TIMEOUT_S} s: "
            "check access to the npm registry"
        ) from exc
    if done.returncode != 0:
        raise ReferenceHarnessError(
            f"`npm ci` for the reference failed ({_last_line(done.stderr)}): check access to "
            "the npm registry (proxy: `npm config set proxy URL`)"
        )


def _last_line(text: str | None) -> str:
    lines = [line.strip() for line in (text or "").splitlines() if line.strip()]
    return lines[-1] if lines else "no message"


def _config_request(config: EstimatorConfig) -> dict[str, Any]:
    config.validated()
    if config.input_resolution is None:
        raise InvalidConfigError(
            "input_resolution None (image_scale_factor semantics) is 0.x API: the reference "
            "2.2.2 needs an input_resolution"
        )
    if config.min_pose_score or config.min_keypoint_score:
        raise InvalidConfigError(
            "min_pose_score / min_keypoint_score are our output filters, unknown to the "
            "reference: leave them at 0 and filter the results"
        )
    return {
        "mode": config.mode,
        "inputResolution": config.input_resolution,
        "outputStride": config.output_stride,
        "flipHorizontal": config.flip_horizontal,
        "maxDetections": config.max_pose_detections,
        "scoreThreshold": config.score_threshold,
        "nmsRadius": config.nms_radius,
    }


def _images_request(images: Sequence[Path]) -> list[str]:
    if isinstance(images, (str, Path)) or not images:
        raise InvalidConfigError("images must be a non-empty sequence of PNG paths")
    for image in images:
        if not Path(image).is_file():
            raise InvalidConfigError(f"image {image} does not exist")
    return [str(Path(image).resolve()) for image in images]


def _job_request(job: Job) -> dict[str, Any]:
    if isinstance(job, PosesJob):
        return {
            "kind": "poses",
            "images": _images_request(job.images),
            "config": _config_request(job.config),
        }
    if isinstance(job, TimingJob):
        for name, lowest in (("repeats", 1), ("warmup", 0)):
            value = getattr(job, name)
            if not isinstance(value, int) or isinstance(value, bool) or value < lowest:
                raise InvalidConfigError(
                    f"invalid {name} {value!r}: expected an integer >= {lowest}"
                )
        return {
            "kind": "timing",
            "images": _images_request(job.images),
            "config": _config_request(job.config),
            "repeats": job.repeats,
            "warmup": job.warmup,
        }
    if isinstance(job, RawJob):
        return _raw_request(job)
    raise InvalidConfigError(f"unknown job {job!r}: expected PosesJob, RawJob or TimingJob")


def _raw_request(job: RawJob) -> dict[str, Any]:
    EstimatorConfig(
        output_stride=job.output_stride, input_resolution=job.input_resolution
    ).validated()
    if (job.image is None) == (job.tensor is None):
        raise InvalidConfigError("a RawJob needs exactly one of image (PNG path) or tensor")
    request: dict[str, Any] = {"kind": "raw", "outputStride": job.output_stride}
    if job.image is not None:
        request["image"] = _images_request([job.image])[0]
        request["inputResolution"] = job.input_resolution
        return request
    tensor = job.tensor
    if (
        not isinstance(tensor, np.ndarray)
        or tensor.dtype != np.float32
        or tensor.ndim != 4
        or tensor.shape[0] != 1
        or tensor.shape[3] != 3
        or min(tensor.shape[1:3]) < 1
    ):
        shape = getattr(tensor, "shape", None)
        dtype = getattr(tensor, "dtype", type(tensor).__name__)
        raise InvalidConfigError(
            f"invalid raw input tensor (shape {shape}, dtype {dtype}): expected a float32 "
            "array of shape (1, H, W, 3) scaled to [-1, 1]"
        )
    if not np.isfinite(tensor).all():
        raise InvalidConfigError("invalid raw input tensor: it contains NaN or infinity")
    return request


def _job_dir(work: Path, index: int) -> Path:
    folder = work / f"raw-{index}"
    folder.mkdir()
    return folder


def _write_tensor(tensor: np.ndarray, path: Path) -> dict[str, Any]:
    tensor.astype("<f4", copy=False).tofile(path)
    return {"file": str(path), "shape": list(tensor.shape)}


def _read_tensor(entry: dict[str, Any]) -> np.ndarray:
    return np.fromfile(entry["file"], dtype="<f4").reshape(entry["shape"])


def _read_raw(result: dict[str, Any]) -> dict[str, np.ndarray]:
    arrays = {name: _read_tensor(entry) for name, entry in result.items()}
    # Network outputs in the NetworkOutputs layout (H, W, C); the input keeps its batch.
    return {name: array[0] if name in RAW_OUTPUTS else array for name, array in arrays.items()}


def _results_key(requests: list[dict[str, Any]], weights: tuple[Path, Path]) -> str:
    digest = hashlib.sha256()
    for source in [*sorted(NODE_DIR.glob("*.js")), NODE_DIR / "package-lock.json", *weights]:
        digest.update(source.read_bytes())
    for request in requests:
        images = [
            hashlib.sha256(Path(image).read_bytes()).hexdigest() for image in request["images"]
        ]
        digest.update(json.dumps({**request, "images": images}, sort_keys=True).encode())
    return digest.hexdigest()[:32]


def _parse_result(job: Job, result: Any) -> Any:
    if isinstance(job, TimingJob):
        per_image = tuple(float(ms) for ms in result["perImageMs"])
        return Timing(per_image_ms=per_image, mean_ms=float(result["meanMs"]))
    return result
