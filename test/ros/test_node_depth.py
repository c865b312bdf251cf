"""The real posenet_node with use_depth over DDS: poses_3d, pairing by stamp, markers, bad input.

Expected 3D points are computed here from the keypoints on /poses, the synthetic depth image
and K: the median of a plane over a square window centred on a pixel is the plane's value at
that pixel (the window's readings are symmetric about it), and the point is the pinhole
back-projection of the keypoint's sub-pixel (x, y) at that depth.
"""

from __future__ import annotations

import array
import time

import numpy as np
import pytest

from .requirements import require_ros_build

require_ros_build()

from sensor_msgs.msg import CameraInfo, Image  # noqa: E402
from std_msgs.msg import Header  # noqa: E402
from visualization_msgs.msg import Marker  # noqa: E402

from posenet_ros.image_io import load_image  # noqa: E402
from posenet_ros.keypoints import PART_NAMES  # noqa: E402
from posenet_ros.ros.image_conversions import rgb_to_image  # noqa: E402

from .harness import DATA_DIR, WAIT_S, Client, NodeProcess  # noqa: E402

FX, FY, CX, CY = 400.0, 420.0, 250.5, 260.25
CAMERA_FRAME = "test_camera_color_optical_frame"
COLOUR_FRAME = "test_camera_color_frame"
WINDOW = 5  # depth_window default
SLOP_S = 0.05  # depth_sync_slop default
FACE = [PART_NAMES.index(n) for n in ("nose", "leftEye", "rightEye", "leftEar", "rightEar")]
SHOULDERS = [PART_NAMES.index(n) for n in ("leftShoulder", "rightShoulder")]


@pytest.fixture(scope="module")
def node():
    process = NodeProcess("-p", "use_depth:=true")
    yield process
    process.stop()


@pytest.fixture(scope="module")
def client(node):
    client = Client()
    client.subscribe_3d()
    client.wait_for_node()
    client.wait_matched(client.depth, client.camera_info)
    yield client
    client.close()


@pytest.fixture(autouse=True)
def node_alive(node):
    yield
    assert node.alive(), node.log()


@pytest.fixture(scope="module")
def rgb() -> np.ndarray:
    return load_image(DATA_DIR / "astronaut.jpg")


@pytest.fixture(scope="module")
def keypoints(client, rgb) -> np.ndarray:
    """Where the node finds the astronaut's keypoints (x, y), to place holes around them."""
    reply = send(client, rgb, [])[0]
    return np.array([[k.x, k.y] for k in reply.poses[0].keypoints])


class Stamps:
    """Colour stamps at least 2 s apart, so depth frames of one test never pair in another."""

    ns = time.time_ns()

    @classmethod
    def fresh(cls) -> int:
        cls.ns = max(cls.ns + 2_000_000_000, time.time_ns())
        return cls.ns


def header_at(stamp_ns: int, frame_id: str = COLOUR_FRAME) -> Header:
    header = Header(frame_id=frame_id)
    header.stamp.sec, header.stamp.nanosec = divmod(stamp_ns, 1_000_000_000)
    return header


def camera_info(k: list[float] | None = None) -> CameraInfo:
    return CameraInfo(k=k if k is not None else [FX, 0.0, CX, 0.0, FY, CY, 0.0, 0.0, 1.0])


def plane(height: int, width: int, z0: float, du: float = 0.0, dv: float = 0.0) -> np.ndarray:
    """z (metres) = z0 + du * column + dv * row."""
    rows, columns = np.mgrid[0:height, 0:width]
    return z0 + du * columns + dv * rows


def depth_image(z_m: np.ndarray, encoding: str) -> tuple[Image, np.ndarray]:
    """The message and the metres it holds (16UC1 rounds to whole millimetres; 0 = hole)."""
    if encoding == "16UC1":
        stored = np.nan_to_num(z_m * 1000.0, nan=0.0, posinf=0.0).round().astype("<u2")
        held = np.where(stored > 0, stored / 1000.0, np.nan)
    else:
        stored = z_m.astype("<f4")
        held = np.where(np.isfinite(stored) & (stored > 0), stored, np.nan).astype(np.float64)
    height, width = z_m.shape
    msg = Image(
        height=height,
        width=width,
        encoding=encoding,
        is_bigendian=0,
        step=width * stored.itemsize,
        data=array.array("B", stored.tobytes()),
    )
    return msg, held


def send(client, rgb, depths, *, info: CameraInfo | None = None, colour_ns: int | None = None):
    """Camera_info, then depth frames ``(offset from the colour stamp in s, Image)``, then the
    colour frame; returns its (Poses, Poses3D). The depth is sent first: the node pairs at the
    end of inference, by when it has arrived."""
    colour_ns = colour_ns or Stamps.fresh()
    if info is not None:
        info.header = header_at(colour_ns, CAMERA_FRAME)
        client.camera_info.publish(info)
    for offset_s, depth in depths:
        depth.header = header_at(colour_ns + round(offset_s * 1e9), CAMERA_FRAME)
        client.depth.publish(depth)
    colour = rgb_to_image(rgb, header_at(colour_ns))
    poses = client.infer(colour)
    poses_3d = client.wait_poses_3d(colour.header)
    assert poses_3d is not None, "no poses_3d for the colour frame"
    return poses, poses_3d


def expected_points(pose, held_m: np.ndarray):
    """(positions, checkable, off_image) from the /poses keypoints of ``pose``.

    ``checkable``: keypoints whose whole window is on the image (their depth is the plane's
    at the nearest pixel); ``off_image``: nearest pixel off the image (must be invalid).
    """
    height, width = held_m.shape
    xy = np.array([[k.x, k.y] for k in pose.keypoints], dtype=np.float64)
    pixel = np.floor(xy + 0.5).astype(int)
    half = WINDOW // 2
    checkable = (
        (pixel[:, 0] >= half)
        & (pixel[:, 0] < width - half)
        & (pixel[:, 1] >= half)
        & (pixel[:, 1] < height - half)
    )
    off_image = (
        (pixel[:, 0] < 0) | (pixel[:, 0] >= width) | (pixel[:, 1] < 0) | (pixel[:, 1] >= height)
    )
    z = np.full(len(xy), np.nan)
    z[checkable] = held_m[pixel[checkable, 1], pixel[checkable, 0]]
    positions = np.column_stack([(xy[:, 0] - CX) * z / FX, (xy[:, 1] - CY) * z / FY, z])
    return positions, checkable, off_image


def got_points(pose_3d) -> tuple[np.ndarray, np.ndarray]:
    positions = np.array([[k.position.x, k.position.y, k.position.z] for k in pose_3d.keypoints])
    return positions, np.array([k.valid for k in pose_3d.keypoints])


def assert_back_projected(poses, poses_3d, held_m: np.ndarray, invalid=()) -> None:
    """Every checkable keypoint not in ``invalid`` equals the back-projection to 1 mm."""
    assert poses_3d.header.stamp == poses.header.stamp
    assert poses_3d.header.frame_id == CAMERA_FRAME
    assert len(poses_3d.poses) == len(poses.poses) >= 1
    for pose, pose_3d in zip(poses.poses, poses_3d.poses, strict=True):
        assert (pose_3d.id, pose_3d.score) == (pose.id, pose.score)
        assert [(k.id, k.name) for k in pose_3d.keypoints] == list(enumerate(PART_NAMES))
        assert [k.score for k in pose_3d.keypoints] == [k.score for k in pose.keypoints]
        want, checkable, off_image = expected_points(pose, held_m)
        positions, valid = got_points(pose_3d)
        expected_valid = checkable.copy()
        expected_valid[list(invalid)] = False
        assert checkable.sum() >= 10  # most of the astronaut is well inside the image
        assert not valid[off_image].any()
        assert not valid[list(invalid)].any()
        assert valid[expected_valid].all(), valid
        np.testing.assert_allclose(positions[expected_valid], want[expected_valid], atol=1e-3)


def assert_no_depth(poses, poses_3d) -> None:
    assert len(poses_3d.poses) == len(poses.poses) >= 1
    for pose_3d in poses_3d.poses:
        assert not any(k.valid for k in pose_3d.keypoints)


def paired_z(poses_3d) -> float | None:
    """The plane distance a flat-plane frame was paired with (None: no depth)."""
    zs = {round(k.position.z, 4) for p in poses_3d.poses for k in p.keypoints if k.valid}
    assert len(zs) <= 1, zs
    return zs.pop() if zs else None


def counter(client, name: str) -> int:
    return int(client.wait_diagnostics(lambda values: name in values)[name])


def wait_counter_above(client, name: str, baseline: int) -> int:
    values = client.wait_diagnostics(lambda v: int(v.get(name, "0")) > baseline)
    return int(values[name])


# ---------------------------------------------------------------------------- back-projection
@pytest.mark.parametrize("encoding", ["16UC1", "32FC1"])
@pytest.mark.parametrize(("du", "dv"), [(0.0, 0.0), (0.002, 0.001)], ids=["flat", "tilted"])
def test_planes_give_the_analytic_back_projection(client, rgb, encoding, du, dv):
    z = plane(*rgb.shape[:2], 1.7, du, dv)
    depth, held = depth_image(z, encoding)
    poses, poses_3d = send(client, rgb, [(0.0, depth)], info=camera_info())
    assert_back_projected(poses, poses_3d, held)
    if du:
        # the tilt is seen: shoulders at different columns get different depths
        positions, _ = got_points(poses_3d.poses[0])
        assert positions[SHOULDERS[0], 2] != positions[SHOULDERS[1], 2]


def hole_around(z: np.ndarray, points: np.ndarray, value: float) -> None:
    """Fill the box around ``points`` (plus the window) with ``value``."""
    margin = WINDOW
    (x0, y0), (x1, y1) = points.min(axis=0), points.max(axis=0)
    z[
        max(0, int(y0) - margin) : int(y1) + margin + 1,
        max(0, int(x0) - margin) : int(x1) + margin + 1,
    ] = value


@pytest.mark.parametrize(
    ("encoding", "face", "shoulders"),
    [("16UC1", 0.0, 0.0), ("32FC1", np.nan, np.inf), ("32FC1", -1.0, np.inf)],
    ids=["zero", "nan-inf", "negative-inf"],
)
def test_holes_give_invalid_keypoints(client, rgb, keypoints, encoding, face, shoulders):
    z = plane(*rgb.shape[:2], 2.2, 0.001, 0.0)
    hole_around(z, keypoints[FACE], face)
    hole_around(z, keypoints[SHOULDERS[:1]], shoulders)
    depth, held = depth_image(z, encoding)
    poses, poses_3d = send(client, rgb, [(0.0, depth)], info=camera_info())
    assert_back_projected(poses, poses_3d, held, invalid=FACE + SHOULDERS[:1])


def test_out_of_range_readings_are_ignored(client, rgb, keypoints):
    """Below depth_min (0.1 m) at the face, beyond depth_max (10 m) at a shoulder."""
    z = plane(*rgb.shape[:2], 3.0)
    hole_around(z, keypoints[FACE], 0.05)
    hole_around(z, keypoints[SHOULDERS[:1]], 12.0)
    depth, held = depth_image(z, "32FC1")
    poses, poses_3d = send(client, rgb, [(0.0, depth)], info=camera_info())
    assert_back_projected(poses, poses_3d, held, invalid=FACE + SHOULDERS[:1])


def test_depth_max_is_live(client, rgb):
    depth, held = depth_image(plane(*rgb.shape[:2], 2.0), "16UC1")
    try:
        assert client.set_parameters(depth_max=1.5)[0].successful
        assert_no_depth(*send(client, rgb, [(0.0, depth)], info=camera_info()))
    finally:
        assert client.set_parameters(depth_max=10.0)[0].successful
    poses, poses_3d = send(client, rgb, [(0.0, depth)], info=camera_info())
    assert_back_projected(poses, poses_3d, held)


def test_depth_of_another_size_is_refused_and_the_node_goes_on(client, node, rgb):
    baseline = counter(client, "depth_size_mismatch")
    height, width = rgb.shape[:2]
    small, _ = depth_image(plane(height // 2, width // 2, 2.0), "16UC1")
    poses, poses_3d = send(client, rgb, [(0.0, small)], info=camera_info())
    assert_no_depth(poses, poses_3d)
    assert wait_counter_above(client, "depth_size_mismatch", baseline) == baseline + 1
    assert any(
        f"depth image refused: {width // 2}x{height // 2} is not the colour image's "
        f"{width}x{height}" in line
        for line in node.log().splitlines()
    ), node.log()
    depth, held = depth_image(plane(height, width, 2.0), "16UC1")
    assert_back_projected(*send(client, rgb, [(0.0, depth)], info=camera_info()), held)


def test_a_depth_encoding_other_than_16uc1_or_32fc1_is_refused(client, node, rgb):
    baseline = counter(client, "depth_refused")
    depth, _ = depth_image(plane(*rgb.shape[:2], 2.0), "16UC1")
    depth.encoding = "mono16"
    assert_no_depth(*send(client, rgb, [(0.0, depth)], info=camera_info()))
    assert wait_counter_above(client, "depth_refused", baseline) == baseline + 1
    assert "unsupported depth encoding 'mono16'" in node.log()


# ---------------------------------------------------------------------------- pairing by stamp
def flat(rgb, z_m: float) -> Image:
    return depth_image(plane(*rgb.shape[:2], z_m), "16UC1")[0]


@pytest.mark.parametrize(
    ("offsets", "expected_z"),
    [
        ({0.03: 1.25}, 1.25),  # depth stamped late, within the slop
        ({-0.03: 1.25}, 1.25),  # early, within the slop
        ({0.08: 1.25}, None),  # late beyond the slop
        ({-0.08: 1.25}, None),  # early beyond the slop
        ({-0.04: 1.0, 0.02: 3.0, 0.045: 2.0}, 3.0),  # the nearest of several
        ({}, None),  # missing
    ],
    ids=["late", "early", "too-late", "too-early", "nearest", "missing"],
)
def test_colour_pairs_with_the_nearest_depth_within_the_slop(client, rgb, offsets, expected_z):
    depths = [(offset, flat(rgb, z)) for offset, z in offsets.items()]
    poses, poses_3d = send(client, rgb, depths, info=camera_info())
    assert poses.poses  # /poses as usual, with or without depth
    assert paired_z(poses_3d) == expected_z


def test_depth_at_another_rate_pairs_each_colour_frame_with_its_nearest(client, rgb):
    """Depth at 15 Hz, colour at 30 Hz (offset 10 ms): each colour frame takes the depth
    frame of nearest stamp, told apart by its plane distance."""
    start = Stamps.fresh()
    depth_stamps = [start + round(k * 1e9 / 15) for k in range(4)]
    depth_z = [1.0 + 0.5 * k for k in range(4)]
    for stamp, z in zip(depth_stamps, depth_z, strict=True):
        depth = flat(rgb, z)
        depth.header = header_at(stamp, CAMERA_FRAME)
        client.depth.publish(depth)
    Stamps.ns = depth_stamps[-1]
    for k in range(6):
        colour_ns = start + 10_000_000 + round(k * 1e9 / 30)
        nearest = int(np.argmin([abs(colour_ns - s) for s in depth_stamps]))
        _, poses_3d = send(client, rgb, [], info=camera_info(), colour_ns=colour_ns)
        assert paired_z(poses_3d) == depth_z[nearest], f"colour frame {k}"


# ---------------------------------------------------------------------------- camera_info
def restart_depth_input(client) -> None:
    """use_depth off and on: the node forgets its camera_info and buffered depth."""
    assert client.set_parameters(use_depth=False)[0].successful
    deadline = time.monotonic() + WAIT_S
    while client.depth.get_subscription_count() > 0:
        assert time.monotonic() < deadline, "the node kept its depth subscription"
        time.sleep(0.05)
    assert client.set_parameters(use_depth=True)[0].successful
    client.wait_matched(client.depth, client.camera_info)


def test_depth_before_any_camera_info_waits_for_one(client, node, rgb):
    restart_depth_input(client)
    baseline = counter(client, "depth_without_camera_info")
    depth, held = depth_image(plane(*rgb.shape[:2], 2.5), "32FC1")
    assert_no_depth(*send(client, rgb, [(0.0, depth)]))
    assert wait_counter_above(client, "depth_without_camera_info", baseline) > baseline
    assert "no usable camera_info yet" in node.log()
    assert_back_projected(*send(client, rgb, [(0.0, depth)], info=camera_info()), held)


@pytest.mark.parametrize("k", [[0.0] * 9, [np.nan] * 9], ids=["zeros", "nan"])
def test_an_unusable_camera_info_is_refused(client, node, rgb, k):
    restart_depth_input(client)
    baseline = counter(client, "camera_info_refused")
    depth, held = depth_image(plane(*rgb.shape[:2], 2.5), "16UC1")
    assert_no_depth(*send(client, rgb, [(0.0, depth)], info=camera_info(k)))
    assert wait_counter_above(client, "camera_info_refused", baseline) == baseline + 1
    # one log line per kind of refusal every 5 s: the first case's reason is in the log
    assert "camera_info refused: camera K is all zeros" in node.log()
    assert_back_projected(*send(client, rgb, [(0.0, depth)], info=camera_info()), held)


def test_a_camera_info_for_another_image_size_is_not_used(client, node, rgb):
    baseline = counter(client, "camera_info_size_mismatch")
    depth, held = depth_image(plane(*rgb.shape[:2], 2.5), "16UC1")
    other = camera_info()
    other.width, other.height = 640, 480
    assert_no_depth(*send(client, rgb, [(0.0, depth)], info=other))
    assert wait_counter_above(client, "camera_info_size_mismatch", baseline) == baseline + 1
    assert "camera_info is for 640x480 images, not the colour image's 512x512" in node.log()
    same = camera_info()
    same.width, same.height = rgb.shape[1], rgb.shape[0]
    assert_back_projected(*send(client, rgb, [(0.0, depth)], info=same), held)


# ---------------------------------------------------------------------------- markers
def test_markers_show_each_person_in_the_camera_frame(client, rgb):
    people = np.hstack([rgb, load_image(DATA_DIR / "astronaut_mirrored.jpg")])
    depth, _ = depth_image(plane(*people.shape[:2], 2.0), "16UC1")
    colour_ns = Stamps.fresh()
    _poses, poses_3d = send(client, people, [(0.0, depth)], info=camera_info(), colour_ns=colour_ns)
    markers = client.wait_markers(header_at(colour_ns))
    assert markers is not None, "no markers for the frame"
    assert markers.markers[0].action == Marker.DELETEALL
    rest = markers.markers[1:]
    assert len(poses_3d.poses) >= 2
    assert len(rest) == 2 * len(poses_3d.poses)
    assert {m.header.frame_id for m in markers.markers} == {CAMERA_FRAME}
    for index, pose_3d in enumerate(poses_3d.poses):
        joints, bones = rest[2 * index : 2 * index + 2]
        assert (joints.type, joints.id, bones.type, bones.id) == (
            Marker.SPHERE_LIST,
            index,
            Marker.LINE_LIST,
            index,
        )
        valid = [k for k in pose_3d.keypoints if k.valid]
        assert len(joints.points) == len(valid)
        assert [(p.x, p.y, p.z) for p in joints.points] == [
            (k.position.x, k.position.y, k.position.z) for k in valid
        ]
        assert len(bones.points) % 2 == 0 and bones.points


def test_use_depth_off_unsubscribes_and_clears_the_markers(client, rgb):
    while not client.markers.empty():
        client.markers.get_nowait()
    try:
        assert client.set_parameters(use_depth=False)[0].successful
        cleared = None
        deadline = time.monotonic() + WAIT_S
        while cleared is None and time.monotonic() < deadline:
            msg = client.markers.get(timeout=WAIT_S)
            if [m.action for m in msg.markers] == [Marker.DELETEALL]:
                cleared = msg
        assert cleared is not None, "no DELETEALL when depth was switched off"
        while client.depth.get_subscription_count() or client.camera_info.get_subscription_count():
            assert time.monotonic() < deadline, "still subscribed to depth or camera_info"
            time.sleep(0.05)
        poses = client.infer(rgb_to_image(rgb, header_at(Stamps.fresh())))
        assert poses.poses
        assert client.wait_poses_3d(poses.header, timeout_s=1.0) is None
    finally:
        assert client.set_parameters(use_depth=True)[0].successful
        client.wait_matched(client.depth, client.camera_info)
