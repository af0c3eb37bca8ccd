import numpy as np
import pytest

from efld_export import metrics
from efld_export.errors import EFLDError
from efld_export.features import features, pairwise_distances, parse_ratio, ratio


def _square_face(side=100.0):
    pts = np.zeros((68, 2))
    pts[:, 0] = np.linspace(0, side, 68)
    pts[:, 1] = np.linspace(0, side, 68)[::-1]
    return pts


def test_nme_bbox_and_interocular_values():
    gt = _square_face()[None]
    pred = gt + np.array([3.0, 4.0])  # every point 5 px off
    assert metrics.nme_bbox(pred, gt)[0] == pytest.approx(5 / 100)
    io = np.linalg.norm(gt[0, 36] - gt[0, 45])
    assert metrics.nme_interocular(pred, gt)[0] == pytest.approx(5 / io)


def test_nme_by_region_shows_where_the_error_is():
    from efld_export.evaluate import compute_metrics

    gt = np.stack([_square_face(), _square_face(200.0)])
    pred = gt.copy()
    pred[:, 0:17] += [6.0, 8.0]  # only the jaw is off, by 10 px
    by_region = metrics.nme_bbox_by_region(pred, gt)
    assert by_region["jaw"] == pytest.approx([10 / 100, 10 / 200])
    assert all(np.all(e == 0) for name, e in by_region.items() if name != "jaw")
    # the regions' point-weighted mean is the whole face's NME
    n = {name: len(idx) for name, idx in metrics.REGIONS.items()}
    assert sum(by_region[k] * n[k] for k in n) / 68 == pytest.approx(metrics.nme_bbox(pred, gt))
    rep = compute_metrics(pred, gt, None, np.array([[10.0, 0, 0], [70.0, 0, 0]]))
    assert rep["nme_bbox_by_region"]["jaw"]["yaw_60_90"] == pytest.approx(5.0)
    assert rep["nme_bbox_by_region"]["eyes"]["mean_of_bins"] == 0.0


def test_jaw_forward_offset_is_signed_towards_the_turn():
    """A face turned by +yaw looks to the image's left (AFLW2000-3D's sign): a jaw drawn 6 px left of
    the truth there is 6 px forward; the same jaw on a face turned the other way is 6 px back."""
    from efld_export.evaluate import compute_metrics

    gt = np.stack([_square_face(), _square_face()])
    pred = gt.copy()
    pred[:, 0:17, 0] -= 6.0
    pred[:, 17:, 0] += 50.0  # the rest of the face does not count
    assert metrics.jaw_forward_offset(pred, gt, np.array([40.0, -40.0])) == pytest.approx([0.06, -0.06])
    rep = compute_metrics(pred, gt, None, np.array([[40.0, 0, 0], [70.0, 0, 0]]))
    assert rep["jaw_forward_offset"]["yaw_30_60"] == pytest.approx(6.0)
    assert "jaw_forward_offset" not in compute_metrics(pred, gt, None, None)


def test_ced_auc_and_failure_rate():
    fr, auc = metrics.ced_auc(np.zeros(10))
    assert fr == 0 and auc == pytest.approx(1.0, abs=1e-3)
    fr, auc = metrics.ced_auc(np.array([0.05, 0.2]))
    assert fr == 0.5 and auc == pytest.approx(0.25, abs=1e-2)


def test_yaw_bins_and_pose_mae_skip_broken_poses():
    vals = np.array([1.0, 2.0, 3.0, 5.0])
    out = metrics.yaw_binned(vals, np.array([10.0, -45.0, 75.0, 95.0]))
    assert out["yaw_0_30"] == 1 and out["yaw_30_60"] == 2 and out["yaw_60_90"] == 4
    assert out["mean_of_bins"] == pytest.approx(7 / 3)
    mae = metrics.pose_mae(np.array([[10.0, 0, 0], [0, 0, 0]]), np.array([[0.0, 0, 0], [150.0, 0, 0]]))
    assert mae["n"] == 1 and mae["yaw"] == 10


def test_pose_mae_reports_the_signed_bias_wrapped_and_per_yaw_bin():
    gt = np.array([[10.0, 0, 0], [50.0, 0, 0], [80.0, 0, 95]])
    pred = gt + [[0, -4, 2], [0, -4, -2], [0, -4, -270]]  # the last roll, -175 against 95, is 90 off
    mae = metrics.pose_mae(pred, gt)
    assert mae["bias"]["pitch"] == pytest.approx(-4) and mae["bias"]["roll"] == pytest.approx(30)
    assert mae["roll"] == pytest.approx(94 / 3)
    assert mae["mean_by_yaw_bin"]["yaw_0_30"] == pytest.approx(2) and mae["mean_by_yaw_bin"]["yaw_60_90"] == pytest.approx(94 / 3)
    by = mae["by_yaw_bin"]
    assert by["pitch"]["yaw_30_60"] == pytest.approx(4) and by["roll"]["yaw_60_90"] == pytest.approx(90)
    assert by["yaw"]["mean_of_bins"] == 0 and by["roll"]["mean_of_bins"] == pytest.approx(94 / 3)


def test_geodesic_error_is_the_rotation_between_poses_not_the_euler_split():
    # Pure yaw or pure roll offsets: the rotation angle is the offset itself.
    gt = np.array([[10.0, 0, 0], [0, 0, 20]])
    assert metrics.geodesic_deg(gt + [[5, 0, 0], [0, 0, -7]], gt) == pytest.approx([5, 7], abs=1e-6)
    # Near profile, pitch +20 and roll +20 differ from (pitch 0, roll 0) by far less than 20 degrees
    # of rotation (the gimbal's coupling), while frontal the same Euler offsets are a large rotation.
    profile = metrics.geodesic_deg(np.array([[85.0, 20, 20]]), np.array([[85.0, 0, 0]]))[0]
    frontal = metrics.geodesic_deg(np.array([[0.0, 20, 20]]), np.array([[0.0, 0, 0]]))[0]
    assert profile < 3 and frontal > 25
    mae = metrics.pose_mae(np.array([[85.0, 20, 20]]), np.array([[85.0, 0, 0]]))
    assert mae["pitch"] == 20 and mae["geodesic"]["mean"] == pytest.approx(profile)


def test_pose_errors_per_face_average_to_pose_mae_and_mark_broken_poses():
    rng = np.random.default_rng(0)
    gt = rng.uniform(-80, 80, (40, 3))
    gt[3, 1] = 150.0                                  # a broken pose: left out of both
    pred = gt + rng.normal(0, 5, gt.shape)
    pred[7, 0] = gt[7, 0] + 359.0                     # wraps to -1 degree
    per_face = metrics.pose_errors(pred, gt)
    assert np.isnan(per_face[3]) and np.isfinite(np.delete(per_face, 3)).all()
    assert per_face[7] < 6
    assert np.nanmean(per_face) == pytest.approx(metrics.pose_mae(pred, gt)["mean"])


def _bins_yaw(n: int, rng: np.random.Generator) -> np.ndarray:
    return rng.choice([10.0, -45.0, 75.0], n, p=[0.6, 0.25, 0.15])


def test_paired_bootstrap_figures_are_the_reports_and_a_shared_offset_cancels():
    rng = np.random.default_rng(1)
    yaw = _bins_yaw(600, rng)
    a = rng.gamma(2.0, 2.5, 600) * (1 + (np.abs(yaw) > 60))   # profiles twice as hard
    b = a - 0.05                                             # better by 0.05 on every face
    res = metrics.paired_bootstrap(a, b, yaw)
    assert res["a"] == pytest.approx(metrics.yaw_binned(a, yaw)["mean_of_bins"])
    assert res["b"] == pytest.approx(metrics.yaw_binned(b, yaw)["mean_of_bins"])
    assert res["difference"] == pytest.approx(-0.05)
    # Face-to-face spread is large (std ~4), yet the pairing sees the same faces: the interval is exact.
    assert res["ci95"] == pytest.approx([-0.05, -0.05]) and res["share_b_lower"] == 1.0
    overall = metrics.paired_bootstrap(a, b, yaw, by_bin=False)
    assert overall["a"] == pytest.approx(a.mean()) and overall["figure"] == "mean"
    same = metrics.paired_bootstrap(a, a.copy(), yaw)
    assert same["difference"] == 0 and same["ci95"] == [0.0, 0.0] and same["share_b_lower"] == 0.0


def test_paired_bootstrap_interval_holds_zero_for_noise_and_not_for_a_real_gain():
    rng = np.random.default_rng(2)
    yaw = _bins_yaw(800, rng)
    a = rng.gamma(2.0, 2.5, 800)
    noise = a + rng.normal(0, 1.0, 800)              # no true difference, only per-face noise
    gain = a - 0.3 + rng.normal(0, 1.0, 800)         # a true gain of 0.3 under the same noise
    lo, hi = metrics.paired_bootstrap(a, noise, yaw, seed=3)["ci95"]
    assert lo < 0 < hi and hi - lo < 0.4
    res = metrics.paired_bootstrap(a, gain, yaw, seed=3)
    assert res["ci95"][1] < 0 and res["share_b_lower"] > 0.99
    # The same seed draws the same faces: the report is reproducible.
    assert metrics.paired_bootstrap(a, gain, yaw, seed=3) == res


def test_paired_bootstrap_leaves_out_missing_faces_and_works_without_yaw():
    rng = np.random.default_rng(4)
    a, b = rng.gamma(2.0, 2.5, 50), rng.gamma(2.0, 2.5, 50)
    a[[0, 5]] = np.nan
    res = metrics.paired_bootstrap(a, b, None, resamples=200)
    assert res["n"] == 48 and res["figure"] == "mean" and res["resamples"] == 200
    assert res["b"] == pytest.approx(np.delete(b, [0, 5]).mean())
    with pytest.raises(ValueError, match="no face"):
        metrics.paired_bootstrap(np.full(3, np.nan), np.ones(3), None)


def test_features_formulas():
    pts = np.zeros((68, 2))
    pts[36], pts[45] = [0, 0], [60, 0]
    pts[30] = [30, 30]
    pts[48], pts[54] = [10, 50], [50, 50]
    f = features(pts)
    assert f["d:right_eye_outer-left_eye_outer"] == pytest.approx(60)
    assert f["d:nose_tip-mouth_right"] == pytest.approx(np.hypot(20, 20))
    assert f["eye_over_nose_mouth"] == pytest.approx(60 / 20)  # mouth centre (30, 50)
    assert len(pairwise_distances(pts)) == 10
    num, den = parse_ratio("nose_tip-mouth_left/right_eye_outer-left_eye_outer")
    assert ratio(pts, num, den) == pytest.approx(np.hypot(20, 20) / 60)


def test_ratios_are_scale_and_rotation_invariant():
    rng = np.random.default_rng(0)
    pts = rng.uniform(0, 100, (68, 2))
    a = np.radians(33)
    rot = np.array([[np.cos(a), -np.sin(a)], [np.sin(a), np.cos(a)]])
    moved = 2.7 * pts @ rot.T + 40
    f1, f2 = features(pts), features(moved)
    assert f2["eye_over_nose_mouth"] == pytest.approx(f1["eye_over_nose_mouth"])
    assert f2["d:nose_tip-mouth_left"] == pytest.approx(2.7 * f1["d:nose_tip-mouth_left"])


def test_features_bad_input():
    with pytest.raises(EFLDError, match="68x2"):
        features(np.zeros((5, 2)))
    with pytest.raises(EFLDError, match="unknown point"):
        ratio(np.ones((68, 2)), ("chin", "nose_tip"), ("nose_tip", "mouth_left"))
    with pytest.raises(EFLDError, match="must look like"):
        parse_ratio("nonsense")
