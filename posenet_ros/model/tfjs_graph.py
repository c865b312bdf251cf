"""Read a TF.js graph model (``model.json`` + weight shards) into nodes and named arrays.

The format is small and stable (a GraphDef as JSON plus a weights manifest), so it is read
directly here rather than through TensorFlow or tfjs-converter.
"""

from __future__ import annotations

import base64
import binascii
import json
import math
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from posenet_ros.errors import ModelError

_DTYPES = {"float32": np.dtype("<f4"), "int32": np.dtype("<i4")}


@dataclass(frozen=True, slots=True)
class GraphNode:
    """One GraphDef node: ``attrs`` decoded to plain Python values (str, int, float, lists)."""

    name: str
    op: str
    inputs: tuple[str, ...]
    attrs: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class TfjsGraph:
    """The nodes in file order, and every weight by name (read-only arrays)."""

    nodes: tuple[GraphNode, ...]
    weights: dict[str, np.ndarray]


def load_graph(json_path: str | os.PathLike[str]) -> TfjsGraph:
    """Parse the model JSON and read its weight shards (paths relative to the JSON file).

    Raises ``ModelError`` for unreadable JSON, a missing, short or overlong weights file, or
    weights of a type this reader does not handle (quantised or non-numeric).
    """
    path = Path(json_path)
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
        topology = document["modelTopology"]
        raw_nodes = topology["node"]
        manifest = document["weightsManifest"]
    except FileNotFoundError as exc:
        raise ModelError(f"model file not found: {path}") from exc
    except (OSError, UnicodeDecodeError, ValueError, KeyError, TypeError) as exc:
        raise ModelError(f"{path} is not a TF.js graph model ({exc})") from exc
    try:
        nodes = tuple(_parse_node(raw) for raw in raw_nodes)
    except (KeyError, TypeError, ValueError, binascii.Error) as exc:
        raise ModelError(f"{path} has a malformed node ({exc})") from exc
    weights: dict[str, np.ndarray] = {}
    for group in manifest:
        weights.update(_read_group(path.parent, group))
    return TfjsGraph(nodes=nodes, weights=weights)


def _parse_node(raw: dict[str, Any]) -> GraphNode:
    attrs = {key: _attr_value(value) for key, value in raw.get("attr", {}).items()}
    return GraphNode(
        name=raw["name"], op=raw["op"], inputs=tuple(raw.get("input", ())), attrs=attrs
    )


def _attr_value(value: dict[str, Any]) -> Any:
    """Decode one AttrValue (JSON form of the protobuf: bytes base64, int64 as strings)."""
    if "list" in value:
        items = value["list"]
        if "s" in items:
            return [_decode_bytes(item) for item in items["s"]]
        if "i" in items:
            return [int(item) for item in items["i"]]
        if "f" in items:
            return [float(item) for item in items["f"]]
        return []
    if "s" in value:
        return _decode_bytes(value["s"])
    if "i" in value:
        return int(value["i"])
    if "f" in value:
        return float(value["f"])
    if "b" in value:
        return bool(value["b"])
    if "type" in value:
        return value["type"]
    return value  # tensor / shape descriptions are kept as they are


def _decode_bytes(encoded: str) -> str:
    return base64.b64decode(encoded, validate=True).decode("utf-8")


def _read_group(directory: Path, group: dict[str, Any]) -> dict[str, np.ndarray]:
    """Read one manifest group: its shards concatenated, then sliced in manifest order."""
    try:
        shard_paths = [directory / name for name in group["paths"]]
        specs = [
            (w["name"], tuple(int(d) for d in w["shape"]), w["dtype"]) for w in group["weights"]
        ]
        quantised = [w["name"] for w in group["weights"] if "quantization" in w]
    except (KeyError, TypeError, ValueError) as exc:
        raise ModelError(f"malformed weights manifest ({exc})") from exc
    if quantised:
        raise ModelError(f"quantised weights are not supported (e.g. {quantised[0]})")
    chunks = []
    for shard in shard_paths:
        try:
            chunks.append(shard.read_bytes())
        except OSError as exc:
            raise ModelError(
                f"weights file missing or unreadable: {shard} ({exc.strerror})"
            ) from exc
    data = b"".join(chunks)
    expected = 0
    for name, shape, dtype in specs:
        if dtype not in _DTYPES:
            raise ModelError(f"weight {name} has unsupported dtype {dtype!r}")
        expected += math.prod(shape) * _DTYPES[dtype].itemsize
    if len(data) != expected:
        shards = ", ".join(str(p) for p in shard_paths)
        raise ModelError(
            f"weights file {shards} has {len(data)} bytes, the manifest needs {expected}: "
            "truncated or wrong file (delete it to fetch again)"
        )
    weights: dict[str, np.ndarray] = {}
    offset = 0
    for name, shape, dtype in specs:
        count = math.prod(shape)
        array = np.frombuffer(data, dtype=_DTYPES[dtype], count=count, offset=offset)
        weights[name] = array.reshape(shape)
        offset += count * _DTYPES[dtype].itemsize
    return weights
