"""posenet.launch.py through the real launch API: the node starts with the YAML's parameters."""

import asyncio
from pathlib import Path

import yaml

from .requirements import require_ros_build

require_ros_build()

from ament_index_python.packages import get_package_share_directory  # noqa: E402
from launch import LaunchDescription, LaunchService  # noqa: E402
from launch.actions import IncludeLaunchDescription  # noqa: E402
from launch.launch_description_sources import PythonLaunchDescriptionSource  # noqa: E402

from posenet_ros.image_io import load_image  # noqa: E402

from .harness import (  # noqa: E402
    CAMERA_INFO_TOPIC,
    DATA_DIR,
    DEPTH_TOPIC,
    IMAGE_TOPIC,
    Client,
)

SHARE = Path(get_package_share_directory("posenet_ros"))


def run_launch(arguments: dict[str, str], check):
    """Run posenet.launch.py with ``arguments``; ``check()`` runs beside it in a thread."""
    service = LaunchService()
    service.include_launch_description(
        LaunchDescription(
            [
                IncludeLaunchDescription(
                    PythonLaunchDescriptionSource(str(SHARE / "launch" / "posenet.launch.py")),
                    launch_arguments=arguments.items(),
                )
            ]
        )
    )

    async def scenario():
        running = asyncio.ensure_future(service.run_async())
        try:
            result = await asyncio.get_running_loop().run_in_executor(None, check)
        finally:
            await service.shutdown()
            code = await running
        return result, code

    return asyncio.run(scenario())


def launched_node_state(namespace: str, names: list[str]):
    client = Client(namespace=namespace)
    try:
        client.wait_for_node()
        values = client.get_parameters(*names)
        reply = client.infer(client.raw_image(load_image(DATA_DIR / "astronaut.jpg")))
        return values, reply
    finally:
        client.close()


def test_launch_file_starts_the_node_with_its_yaml():
    yaml_values = yaml.safe_load((SHARE / "config" / "posenet.yaml").read_text())
    overrides = {"backend": "onnxruntime", "precision": "fp16"}
    expected = yaml_values["/**/posenet"]["ros__parameters"] | overrides
    (values, reply), code = run_launch(
        {"namespace": "launched", "image_topic": IMAGE_TOPIC, **overrides},
        lambda: launched_node_state("/launched", sorted(expected)),
    )
    assert values == expected
    assert reply.poses
    assert code == 0


def test_launch_file_takes_another_params_file(tmp_path):
    params = tmp_path / "params.yaml"
    params.write_text(
        "/**/posenet:\n  ros__parameters:\n    mode: single\n    min_pose_score: 0.25\n"
    )
    (values, reply), code = run_launch(
        {"namespace": "custom", "image_topic": IMAGE_TOPIC, "params_file": str(params)},
        lambda: launched_node_state("/custom", ["mode", "min_pose_score", "output_stride"]),
    )
    assert values == {"mode": "single", "min_pose_score": 0.25, "output_stride": 16}
    assert len(reply.poses) == 1
    assert code == 0


def launched_depth_state(namespace: str):
    client = Client(namespace=namespace)
    try:
        client.subscribe_3d()
        client.wait_for_node()
        client.wait_matched(client.depth, client.camera_info)
        return client.get_parameters("use_depth")
    finally:
        client.close()


def test_launch_file_turns_depth_on_and_remaps_its_topics():
    arguments = {
        "namespace": "with_depth",
        "image_topic": IMAGE_TOPIC,
        "depth_topic": DEPTH_TOPIC,
        "camera_info_topic": CAMERA_INFO_TOPIC,
        "use_depth": "true",
        "backend": "onnxruntime",
    }
    values, code = run_launch(arguments, lambda: launched_depth_state("/with_depth"))
    assert values == {"use_depth": True}
    assert code == 0


def launched_cameras_state(namespace: str, remapped_front: str):
    client = Client(namespace=namespace)
    try:
        client.wait_for_node()
        values = client.get_parameters("cameras")
        rgb = load_image(DATA_DIR / "astronaut.jpg")
        replies = {
            name: client.camera(name, image_topic).infer(client.raw_image(rgb))
            for name, image_topic in (("front", remapped_front), ("back", ""))
        }
        return values, replies
    finally:
        client.close()


def test_launch_file_serves_several_cameras_and_remaps_each_camera_topic():
    remapped_front = "/posenet_test/front_camera/image_raw"
    arguments = {
        "namespace": "launched_cameras",
        "cameras": "[front, back]",
        "front/image": remapped_front,
        "backend": "onnxruntime",
    }
    (values, replies), code = run_launch(
        arguments, lambda: launched_cameras_state("/launched_cameras", remapped_front)
    )
    assert values == {"cameras": ["front", "back"]}
    assert replies["front"].poses and replies["back"].poses
    assert code == 0
