"""PoseNet (MobileNetV1 0.75) human pose estimation: core library and ROS 2 adapter.

The core (everything outside ``posenet_ros.ros``) imports no ROS package.
"""

__version__ = "0.1.0"
