import numpy as np
import pytest

from efld_export.crop import crop_matrix, transform_points
from efld_export.label import label_from_21
from efld_export.landmarks import aflw21_from_68
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
    lab = label_from_21(p21, face_3d(), 400, 400, yaw_deg=48.0)
    assert lab is not None and lab.fit_error < 1e-3
    assert np.abs(lab.points - pts).max() < 0.5
    assert lab.pose[0] == 48.0
    assert label_from_21(np.full((21, 2), np.nan), face_3d(), 400, 400) is None


def test_teacher_mix_by_yaw_corrects_the_teacher_with_human_points():
    from efld_export.data.record import Record
    from efld_export.label import label_records, teacher_weight
    from efld_export.runtime import Prediction

    assert teacher_weight(10) == 1.0 and teacher_weight(-45) == 0.5 and teacher_weight(80) == 0.0
    rng = np.random.default_rng(5)
    records, truths = [], []
    for yaw in (10.0, 45.0, 75.0):
        img, pts = render_face(rng, 300, (yaw, 0, 0))
        p21 = aflw21_from_68(pts)
        records.append(Record(None, np.full((68, 2), np.nan), extra={"image": img, "points21": p21, "yaw_deg": yaw}))
        truths.append(pts)

    class ShiftedTeacher:
        """Knows the true shape but puts it 7 px off: the human points must pull it back."""

        def predict_batch(self, faces):
            return [Prediction(t + 7.0, None) for t in truths]

    rigid, _ = label_records(records, face_3d(), progress=False)
    rigid_pts = [lab.points.copy() for _, lab in rigid]
    mixed, report = label_records(records, face_3d(), progress=False, teacher=ShiftedTeacher())
    assert "teacher" in report["method"]
    for (rec, lab), truth, r in zip(mixed, truths, rigid_pts):
        w = teacher_weight(rec.extra["yaw_deg"])
        assert np.allclose(lab.points, w * truth + (1 - w) * r, atol=1e-3)
