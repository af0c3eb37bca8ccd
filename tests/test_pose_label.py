import numpy as np
import pytest

from efld_export.crop import crop_matrix, transform_points
from efld_export.label import label_from_21
from efld_export.landmarks import aflw21_from_68
import cv2

from efld_export.pose import angles_to_rotation, pose_from_landmarks, project, rotate_in_plane, rotation_to_angles

from conftest import face_3d, render_face


@pytest.mark.parametrize("pose", [(0, 0, 0), (40, -10, 15), (-70, 20, -5), (10, 30, 30)])
def test_pnp_recovers_a_known_pose(pose):
    _, pts = render_face(np.random.default_rng(0), 400, pose)
    est = pose_from_landmarks(pts, face_3d(), 400, 400)
    assert np.abs(est - np.array(pose)).max() < 0.5


def test_angles_round_trip():
    import cv2

    for pose in ([30.0, -20.0, 10.0], [-80.0, 5.0, -40.0]):
        rvec, _ = cv2.Rodrigues(angles_to_rotation(np.array(pose)))
        assert np.allclose(rotation_to_angles(rvec), pose, atol=1e-6)


def test_rotate_in_plane_matches_rotating_the_image():
    _, pts = render_face(np.random.default_rng(1), 400, (25, 10, 5))
    m = crop_matrix(np.array([200.0, 200.0]), 400, 400, angle_deg=20)
    direct = pose_from_landmarks(transform_points(pts, m), face_3d(), 400, 400)
    predicted = rotate_in_plane(pose_from_landmarks(pts, face_3d(), 400, 400), 20)
    assert np.abs(direct - predicted).max() < 1.0


def test_label_from_21_points_recovers_the_68():
    rng = np.random.default_rng(2)
    _, pts = render_face(rng, 400, (50, 5, -10))
    p21 = aflw21_from_68(pts)
    p21[[0, 6, 7]] = np.nan  # invisible points are not evidence
    lab = label_from_21(p21, face_3d(), 400, 400, yaw_deg=48.0, focal=1.0)  # render_face's camera
    assert lab is not None and lab.fit_error < 1e-3
    assert np.abs(lab.points - pts).max() < 0.5
    assert lab.pose[0] == 48.0
    assert label_from_21(np.full((21, 2), np.nan), face_3d(), 400, 400) is None


def test_the_labellers_camera_must_match_the_pictures():
    """A face taken with a long lens (focal 3 image widths) off the crop's centre: the fit with that camera
    recovers its points and pitch; the default library camera (focal = width) bends both."""
    from efld_export.label import LABEL_FOCAL

    rvec, _ = cv2.Rodrigues(angles_to_rotation(np.array([30.0, 10.0, 0.0])))
    pts = project(face_3d(), rvec, np.array([60.0, 80.0, 3000.0]), 400, 400, focal=1200.0)
    p21 = aflw21_from_68(pts)
    right = label_from_21(p21, face_3d(), 400, 400, focal=3.0)
    wrong = label_from_21(p21, face_3d(), 400, 400, focal=1.0)
    assert LABEL_FOCAL == 3.0 and right.fit_error < 1e-3
    assert np.abs(right.points - pts).max() < 0.5 and abs(right.pose[1] - 10.0) < 0.5
    assert wrong.fit_error > 5 * right.fit_error and abs(wrong.pose[1] - 10.0) > 2.0


def _mouth_open() -> np.ndarray:
    """A unit deformation: the lower lip and chin move down."""
    d = np.zeros((68, 3))
    d[[6, 7, 8, 9, 10, 55, 56, 57, 58, 59, 65, 66, 67], 1] = 1.0
    return d / np.linalg.norm(d)


def _teacher_shapes(rng: np.random.Generator, n: int = 60) -> np.ndarray:
    """Teacher meshes of one face with a varying open mouth, each in its own frame, scale and depth unit."""
    from efld_export.pose import angles_to_rotation

    out = []
    for _ in range(n):
        shape = face_3d() + rng.normal(0, 8) * _mouth_open()
        r = angles_to_rotation(rng.uniform(-20, 20, 3))
        out.append(rng.uniform(0.5, 2) * shape @ r.T + rng.uniform(-50, 50, 3))
    return np.stack(out)


def test_shape_model_learns_the_teachers_mode_and_depth_and_keeps_the_mean_faces_xy():
    from efld_export.face3d import FaceModel3D

    flat = face_3d().copy()
    flat[:, 2] *= 0.5  # the generic mean face is too shallow: the teacher's depth replaces it
    model = FaceModel3D.from_teacher(_teacher_shapes(np.random.default_rng(0)), flat, k=3)
    assert np.allclose(model.mean[:, :2], flat[:, :2])
    z, true_z = model.mean[:, 2], face_3d()[:, 2]
    assert np.corrcoef(z, true_z)[0, 1] > 0.999 and 0.9 < np.ptp(z) / np.ptp(true_z) < 1.1
    # one mode holds all the variation: the open mouth less the part that alignment takes as a similarity
    assert abs((model.modes[0] * _mouth_open()).sum()) > 0.8
    assert 4 < model.std[0] < 10 and model.std[1] < 0.05 * model.std[0]


def test_shape_model_takes_the_jaw_depth_of_another_face_and_keeps_the_rest():
    """The 3DMM's jaw depth (label.py's JAW_DEPTHS): the other face is aligned on the inner points first
    (here it comes scaled, turned and moved), only the jaw's z changes, the ear lobes stay put."""
    from efld_export.face3d import FaceModel3D
    from efld_export.landmarks import AFLW21_MATRIX
    from efld_export.pose import angles_to_rotation

    shapes = _teacher_shapes(np.random.default_rng(0))
    plain = FaceModel3D.from_teacher(shapes, face_3d(), k=2)
    deep = plain.mean.copy()
    deep[:17, 2] += np.linspace(-1, 1, 17) ** 2 * 25  # the jaw's ends 25 mm deeper
    other = 1.3 * deep @ angles_to_rotation(np.array([10.0, -5.0, 3.0])).T + [4.0, -7.0, 30.0]
    model = FaceModel3D.from_teacher(shapes, face_3d(), k=2, jaw_face=other)
    assert np.allclose(model.mean, deep, atol=1e-6)
    assert np.allclose(model.modes, plain.modes) and np.allclose(model.std, plain.std)
    ears = [12, 16]
    assert np.allclose(model.aflw21[ears], plain.aflw21[ears])
    assert np.allclose(model.aflw21[20], (AFLW21_MATRIX @ deep)[20])  # the chin follows the jaw


def test_jaw_offset_moves_the_mean_jaw_and_the_chin_not_the_ear_lobes_nor_the_modes():
    """label.py's JAW_OFFSETS: "y" moves the mean jaw by the file's y offset only, "xy" by both; "none" is no
    offset; the shipped file is mirror-symmetric (x odd, y even under the jaw's flip)."""
    from efld_export.face3d import FaceModel3D
    from efld_export.label import jaw_offset_mm
    from efld_export.landmarks import AFLW21_MATRIX

    plain = FaceModel3D.from_teacher(_teacher_shapes(np.random.default_rng(0)), face_3d(), k=2)
    xy, y = jaw_offset_mm("xy"), jaw_offset_mm("y")
    assert jaw_offset_mm("none") is None and xy.shape == (17, 2)
    assert np.allclose(xy[:, 0], -xy[::-1, 0]) and np.allclose(xy[:, 1], xy[::-1, 1])
    assert np.all(y[:, 0] == 0) and np.array_equal(y[:, 1], xy[:, 1]) and np.abs(xy).max() > 1.0
    moved = plain.with_jaw_offset(xy)
    assert np.allclose(moved.mean[:17, :2] - plain.mean[:17, :2], xy)
    assert np.array_equal(moved.mean[17:], plain.mean[17:]) and np.array_equal(moved.mean[:, 2], plain.mean[:, 2])
    assert np.array_equal(moved.modes, plain.modes) and np.array_equal(moved.std, plain.std)
    ears = [12, 16]
    assert np.array_equal(moved.aflw21[ears], plain.aflw21[ears])
    assert np.allclose(moved.aflw21[20], (AFLW21_MATRIX @ moved.mean)[20])  # the chin follows the jaw
    assert np.allclose(np.delete(moved.aflw21, [12, 16, 20], 0), np.delete(plain.aflw21, [12, 16, 20], 0))


def test_xy_frontal_moves_the_jaw_outwards_only_where_the_offset_was_measured():
    """"xy_frontal": the downward part at every yaw (the model's), the outward part face by face, in full within
    15 degrees of yaw, half at 22.5, none from 30 on, whatever the yaw's sign."""
    from efld_export.label import JAW_OFFSET_X_RAMP_DEG, jaw_offset_frontal_mm, jaw_offset_mm

    xy = jaw_offset_mm("xy")
    assert JAW_OFFSET_X_RAMP_DEG == (15.0, 30.0)
    assert np.array_equal(jaw_offset_mm("xy_frontal"), jaw_offset_mm("y"))
    assert np.allclose(jaw_offset_frontal_mm("xy_frontal", 10.0), xy * [1.0, 0.0])
    assert np.allclose(jaw_offset_frontal_mm("xy_frontal", -22.5), 0.5 * xy * [1.0, 0.0])
    assert jaw_offset_frontal_mm("xy_frontal", 30.0) is None and jaw_offset_frontal_mm("xy_frontal", -70.0) is None
    assert all(jaw_offset_frontal_mm(name, 0.0) is None for name in ("none", "y", "xy"))


def test_xy_frontal_labels_frontal_faces_as_xy_and_turned_ones_as_y():
    """The same faces and teacher labelled three ways: within 15 degrees "xy_frontal" gives "xy"'s labels, from 30
    degrees on "y"'s, exactly; between, its jaw lies between theirs."""
    from efld_export.label import label_records

    records, _, teacher = _open_mouth_faces()
    labels = {name: label_records(records, face_3d(), progress=False, teacher=teacher, focal=1.0,
                                  jaw_depth="teacher", jaw_offset=name)[0] for name in ("y", "xy", "xy_frontal")}
    assert len({len(v) for v in labels.values()}) == 1
    checked = {"frontal": 0, "turned": 0, "between": 0}
    for (rec, y), (_, xy), (_, mixed) in zip(labels["y"], labels["xy"], labels["xy_frontal"]):
        yaw = abs(rec.extra["yaw_deg"])
        if yaw <= 15:
            assert np.allclose(mixed.points, xy.points) and not np.allclose(mixed.points, y.points)
            checked["frontal"] += 1
        elif yaw >= 30:
            assert np.array_equal(mixed.points, y.points)
            checked["turned"] += 1
        else:
            gap = np.linalg.norm(xy.points[:17] - y.points[:17], axis=1).mean()
            assert np.linalg.norm(mixed.points[:17] - y.points[:17], axis=1).mean() < gap
            assert np.linalg.norm(mixed.points[:17] - xy.points[:17], axis=1).mean() < gap
            checked["between"] += 1
    assert all(n > 0 for n in checked.values()), checked


def test_label_records_refuses_an_unknown_jaw_offset():
    from efld_export.errors import EFLDError
    from efld_export.label import label_records

    with pytest.raises(EFLDError, match=r"label_jaw_offset must be one of \('none', 'y', 'xy', 'xy_frontal'\), got 'z'"):
        label_records([], face_3d(), jaw_offset="z")


def test_label_records_refuses_an_unknown_jaw_depth():
    from efld_export.errors import EFLDError
    from efld_export.label import label_records

    with pytest.raises(EFLDError, match="label_jaw_depth must be one of"):
        label_records([], face_3d(), jaw_depth="deep")


def _observe(model, coefs, pose, size=400, rng=None):
    from efld_export.pose import angles_to_rotation

    rvec, _ = cv2.Rodrigues(angles_to_rotation(np.asarray(pose, dtype=np.float64)))
    tvec = np.array([5.0, -3.0, 600.0])
    return (project(model.shape68(coefs), rvec, tvec, size, size),
            project(model.shape21(coefs), rvec, tvec, size, size))


def test_shape_model_fit_recovers_expression_and_pose_from_the_visible_human_points():
    from efld_export.face3d import FaceModel3D
    from efld_export.pose import rotation_to_angles

    model = FaceModel3D.from_teacher(_teacher_shapes(np.random.default_rng(1)), face_3d(), k=2)
    truth68, p21 = _observe(model, np.array([12.0, 0.0]), (50, 5, -10))
    p21[[0, 1, 2, 6, 7]] = np.nan  # far side hidden: invisible points are not evidence
    p21[[12, 16]] = np.nan
    rigid = FaceModel3D(model.mean, model.modes[:0], model.std[:0], model.aflw21).fit(p21, 400, 400)
    fit = model.fit(p21, 400, 400, prior=1e-3)
    assert np.abs(fit.points68 - truth68).max() < 0.5 < np.abs(rigid.points68 - truth68).max()
    assert abs(fit.coefs[0] - 12.0) < 0.5
    assert np.abs(rotation_to_angles(fit.rvec) - [50, 5, -10]).max() < 0.5
    # a teacher's 68 points take part with their weight: a shifted teacher pulls the fit towards it
    pulled = model.fit(p21, 400, 400, truth68 + 6.0, teacher_weight=1.0, prior=1e-3)
    assert 0.5 < np.abs(pulled.points68 - truth68).mean() < 6.0


class MeshTeacher:
    """A perfect 3D teacher: each face's true 68 points with depth, the face known by its pixel value."""

    def __init__(self, meshes: list[np.ndarray]):
        self.meshes = meshes

    def mesh68(self, faces):
        return np.stack([self.meshes[int(image[0, 0, 0])] for image, _ in faces])


def _open_mouth_faces(n: int = 30):
    """n faces with open mouths, 25 near-frontal then turned ones: records with their 21 points,
    the true 68 points, and a perfect teacher of them."""
    from efld_export.data.record import Record

    rng = np.random.default_rng(3)
    records, truths, meshes = [], [], []
    for i in range(n):
        yaw = float(rng.uniform(-80, 80)) if i >= 25 else float(rng.uniform(-25, 25))
        shape = face_3d() + rng.normal(0, 30) * _mouth_open()
        img = np.full((300, 300, 3), i, np.uint8)  # the teacher knows the face by its pixel value
        rvec, _ = cv2.Rodrigues(angles_to_rotation(np.array([yaw, 0.0, 0.0])))
        tvec = np.array([0.0, 0.0, 450.0])
        pts = project(shape, rvec, tvec, 300, 300)
        cam = shape @ cv2.Rodrigues(rvec)[0].T + tvec
        meshes.append(np.concatenate([pts, cam[:, 2:] * 300 / 450], 1))
        records.append(Record(None, np.full((68, 2), np.nan),
                              extra={"image": img, "points21": aflw21_from_68(pts), "yaw_deg": yaw}))
        truths.append(pts)
    return records, truths, MeshTeacher(meshes)


def test_label_records_with_a_3d_teacher_beats_the_rigid_fit_on_an_open_mouth():
    from efld_export.label import label_records, teacher_weight

    assert teacher_weight(10) == 0.1 and teacher_weight(-50) == 0.033 and teacher_weight(80) == 0.0
    records, truths, teacher = _open_mouth_faces()
    rigid, _ = label_records(records, face_3d(), progress=False, focal=1.0)  # the pictures' camera
    rigid_err = np.mean([np.abs(lab.points - t).mean() for (_, lab), t in zip(rigid, truths)])
    # the synthetic faces' jaw is as deep as the teacher's meshes say, not the 3DMM's
    fitted, report = label_records(records, face_3d(), progress=False, teacher=teacher, focal=1.0,
                                   jaw_depth="teacher")
    assert "3D shape model" in report["method"] and "jaw depth: teacher" in report["method"] and len(fitted) == 30
    err = np.mean([np.abs(lab.points - t).mean() for (_, lab), t in zip(fitted, truths)])
    assert err < 0.5 * rigid_err
    assert all(lab.pose[0] == rec.extra["yaw_deg"] for rec, lab in fitted)


def test_the_jaw_offset_moves_the_labels_jaw_down_on_upright_faces_and_leaves_the_inner_points():
    """label_jaw_offset "y" (the shipped offset: the jaw's sides several mm down) against "none", the same faces and
    teacher: the labelled jaw moves down the picture, the inner points (which the human points hold) hardly move."""
    from efld_export.label import jaw_offset_mm, label_records

    records, _, teacher = _open_mouth_faces()
    plain, _ = label_records(records, face_3d(), progress=False, teacher=teacher, focal=1.0, jaw_depth="teacher")
    moved, report = label_records(records, face_3d(), progress=False, teacher=teacher, focal=1.0,
                                  jaw_depth="teacher", jaw_offset="y")
    assert "jaw offset: y" in report["method"]
    down = np.array([(m.points[:17, 1] - p.points[:17, 1]).mean() for (_, m), (_, p) in zip(moved, plain)])
    inner = np.array([np.abs(m.points[17:] - p.points[17:]).mean() for (_, m), (_, p) in zip(moved, plain)])
    assert jaw_offset_mm("y")[:, 1].mean() > 2.0  # mm
    assert (down > 0.5).all() and (inner < 0.25 * down).all()


def test_a_face_whose_fit_lands_far_outside_its_picture_is_dropped_not_written():
    """The labeller applies the readers' own rule (data.record.far_outside): a label that reading it back would
    refuse is dropped, with its reason in the report, instead of written."""
    from efld_export.label import label_records

    records, _, _ = _open_mouth_faces(4)
    records[1].extra["points21"] = records[1].extra["points21"] + [350.0, 0.0]  # fits well, centred past x = 450
    kept, report = label_records(records, face_3d(), progress=False, focal=1.0)
    assert report["dropped"]["outside_image"] == 1 and report["n_kept"] == len(kept) == 3
    assert all(rec is not records[1] for rec, _ in kept)


def test_our_own_models_join_the_labellers_fit_at_every_yaw():
    """Models that answer 6 px off pull every label towards them, the turned faces' too (where
    MediaPipe has no weight); they see the rigid label's box, then the box of their first answer."""
    from efld_export.crop import box_from_points
    from efld_export.errors import EFLDError
    from efld_export.label import label_records
    from efld_export.runtime import Prediction

    records, truths, teacher = _open_mouth_faces()

    class ShiftedModel:
        """The true points + 6 px; records the boxes it was given."""

        def __init__(self):
            self.boxes = []

        def predict_batch(self, faces):
            self.boxes.append([b for _, b in faces])
            return [Prediction(truths[int(image[0, 0, 0])] + 6.0, None) for image, _ in faces]

    fitted, _ = label_records(records, face_3d(), progress=False, teacher=teacher, focal=1.0, jaw_depth="teacher")
    model = ShiftedModel()
    pulled, report = label_records(records, face_3d(), progress=False, teacher=teacher, focal=1.0,
                                   models=model, models_weight=1.0, jaw_depth="teacher")
    assert "our own models" in report["method"] and len(model.boxes) == 2  # two passes
    assert np.allclose(model.boxes[1][0], box_from_points(truths[0] + 6.0))
    shift = np.array([(p.points - f.points).mean() for (_, p), (_, f) in zip(pulled, fitted)])
    yaws = np.array([abs(rec.extra["yaw_deg"]) for rec, _ in fitted])
    assert (yaws > 45).any() and (shift > 1.0).all() and (shift < 6.0).all()
    with pytest.raises(EFLDError, match="needs the 3D teacher"):
        label_records(records, face_3d(), progress=False, models=model)


def test_efld_label_writes_a_dataset_that_loads_back(tmp_path):
    from click.testing import CliRunner

    from efld_export.cli import cli
    from efld_export.data import load_records

    rng = np.random.default_rng(4)
    src = tmp_path / "aflw"
    (src / "images").mkdir(parents=True)
    rows, truths = [], {}
    for i, yaw in enumerate((0.0, 30.0, -60.0)):
        img, pts = render_face(rng, 200, (yaw, 0, 0))
        cv2.imwrite(str(src / "images" / f"f{i}.png"), img[:, :, ::-1])
        p21 = np.nan_to_num(aflw21_from_68(pts), nan=-1.0)
        rows.append(f"f{i}.png,{yaw}," + ",".join(f"{v:.3f}" for v in p21.ravel()))
        truths[f"f{i}.png"] = pts
    (src / "landmarks21.csv").write_text("image,yaw_deg," + ",".join(f"x{i},y{i}" for i in range(21)) + "\n"
                                         + "\n".join(rows) + "\n")
    root = tmp_path / "root"
    root.mkdir()
    np.savetxt(root / "mean_face_68_3d.csv", np.column_stack([np.arange(68), face_3d()]), delimiter=",",
               header="point,x_mm,y_mm,z_mm", comments="")
    out = tmp_path / "labels"
    res = CliRunner().invoke(cli, ["label", str(src), "--out", str(out), "--teacher", "none", "--data-root", str(root),
                                   "--focal", "1"])  # render_face's camera
    assert res.exit_code == 0, res.output
    assert "labelled 3/3" in res.output
    back = load_records(out, progress=False)
    assert len(back) == 3
    for r in back:
        assert np.abs(r.points - truths[r.image_path.name]).max() < 1.0
        assert r.pose[0] == pytest.approx(float({"f0.png": 0, "f1.png": 30, "f2.png": -60}[r.image_path.name]))
    assert "rigid" in (out / "report.json").read_text() and '"focal_x_width": 1.0' in (out / "report.json").read_text()
    # --pitch-offset replaces the labeller's offset in the pitch labels, and nothing else
    lower = tmp_path / "lower"
    res = CliRunner().invoke(cli, ["label", str(src), "--out", str(lower), "--teacher", "none", "--data-root", str(root),
                                   "--focal", "1", "--pitch-offset", "0.83"])
    assert res.exit_code == 0, res.output
    for a, b in zip(back, load_records(lower, progress=False)):
        assert a.pose[1] - b.pose[1] == pytest.approx(2.0) and np.array_equal(a.points, b.points)
    # our own models join the 3D teacher's fit: without it they are refused before anything is loaded
    (tmp_path / "m.pt").write_bytes(b"")
    res = CliRunner().invoke(cli, ["label", str(src), "--out", str(tmp_path / "y"), "--teacher", "none",
                                   "--model", str(tmp_path / "m.pt"), "--data-root", str(root)])
    assert res.exit_code == 2 and "needs --teacher mediapipe" in res.output
    # a dataset without 21-point faces is refused with one line
    res = CliRunner().invoke(cli, ["label", str(out), "--out", str(tmp_path / "x"), "--data-root", str(root)])
    assert res.exit_code != 0 and "no faces with 21 human points" in str(res.exception)


def test_shape_model_needs_near_frontal_faces_and_says_so():
    from efld_export.data.record import Record
    from efld_export.errors import EFLDError
    from efld_export.label import label_records

    _, pts = render_face(np.random.default_rng(6), 300, (70, 0, 0))
    rec = Record(None, np.full((68, 2), np.nan),
                 extra={"image": np.zeros((300, 300, 3), np.uint8), "points21": aflw21_from_68(pts), "yaw_deg": 70.0})

    class NoTeacher:
        def mesh68(self, faces):
            return np.zeros((len(faces), 68, 3))

    with pytest.raises(EFLDError, match="within 30 degrees of yaw"):
        label_records([rec], face_3d(), progress=False, teacher=NoTeacher())


def test_pose_labels_read_the_3dmm_mean_shape_in_its_own_frame():
    """The asset is in the mean face's axes, and pose_label recovers the pose of that shape seen through
    the near-orthographic pose camera (a given yaw, a file's, replaces its own)."""
    from efld_export.pose import POSE_FOCAL, load_pose_face, pose_label

    face = load_pose_face()
    assert face.shape == (68, 3)
    assert face[0, 0] < 0 < face[16, 0]  # x right: point 0 (subject's right) on the image's left
    assert face[8, 1] > face[30, 1] > face[36, 1]  # y down: chin below the nose tip below the eyes
    assert face[30, 2] < face[0, 2]  # z away from the camera: the nose tip is nearest
    from efld_export.landmarks import FLIP_PERM

    assert np.allclose(face, face[FLIP_PERM] * [-1, 1, 1])  # mirror-symmetric: no tilt of its own
    for pose in ((20.0, 10.0, -5.0), (-60.0, -15.0, 10.0)):
        rvec, _ = cv2.Rodrigues(angles_to_rotation(np.array(pose)))
        pts = project(face, rvec, np.array([5.0, -8.0, 2500.0]), 120, 120, focal=POSE_FOCAL * 120)
        assert np.abs(pose_label(pts, 120, 120) - pose).max() < 0.3
        with_file_yaw = pose_label(pts, 120, 120, yaw_deg=33.0)
        assert with_file_yaw[0] == 33.0 and np.abs(with_file_yaw[1:] - pose[1:]).max() < 0.3
        # a 40-px face through a far longer lens: too little spread for SQPnP, solved all the same
        small = project(face, rvec, np.array([0.0, 0.0, 100 * 146 / 40 * 256]), 256, 256, focal=100 * 256)
        assert np.abs(pose_from_landmarks(small, face, 256, 256, 100 * 256) - pose).max() < 0.3


def test_an_unknown_pose_label_source_is_refused_with_the_choices():
    from efld_export.errors import EFLDError
    from efld_export.label import label_records

    with pytest.raises(EFLDError, match="3dmm"):
        label_records([], face_3d(), pose_labels="pnp")


def test_calibrated_pose_labels_raise_only_the_labelled_faces_pitch_by_the_labellers_offset():
    """3dmm_calibrated (the default) is 3dmm with LABELLER_PITCH_OFFSET added to the pitch; the points,
    yaw (the file's) and roll are the same."""
    from efld_export.data.record import Record
    from efld_export.label import LABELLER_PITCH_OFFSET, label_records

    _, pts = render_face(np.random.default_rng(7), 300, (20, 5, 0))

    def labels(kind):
        rec = Record(None, np.full((68, 2), np.nan), extra={"image": np.zeros((300, 300, 3), np.uint8),
                                                           "points21": aflw21_from_68(pts), "yaw_deg": 20.0})
        kept, report = label_records([rec], face_3d(), progress=False, pose_labels=kind)
        assert report["pose_labels"] == kind
        return kept[0][1]

    plain, calibrated, default = labels("3dmm"), labels("3dmm_calibrated"), label_records.__defaults__
    assert "3dmm_calibrated" in default and 2.0 < LABELLER_PITCH_OFFSET < 4.0
    assert np.array_equal(plain.points, calibrated.points)
    assert calibrated.pose[1] - plain.pose[1] == pytest.approx(LABELLER_PITCH_OFFSET)
    assert calibrated.pose[0] == plain.pose[0] == 20.0 and calibrated.pose[2] == plain.pose[2]


def test_with_the_3dmm_jaw_depth_the_teachers_jaw_joins_only_near_frontal_fits():
    """MediaPipe's jaw carries its own shallow depth: with jaw_depth 3dmm it pulls the labels' jaw only
    within 30 degrees of yaw; with the teacher's depth, at every yaw where the teacher weighs."""
    from efld_export.label import label_records, pool_shape_model

    records, _, teacher = _open_mouth_faces()
    moved = MeshTeacher([m.copy() for m in teacher.meshes])
    for m in moved.meshes:
        m[:17, 0] += 20.0  # the teacher's jaw 20 px off
    yaw = np.array([abs(r.extra["yaw_deg"]) for r in records])
    for depth, turned_moves in (("3dmm", False), ("teacher", True)):
        shape, _ = pool_shape_model(records, face_3d(), teacher, focal=1.0, jaw_depth=depth)  # one shape for both
        kw = dict(progress=False, shape_model=shape, focal=1.0, jaw_depth=depth)
        base, _ = label_records(records, face_3d(), teacher=teacher, **kw)
        pulled, _ = label_records(records, face_3d(), teacher=moved, **kw)
        shift = np.array([np.abs(p.points[:17] - b.points[:17]).mean() for (_, p), (_, b) in zip(pulled, base)])
        assert (shift[yaw <= 25] > 0.5).all()
        turned = (yaw > 30) & (yaw <= 45)  # the teacher weighs 0.1 up to 45 degrees
        assert turned.any() and ((shift[turned] > 0.5).all() if turned_moves else (shift[turned] < 1e-6).all())
