"""Start the posenet node with its YAML parameters.

ros2 launch posenet_ros posenet.launch.py image_topic:=/camera/image_raw backend:=onnxruntime
ros2 launch posenet_ros posenet.launch.py backend:=tensorrt precision:=fp16
"""

from pathlib import Path

from ament_index_python.packages import get_package_share_directory
from launch import LaunchDescription
from launch.actions import DeclareLaunchArgument, OpaqueFunction
from launch.substitutions import LaunchConfiguration
from launch_ros.actions import Node

# Launch arguments that override one parameter of the params_file when given (empty: keep it).
OVERRIDES = {
    "backend": "auto | onnxruntime | tensorrt",
    "precision": "fp32 | fp16, of TensorRT engines",
}


def _posenet_node(context, *_args, **_kwargs) -> list[Node]:
    parameters: list = [LaunchConfiguration("params_file")]
    for name in OVERRIDES:
        value = LaunchConfiguration(name).perform(context)
        if value:  # empty keeps the params_file value
            parameters.append({name: value})
    return [
        Node(
            package="posenet_ros",
            executable="posenet_node",
            name="posenet",
            namespace=LaunchConfiguration("namespace"),
            parameters=parameters,
            remappings=[("image", LaunchConfiguration("image_topic"))],
            output="screen",
        )
    ]


def generate_launch_description() -> LaunchDescription:
    share = Path(get_package_share_directory("posenet_ros"))
    return LaunchDescription(
        [
            DeclareLaunchArgument(
                "image_topic", default_value="/image_raw", description="input image topic"
            ),
            DeclareLaunchArgument(
                "params_file",
                default_value=str(share / "config" / "posenet.yaml"),
                description="YAML file with the node's parameters",
            ),
            *(
                DeclareLaunchArgument(
                    name,
                    default_value="",
                    description=f"{choices}; empty keeps the params_file value",
                )
                for name, choices in OVERRIDES.items()
            ),
            DeclareLaunchArgument(
                "namespace", default_value="", description="namespace of the node and its topics"
            ),
            OpaqueFunction(function=_posenet_node),
        ]
    )
