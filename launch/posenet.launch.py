"""Start the posenet node with its YAML parameters.

ros2 launch posenet_ros posenet.launch.py image_topic:=/camera/image_raw backend:=onnxruntime
ros2 launch posenet_ros posenet.launch.py backend:=tensorrt precision:=fp16
ros2 launch posenet_ros posenet.launch.py image_topic:=/camera/color/image_raw use_depth:=true
ros2 launch posenet_ros posenet.launch.py cameras:=[front,back] \
    front/image:=/cam_front/image_raw back/image:=/cam_back/image_raw

The depth_topic and camera_info_topic defaults are realsense2_camera's (align_depth.enable:=true).
With `cameras`, one node serves every camera with one model; camera NAME's topics are
NAME/image, NAME/poses, ... in the node's namespace, and any argument `NAME/TOPIC:=target`
remaps one of them (image_topic, depth_topic and camera_info_topic are for the node without
cameras).
"""

from pathlib import Path

from ament_index_python.packages import get_package_share_directory
from launch import LaunchDescription
from launch.actions import DeclareLaunchArgument, OpaqueFunction
from launch.substitutions import LaunchConfiguration
from launch_ros.actions import Node


def _bool(value: str) -> bool:
    if value.lower() not in ("true", "false"):
        raise ValueError(f"expected true or false, got {value!r}")
    return value.lower() == "true"


# Launch arguments that override one parameter of the params_file when given (empty: keep it):
# name -> (description, parameter value from the argument's text).
OVERRIDES = {
    "backend": ("auto | onnxruntime | tensorrt", str),
    "precision": ("fp32 | fp16, of TensorRT engines", str),
    "use_depth": (
        "true | false: 3D poses and markers from depth_topic and camera_info_topic",
        _bool,
    ),
}
# Topic arguments: the node's topic name -> (launch argument, default, description).
TOPICS = {
    "image": ("image_topic", "/image_raw", "input image topic"),
    "depth": (
        "depth_topic",
        "/camera/aligned_depth_to_color/image_raw",
        "depth image aligned to the colour image (16UC1 mm or 32FC1 m), used with use_depth",
    ),
    "camera_info": (
        "camera_info_topic",
        "/camera/color/camera_info",
        "camera_info of the colour camera, used with use_depth",
    ),
}


def _camera_names(text: str) -> list[str]:
    """``[front,back]``, ``[front, back]`` or ``front,back`` -> ["front", "back"] (the node
    checks the names)."""
    return [name.strip() for name in text.strip().strip("[]").split(",") if name.strip()]


def _camera_remappings(context) -> list[tuple[str, str]]:
    """Arguments ``CAMERA/TOPIC:=target`` (the only ones with a "/" in their name): remappings
    of the cameras' topics, whether ``cameras`` comes from here or from the params_file."""
    return [(name, value) for name, value in context.launch_configurations.items() if "/" in name]


def _posenet_node(context, *_args, **_kwargs) -> list[Node]:
    parameters: list = [LaunchConfiguration("params_file")]
    for name, (_description, convert) in OVERRIDES.items():
        value = LaunchConfiguration(name).perform(context)
        if value:  # empty keeps the params_file value
            parameters.append({name: convert(value)})
    cameras = _camera_names(LaunchConfiguration("cameras").perform(context))
    if cameras:  # empty keeps the params_file value (unset: one camera on `image`)
        parameters.append({"cameras": cameras})
    return [
        Node(
            package="posenet_ros",
            executable="posenet_node",
            name="posenet",
            namespace=LaunchConfiguration("namespace"),
            parameters=parameters,
            remappings=[
                *(
                    (topic, LaunchConfiguration(argument))
                    for topic, (argument, _default, _description) in TOPICS.items()
                ),
                *_camera_remappings(context),
            ],
            output="screen",
        )
    ]


def generate_launch_description() -> LaunchDescription:
    share = Path(get_package_share_directory("posenet_ros"))
    return LaunchDescription(
        [
            *(
                DeclareLaunchArgument(argument, default_value=default, description=description)
                for argument, default, description in TOPICS.values()
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
                for name, (choices, _convert) in OVERRIDES.items()
            ),
            DeclareLaunchArgument(
                "cameras",
                default_value="",
                description="[NAME,...]: one node, one model for these cameras (topics NAME/image, "
                "NAME/poses, ...; remap each with NAME/TOPIC:=target); empty keeps the "
                "params_file value",
            ),
            DeclareLaunchArgument(
                "namespace", default_value="", description="namespace of the node and its topics"
            ),
            OpaqueFunction(function=_posenet_node),
        ]
    )
