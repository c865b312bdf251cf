"""Decoding PoseNet outputs into poses exactly as ``@tensorflow-models/posenet`` 2.2.2.

One step per module, mirroring the reference: ``scores`` (sigmoid), ``argmax2d`` ->
``single_pose``; ``local_maximum`` -> ``part_queue`` (with ``max_heap``) -> ``traverse`` ->
``nms`` -> ``multi_pose``. Inputs are the backend's (H, W, C) maps, NumPy or CuPy. On the
host each decoder is one compiled call (``compiled``); ``warm_up`` compiles them. On CuPy
maps single-pose decoding is one CUDA kernel (``posenet_ros.gpu.decode_cuda``), and
multi-pose decoding fetches the maps in one copy and decodes them on the host.
"""

from posenet_ros.decode import multi_pose, single_pose
from posenet_ros.decode.multi_pose import decode_multiple_poses
from posenet_ros.decode.single_pose import decode_single_pose

__all__ = ["decode_multiple_poses", "decode_single_pose", "warm_up"]


def warm_up() -> None:
    """Compile the host kernels (or load them from numba's cache) now, not on a frame."""
    multi_pose.warm_up()
    single_pose.warm_up()
