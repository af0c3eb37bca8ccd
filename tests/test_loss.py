import math

import numpy as np
import pytest
import torch

from efld_export.errors import ConfigError
from efld_export.loss import (CLASSES, LossConfig, angle_term, attributes, class_weights, efld_loss,
                              landmark_distance, sample_weights, yaw_bin_weights)


def test_a_sample_with_no_attribute_still_has_a_nonzero_weight():
    attrs = np.stack([attributes(np.array([0.0, 0.0, 0.0]), False), attributes(np.array([70.0, 0.0, 0.0]), True)])
    assert attrs[0].tolist() == [True, False, False, False, False]
    w_c, freq = class_weights(attrs)
    weights = sample_weights(attrs, w_c)
    assert (weights > 0).all()


def test_weights_come_from_whole_set_frequencies_not_the_batch():
    rng = np.random.default_rng(0)
    poses = np.column_stack([rng.choice([0.0, 80.0], 1000, p=[0.9, 0.1]), np.zeros(1000), np.zeros(1000)])
    attrs = np.stack([attributes(p, False) for p in poses])
    w_c, freq = class_weights(attrs)
    assert freq[CLASSES.index("large_yaw")] == pytest.approx((poses[:, 0] > 0).mean())
    # a rare class weighs 1/frequency: 9x the common one here, whatever a batch holds
    ratio = w_c[CLASSES.index("large_yaw")] / w_c[CLASSES.index("regular")]
    assert ratio == pytest.approx(freq[0] / freq[1])
    # normalised so the mean sample weight over the whole set is 1
    assert sample_weights(attrs, w_c).mean() == pytest.approx(1.0)
    # a batch of only frontal faces keeps the set's weights (no renormalisation per batch)
    batch = attrs[poses[:, 0] == 0][:8]
    assert np.allclose(sample_weights(batch, w_c), w_c[0])


def test_yaw_balance_gives_each_protocol_bin_the_same_total_weight():
    yaw = np.r_[np.zeros(60), np.full(25, -45.0), np.full(15, 80.0)]  # sign does not matter: |yaw| bins
    factor, per_bin = yaw_bin_weights(yaw, 1.0)
    assert factor.mean() == pytest.approx(1.0)
    totals = [factor[np.abs(yaw) == v].sum() for v in (0, 45, 80)]
    assert totals == pytest.approx([100 / 3] * 3)
    assert per_bin["yaw_60_90"] / per_bin["yaw_0_30"] == pytest.approx(60 / 15)
    # 30 degrees belongs to the first bin, as in the protocol's binning
    assert yaw_bin_weights(np.array([30.0, 0.0, 50.0]), 1.0)[0][:2].tolist() == pytest.approx([0.75, 0.75])
    none, _ = yaw_bin_weights(yaw, 0.0)
    assert np.allclose(none, 1.0)


def test_angles_are_radians_inside_cos():
    pred = torch.tensor([[math.pi / 2, 0.0, 0.0]])
    gt = torch.zeros(1, 3)
    assert angle_term(pred, gt, torch.ones(1, 3, dtype=torch.bool)).item() == pytest.approx(1.0)
    # 10 degrees error -> 1 - cos(10 deg), not 1 - cos(10 rad)
    pred = torch.tensor([[math.radians(10), 0.0, 0.0]])
    assert angle_term(pred, gt, torch.ones(1, 3, dtype=torch.bool)).item() == pytest.approx(1 - math.cos(math.radians(10)), rel=1e-5)


def test_chord_pose_term_grows_with_the_absolute_error_and_keeps_the_weighting_cos():
    """chord = 2 sin(|e| / 2): about |e| for small errors, periodic (a full turn is no error), a finite
    gradient at 0; only the pose regression term changes, the landmark weighting keeps 1 - cos."""
    ones = torch.ones(1, 3, dtype=torch.bool)
    gt = torch.zeros(1, 3)
    for deg in (1.0, 10.0, 90.0):
        pred = torch.tensor([[math.radians(deg), 0.0, 0.0]])
        assert angle_term(pred, gt, ones, "chord").item() == pytest.approx(2 * math.sin(math.radians(deg) / 2), abs=1e-4)
    small = angle_term(torch.tensor([[0.02, 0.0, 0.0]]), gt, ones, "chord").item()
    assert small == pytest.approx(0.02, rel=1e-2) and small > 100 * angle_term(torch.tensor([[0.02, 0.0, 0.0]]), gt, ones).item()
    assert angle_term(torch.tensor([[2 * math.pi, 0.0, 0.0]]), gt, ones, "chord").item() < 1e-3
    pred = torch.zeros(1, 3, requires_grad=True)
    angle_term(pred, gt, ones, "chord").sum().backward()
    assert torch.isfinite(pred.grad).all()
    assert angle_term(torch.tensor([[1.0, 2.0, 3.0]]), torch.full((1, 3), float("nan")), torch.zeros(1, 3, dtype=torch.bool), "chord").item() == 0.0
    with pytest.raises(ValueError, match="pose_kind"):
        angle_term(pred, gt, ones, "l1")
    with pytest.raises(ConfigError, match="pose_kind"):  # a config's typo fails when it is read
        LossConfig(pose_kind="chrod")
    torch.manual_seed(2)
    pred_pts, pts, pred_pose, pose = torch.rand(3, 68, 2), torch.rand(3, 68, 2), torch.rand(3, 3), torch.rand(3, 3)
    mask, w = torch.ones(3, 68, dtype=torch.bool), torch.tensor([1.0, 2.0, 0.5])
    total, parts = efld_loss(pred_pts, pts, mask, pred_pose, pose, w, LossConfig(pose_kind="chord"))
    known = torch.ones(3, 3, dtype=torch.bool)
    lm = (w * (1 + angle_term(pred_pose, pose, known)) * landmark_distance(pred_pts, pts, mask, LossConfig())).mean()
    assert parts["pose"] == pytest.approx(angle_term(pred_pose, pose, known, "chord").mean().item(), rel=1e-6)
    assert total.item() == pytest.approx(lm.item() + parts["pose"], rel=1e-6)


def test_unknown_angles_and_points_do_not_count():
    pred = torch.tensor([[1.0, 2.0, 3.0]])
    gt = torch.tensor([[float("nan")] * 3])
    assert angle_term(pred, gt, ~torch.isnan(gt)).item() == 0.0
    p = torch.zeros(1, 68, 2)
    t = torch.ones(1, 68, 2)
    mask = torch.zeros(1, 68, dtype=torch.bool)
    mask[0, :34] = True
    d = landmark_distance(p, t, mask, LossConfig())
    assert d.item() == pytest.approx(2.0 * 68)  # mean over known points, scaled to 68 points


def test_total_loss_matches_the_formula_and_offset_keeps_landmark_term_alive():
    torch.manual_seed(0)
    pred_pts, pts = torch.rand(4, 68, 2), torch.rand(4, 68, 2)
    mask = torch.ones(4, 68, dtype=torch.bool)
    pose = torch.zeros(4, 3)
    w = torch.tensor([1.0, 2.0, 0.5, 1.0])
    cfg = LossConfig(offset=1.0, pose_weight=0.0)
    total, _ = efld_loss(pred_pts, pts, mask, pose.clone(), pose, w, cfg)
    d = ((pred_pts - pts) ** 2).sum(-1).sum(1)
    assert total.item() == pytest.approx((w * d).mean().item(), rel=1e-5)
    literal, _ = efld_loss(pred_pts, pts, mask, pose.clone(), pose, w, LossConfig(offset=0.0, pose_weight=0.0))
    assert literal.item() == 0.0  # the fault the offset avoids


def test_wing_is_an_option():
    p, t = torch.zeros(2, 68, 2), torch.full((2, 68, 2), 0.01)
    mask = torch.ones(2, 68, dtype=torch.bool)
    assert landmark_distance(p, t, mask, LossConfig(kind="wing")).gt(0).all()
    with pytest.raises(ValueError):
        landmark_distance(p, t, mask, LossConfig(kind="nope"))


def test_distillation_mixes_label_and_teacher_terms_by_alpha():
    """alpha 0 is the labels' loss, alpha 1 ignores the labels' points and angles, and in between the
    loss is the linear mix; a teacher equal to the labels changes nothing."""
    torch.manual_seed(1)
    pred_pts, pts, t_pts = torch.rand(3, 68, 2), torch.rand(3, 68, 2), torch.rand(3, 68, 2)
    pred_pose, pose, t_pose = torch.rand(3, 3), torch.rand(3, 3), torch.rand(3, 3)
    mask, w, cfg = torch.ones(3, 68, dtype=torch.bool), torch.tensor([1.0, 2.0, 0.5]), LossConfig(kind="wing")
    plain, _ = efld_loss(pred_pts, pts, mask, pred_pose, pose, w, cfg)
    assert efld_loss(pred_pts, pts, mask, pred_pose, pose, w, cfg, (t_pts, t_pose), 0.0)[0].item() == pytest.approx(plain.item())
    assert efld_loss(pred_pts, pts, mask, pred_pose, pose, w, cfg, (pts, pose), 0.7)[0].item() == pytest.approx(plain.item())
    full = efld_loss(pred_pts, pts, mask, pred_pose, pose, w, cfg, (t_pts, t_pose), 1.0)[0]
    moved = efld_loss(pred_pts, pts + 0.3, mask, pred_pose, pose, w, cfg, (t_pts, t_pose), 1.0)[0]
    assert moved.item() == pytest.approx(full.item())  # the labels' points no longer count
    geo = angle_term(pred_pose, pose, torch.ones_like(pose, dtype=torch.bool))
    t_geo = angle_term(pred_pose, t_pose, torch.ones_like(pose, dtype=torch.bool))
    expect = (w * (1 + geo) * landmark_distance(pred_pts, t_pts, mask, cfg)).mean() + t_geo.mean()
    assert full.item() == pytest.approx(expect.item(), rel=1e-6)  # the rare-sample geometry stays the labels'
    half = efld_loss(pred_pts, pts, mask, pred_pose, pose, w, cfg, (t_pts, t_pose), 0.5)[0]
    assert half.item() == pytest.approx(0.5 * (plain.item() + full.item()), rel=1e-6)


def test_a_teacher_without_its_jaw_leaves_the_jaw_to_the_labels():
    """distill.jaw false: at the jaw the teacher's term takes the labels, so a teacher that differs from
    the labels only at the jaw changes nothing, and one that differs inside the face still counts."""
    torch.manual_seed(2)
    pred_pts, pts = torch.rand(2, 68, 2), torch.rand(2, 68, 2)
    pred_pose, pose = torch.rand(2, 3), torch.rand(2, 3)
    mask, w, cfg = torch.ones(2, 68, dtype=torch.bool), torch.ones(2), LossConfig()
    inner = torch.ones(68, dtype=torch.bool)
    inner[:17] = False
    plain, _ = efld_loss(pred_pts, pts, mask, pred_pose, pose, w, cfg)
    jaw_only = pts.clone()
    jaw_only[:, :17] += 0.5
    args = (pred_pts, pts, mask, pred_pose, pose, w, cfg, (jaw_only, pose), 0.5)
    assert efld_loss(*args, inner)[0].item() == pytest.approx(plain.item())
    assert efld_loss(*args)[0].item() > plain.item() + 1e-3
    inside = pts.clone()
    inside[:, 30] += 0.5
    assert efld_loss(pred_pts, pts, mask, pred_pose, pose, w, cfg, (inside, pose), 0.5, inner)[0].item() > plain.item() + 1e-3
