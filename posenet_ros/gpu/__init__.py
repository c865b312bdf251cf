"""GPU path: capability probe, TensorRT engines, CuPy device buffers, preprocessing kernel,
GPU benchmark.

Nothing here imports CuPy or TensorRT at import time; both are optional and loaded on use.
"""
