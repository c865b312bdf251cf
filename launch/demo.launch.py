"""The posenet node on the bundled demo frames: no camera needed.

    ros2 launch posenet_ros demo.launch.py duration:=20 output_dir:=out

A publisher loops the frames under share/posenet_ros/data at `rate`; a monitor logs FPS,
latency and poses per frame once a second and saves every `save_every`-th annotated frame
under `output_dir`. With `duration` > 0 the whole launch stops after that many seconds.
The monitor prints the track ids; with `use_depth:=true` the publisher also publishes a
synthetic aligned depth image (a plane at 2 m) and camera_info, and the monitor prints a 3D
position per person.
"""

from pathlib import Path

from ament_index_python.packages import get_package_share_directory
from launch import LaunchDescription
from launch.actions import (
    DeclareLaunchArgument,
    EmitEvent,
    IncludeLaunchDescription,
    OpaqueFunction,
    TimerAction,
)
from launch.events import Shutdown
from launch.launch_description_sources import PythonLaunchDescriptionSource
from launch.substitutions import LaunchConfiguration
from launch_ros.actions import Node
from launch_ros.parameter_descriptions import ParameterValue

IMAGE_TOPIC = "/posenet_demo/image_raw"
DEPTH_TOPIC = "/posenet_demo/depth"
CAMERA_INFO_TOPIC = "/posenet_demo/camera_info"


def _stop_after_duration(context, *_args, **_kwargs) -> list:
    duration = float(LaunchConfiguration("duration").perform(context))
    if duration <= 0:
        return []
    return [
        TimerAction(
            period=duration,
            actions=[EmitEvent(event=Shutdown(reason=f"demo duration of {duration:g} s over"))],
        )
    ]


def generate_launch_description() -> LaunchDescription:
    share = Path(get_package_share_directory("posenet_ros"))
    arg = LaunchConfiguration
    return LaunchDescription(
        [
            DeclareLaunchArgument("images", default_value=str(share / "data")),
            DeclareLaunchArgument("rate", default_value="10.0", description="frames per second"),
            DeclareLaunchArgument(
                "frames_per_image",
                default_value="20",
                description="frames each image is held for (people keep their track ids)",
            ),
            DeclareLaunchArgument("duration", default_value="20", description="s; 0 = forever"),
            DeclareLaunchArgument("output_dir", default_value="out"),
            DeclareLaunchArgument("save_every", default_value="10"),
            DeclareLaunchArgument("backend", default_value=""),
            DeclareLaunchArgument("precision", default_value=""),
            DeclareLaunchArgument(
                "use_depth", default_value="false", description="synthetic depth -> 3D poses"
            ),
            IncludeLaunchDescription(
                PythonLaunchDescriptionSource(str(share / "launch" / "posenet.launch.py")),
                launch_arguments={
                    "image_topic": IMAGE_TOPIC,
                    "backend": arg("backend"),
                    "precision": arg("precision"),
                    "use_depth": arg("use_depth"),
                    "depth_topic": DEPTH_TOPIC,
                    "camera_info_topic": CAMERA_INFO_TOPIC,
                }.items(),
            ),
            Node(
                package="posenet_ros",
                executable="demo_image_publisher",
                name="demo_image_publisher",
                parameters=[
                    {
                        "images": arg("images"),
                        "rate": arg("rate"),
                        "frames_per_image": ParameterValue(arg("frames_per_image"), value_type=int),
                        "publish_depth": ParameterValue(arg("use_depth"), value_type=bool),
                    }
                ],
                remappings=[
                    ("image", IMAGE_TOPIC),
                    ("depth", DEPTH_TOPIC),
                    ("camera_info", CAMERA_INFO_TOPIC),
                ],
                output="screen",
            ),
            Node(
                package="posenet_ros",
                executable="demo_monitor",
                name="demo_monitor",
                parameters=[{"output_dir": arg("output_dir"), "save_every": arg("save_every")}],
                output="screen",
            ),
            OpaqueFunction(function=_stop_after_duration),
        ]
    )
