"""pip-installable core library + CLI (no ROS needed); the ROS package is built by colcon."""

from setuptools import find_packages, setup

# The suite's tools; `dev` adds the TensorRT-RTX builder (over 200 MB, for test/gpu alone).
TEST_REQUIRES = [
    "pytest>=8",
    "pytest-timeout>=2.2",
    "opencv-python-headless>=4.10",  # the reference for pixel_formats in the tests
    "ruff>=0.6",
    "scikit-image>=0.22",
]

setup(
    name="posenet_ros",
    version="0.1.0",
    description="PoseNet (MobileNetV1 0.75) human pose estimation for ROS 2: core library and CLI",
    license="Apache-2.0",
    python_requires=">=3.10",
    packages=find_packages(include=["posenet_ros", "posenet_ros.*"]),
    package_data={
        "posenet_ros": [
            "py.typed",
            "reference/node/*.js",
            "reference/node/package.json",
            "reference/node/package-lock.json",
        ]
    },
    install_requires=[
        "numba>=0.60",
        "numpy>=1.24",
        "onnx>=1.15",
        "onnxruntime>=1.17",
        "pillow>=10",
        "platformdirs>=3",
        # Track ids: the Hungarian assignment and batched Kalman filters.
        "scipy>=1.10",
        "simdkalman>=1.0.4,<2",
    ],
    extras_require={
        # ctk (CuPy 14+): NVRTC and the CUDA headers CuPy needs to compile its kernels.
        "gpu": ["cupy-cuda12x[ctk]>=14"],
        "test": TEST_REQUIRES,
        "dev": [
            *TEST_REQUIRES,
            # A real TensorRT builder that needs no GPU: checks our exports and engine builder.
            "tensorrt-rtx-cu12==1.7.1.116; "
            "platform_system == 'Linux' and platform_machine == 'x86_64'",
        ],
    },
    entry_points={"console_scripts": ["posenet-ros = posenet_ros.cli:main"]},
)
