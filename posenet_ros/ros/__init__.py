"""ROS 2 adapter: the only part of posenet_ros that imports rclpy."""
