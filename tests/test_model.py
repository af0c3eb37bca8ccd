import pytest
import torch
from torch import nn

from efld_export.models import create_model
from efld_export.models.mobilenetv3 import HardSwish


@pytest.mark.parametrize("act,layer", [("relu", nn.ReLU), ("hswish", HardSwish), ("hswish_native", nn.Hardswish), ("relu6", nn.ReLU6)])
def test_outputs_and_activation(act, layer):
    m = create_model(width=0.35, act=act).eval()
    lm, pose = m(torch.rand(2, 3, 112, 112))
    assert lm.shape == (2, 136) and pose.shape == (2, 3)
    assert any(isinstance(x, layer) for x in m.modules())
    if not act.startswith("hswish"):
        assert not any(isinstance(x, nn.Hardswish) for x in m.modules())


def test_width_multiplier_scales_the_model():
    n = lambda w: sum(p.numel() for p in create_model(width=w).parameters())  # noqa: E731
    assert n(0.35) < n(0.5) < n(1.0)


def test_multi_scale_fusion_uses_three_strides():
    m = create_model(width=0.5)
    feats = m.backbone(torch.rand(1, 3, 112, 112))
    assert [f.shape[-1] for f in feats] == [14, 7, 7]  # strides 8, 16, and the last stage
    assert m.landmarks.in_features == sum(m.backbone.channels[:2]) + m.s3[0].out_channels


def test_unknown_model_or_activation():
    with pytest.raises(ValueError, match="unknown model"):
        create_model("nope")
    with pytest.raises(ValueError, match="unknown activation"):
        create_model(act="gelu")


def test_pose_head_from_landmarks_reads_the_predicted_points():
    m = create_model(width=0.35, pose_from="landmarks").eval()
    x = torch.rand(2, 3, 112, 112)
    lm, pose = m(x)
    assert pose.shape == (2, 3) and m.pose[0].in_features == 136
    assert torch.allclose(pose, m.pose(lm))  # a function of the landmarks alone
    with pytest.raises(ValueError, match="pose_from"):
        create_model(pose_from="pixels")


def run_seeing_fused(m: nn.Module) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Landmarks, pose and the fused vector the landmark layer read, for a batch of two random crops."""
    seen = []
    m.landmarks.register_forward_hook(lambda mod, inp, out: seen.append(inp[0]))
    lm, pose = m(torch.rand(2, 3, 112, 112))
    (fused,) = seen
    return lm, pose, fused


def test_pose_head_from_fused_reads_what_the_landmark_layer_reads():
    m = create_model(width=0.35, pose_from="fused").eval()
    lm, pose, fused = run_seeing_fused(m)
    assert fused.shape == (2, m.landmarks.in_features) and m.pose[0].in_features == m.landmarks.in_features
    assert torch.allclose(pose, m.pose(fused)) and torch.allclose(lm, m.landmarks(fused))


def test_pose_head_from_landmarks_and_fused_reads_both():
    m = create_model(width=0.35, pose_from="landmarks+fused").eval()
    lm, pose, fused = run_seeing_fused(m)
    assert m.pose[0].in_features == 136 + m.landmarks.in_features
    assert torch.allclose(pose, m.pose(torch.cat([lm, fused], 1)))


def test_pose_mirror_gives_mirrored_points_the_mirrored_pose_and_adds_no_weights():
    """The mirror-averaged head is exactly symmetric: the mirror image of the points (flip permutation, x -> 1 - x)
    reads as the same pose with yaw and roll negated, in training too; a plain head's weights load unchanged."""
    from efld_export.landmarks import FLIP_PERM

    torch.manual_seed(2)
    plain = create_model(width=0.35, pose_from="landmarks")
    m = create_model(width=0.35, pose_from="landmarks", pose_mirror=True)
    m.load_state_dict(plain.state_dict())
    points = torch.rand(3, 68, 2)
    mirrored = points[:, FLIP_PERM].clone()
    mirrored[..., 0] = 1 - mirrored[..., 0]
    for mode in (True, False):
        m.train(mode)
        pose, pose_m = m.read_pose(points.reshape(3, 136)), m.read_pose(mirrored.reshape(3, 136))
        assert torch.allclose(pose_m * torch.tensor([-1.0, 1.0, -1.0]), pose, atol=1e-6)
    plain.eval()
    unflip = torch.tensor([-1.0, 1.0, -1.0])
    both = 0.5 * (plain.pose(points.reshape(3, 136)) + plain.pose(mirrored.reshape(3, 136)) * unflip)
    assert torch.allclose(m.read_pose(points.reshape(3, 136)), both, atol=1e-6)
    with pytest.raises(ValueError, match="pose_mirror"):
        create_model(pose_from="fused", pose_mirror=True)


def test_pose_head_without_the_jaw_ignores_the_jaw_points():
    torch.manual_seed(3)
    m = create_model(width=0.35, pose_from="landmarks", pose_jaw=False, pose_mirror=True).eval()
    points = torch.rand(2, 136)
    moved = points.clone()
    moved[:, :34] = torch.rand(2, 34)  # the jaw's 17 points
    assert torch.equal(m.read_pose(points), m.read_pose(moved))
    moved[:, 34:36] += 0.1  # the first brow point
    assert not torch.allclose(m.read_pose(points), m.read_pose(moved))
    assert m.pose[1].in_features == 102
    with pytest.raises(ValueError, match="pose_jaw"):
        create_model(pose_from="fused", pose_jaw=False)


def test_folding_a_dead_squeeze_keeps_the_output_and_gives_its_tensor_a_range():
    from efld_export.export.fold import fold_dead_squeezes
    from efld_export.models.mobilenetv3 import SqueezeExcite

    torch.manual_seed(0)
    m = create_model(width=0.35).eval()
    se = [mod for mod in m.modules() if isinstance(mod, SqueezeExcite)]
    with torch.no_grad():
        se[2].fc1.bias.fill_(-1e3)  # dead on every input
    x = torch.rand(4, 3, 112, 112)
    before = m(x)
    assert fold_dead_squeezes(m, x) == [n for n, mod in m.named_modules() if mod is se[2]]
    after = m(x)
    assert all(torch.allclose(a, b, atol=1e-5) for a, b in zip(before, after))
    assert float(se[2].act(se[2].fc1(x.new_zeros(1, se[2].fc1.in_channels, 1, 1))).min()) == 1.0
    assert fold_dead_squeezes(m, x) == []  # nothing dead any more


def test_flip_test_averages_the_face_with_its_mirror_image():
    from efld_export.landmarks import FLIP_PERM

    torch.manual_seed(0)
    m = create_model(width=0.35, pose_from="landmarks", flip_test=True).eval()
    x = torch.rand(3, 3, 112, 112)
    lm, pose = m(x)
    lm1, pose1 = m.single(x)
    lm2, pose2 = m.single(torch.flip(x, [3]))
    back = lm2.view(3, 68, 2)[:, FLIP_PERM].clone()
    back[..., 0] = 1 - back[..., 0]
    assert torch.allclose(lm, (lm1 + back.reshape(3, 136)) / 2, atol=1e-6)
    assert torch.allclose(pose, (pose1 + pose2 * torch.tensor([-1.0, 1.0, -1.0])) / 2, atol=1e-6)
    assert not torch.allclose(lm, lm1, atol=1e-4)  # the mirror changed the answer


def test_flip_test_gives_a_mirror_image_the_mirrored_answer():
    """A face and its mirror image get mirrored points and pose: the averaged model is exactly symmetric."""
    from efld_export.landmarks import FLIP_PERM

    torch.manual_seed(1)
    m = create_model(width=0.35, pose_from="landmarks", flip_test=True).eval()
    x = torch.rand(2, 3, 112, 112)
    lm, pose = m(x)
    lm_m, pose_m = m(torch.flip(x, [3]))
    mirrored = lm_m.view(2, 68, 2)[:, FLIP_PERM].clone()
    mirrored[..., 0] = 1 - mirrored[..., 0]
    assert torch.allclose(mirrored.reshape(2, 136), lm, atol=1e-5)
    assert torch.allclose(pose_m * torch.tensor([-1.0, 1.0, -1.0]), pose, atol=1e-5)


def same_in_training(a: nn.Module, b: nn.Module, x: torch.Tensor) -> bool:
    """Whether two models give the same outputs in a training-mode pass from the same seed."""
    a.train(), b.train()
    torch.manual_seed(0)
    out_a = a(x)
    torch.manual_seed(0)
    return all(torch.equal(u, v) for u, v in zip(out_a, b(x)))


def test_flip_test_is_off_in_training_and_adds_no_weights():
    torch.manual_seed(0)
    plain, flip = create_model(width=0.35), create_model(width=0.35, flip_test=True)
    assert flip.state_dict().keys() == plain.state_dict().keys()  # old checkpoints load, the switch is free
    flip.load_state_dict(plain.state_dict())
    assert same_in_training(plain, flip, torch.rand(2, 3, 112, 112))


def test_templates_start_at_the_checkpoint_function_and_then_read_layout():
    """A checkpoint without templates loads into a model with them and computes the same; once their layer
    is non-zero, moving a feature within the stride-8 map changes the landmarks (a global mean would not)."""
    from efld_export.train import init_weights

    torch.manual_seed(0)
    plain = create_model(width=0.35, pose_from="landmarks").eval()
    fine = create_model(width=0.35, pose_from="landmarks", templates=2).eval()
    assert init_weights(fine, plain.state_dict()) == ["landmarks_fine.weight", "templates1.0.weight",
                                                      "templates1.1.bias", "templates1.1.num_batches_tracked",
                                                      "templates1.1.running_mean", "templates1.1.running_var",
                                                      "templates1.1.weight", "templates2.0.weight",
                                                      "templates2.1.bias", "templates2.1.num_batches_tracked",
                                                      "templates2.1.running_mean", "templates2.1.running_var",
                                                      "templates2.1.weight"]
    x = torch.rand(2, 3, 112, 112)
    with torch.no_grad():
        assert all(torch.equal(a, b) for a, b in zip(plain(x), fine(x)))
        nn.init.normal_(fine.landmarks_fine.weight)
        f1 = torch.zeros(1, fine.backbone.channels[0], 14, 14)
        f1[..., 2, 3] = 1.0
        shifted = f1.roll(5, dims=-1)
        t = lambda f: fine.landmarks_fine(torch.cat([fine.templates1(f).flatten(1),  # noqa: E731
                                                     torch.zeros(1, fine.templates2[0].out_channels)], 1))
        assert f1.mean() == shifted.mean() and not torch.allclose(t(f1), t(shifted))


def test_profile_pose_calibration_shrinks_only_the_ill_conditioned_combination():
    """Along the ramp, pitch + sign(yaw) * roll is scaled towards k, pitch - sign(yaw) * roll and yaw stay;
    at 40 degrees nothing changes; a training-mode pass is never calibrated."""
    import math

    m = create_model(width=0.35, pose_from="landmarks", pose_profile_keep=0.5).eval()
    deg = torch.tensor([[80.0, 30.0, 10.0], [-80.0, 30.0, 10.0], [67.5, 20.0, 0.0], [40.0, 25.0, -15.0]])
    out = torch.rad2deg(m.calibrate_profile_pose(torch.deg2rad(deg)))
    s = torch.sign(deg[:, 0])
    ill = lambda p: p[:, 1] + s * p[:, 2]  # noqa: E731
    fine = lambda p: p[:, 1] - s * p[:, 2]  # noqa: E731
    assert torch.allclose(out[:, 0], deg[:, 0])
    assert torch.allclose(fine(out), fine(deg), atol=1e-4)
    ramp = torch.sigmoid((deg[:, 0].abs() - 67.5) * 4.4 / 15)  # 0.1 at 60 degrees, 0.9 at 75
    assert torch.allclose(ill(out), ill(deg) * (1 - 0.5 * ramp), atol=1e-3)
    assert abs(ramp[2] - 0.5) < 1e-6 and ramp[0] > 0.97 and ramp[3] < 1e-3
    assert torch.allclose(out[3], deg[3], atol=0.01)
    x = torch.rand(2, 3, 112, 112)
    plain = create_model(width=0.35, pose_from="landmarks").eval()
    plain.load_state_dict(m.state_dict())
    with torch.no_grad():
        (pa, qa), (pb, qb) = plain(x), m(x)
        assert torch.equal(pa, pb)
        near = (qa[:, 0].abs() < math.radians(60)).all()
        assert torch.allclose(qa, qb) if near else not torch.allclose(qa, qb)
    assert same_in_training(plain, m, x)
    with pytest.raises(ValueError, match="pose_profile_keep"):
        create_model(pose_profile_keep=1.5)


def test_pose_detach_keeps_the_pose_terms_gradient_off_the_landmarks_only():
    torch.manual_seed(0)
    plain = create_model(width=0.35, pose_from="landmarks")
    detached = create_model(width=0.35, pose_from="landmarks", pose_detach=True)
    detached.load_state_dict(plain.state_dict())
    x = torch.randn(2, 3, 112, 112)
    grads = {}
    for name, net in (("plain", plain), ("detached", detached)):
        net.train()
        points, pose = net(x)
        pose.square().sum().backward()
        grads[name] = (net.landmarks.weight.grad, net.pose[0].weight.grad, points.detach(), pose.detach())
    assert grads["plain"][0] is not None and grads["plain"][0].abs().sum() > 0
    assert grads["detached"][0] is None or grads["detached"][0].abs().sum() == 0
    assert grads["detached"][1].abs().sum() > 0                     # the head still learns
    assert torch.allclose(grads["plain"][2], grads["detached"][2])  # the same answers, only the gradient differs
    assert torch.allclose(grads["plain"][3], grads["detached"][3])


def test_pose_input_noise_acts_in_training_only():
    """The noise reaches the pose head in a training pass and never in eval; the landmarks are untouched."""
    torch.manual_seed(0)
    plain = create_model(width=0.35, pose_from="landmarks")
    noisy = create_model(width=0.35, pose_from="landmarks", pose_input_noise=0.05)
    noisy.load_state_dict(plain.state_dict())
    x = torch.rand(2, 3, 112, 112)
    plain.eval(), noisy.eval()
    with torch.no_grad():
        assert all(torch.equal(u, v) for u, v in zip(plain(x), noisy(x)))
    plain.train(), noisy.train()
    torch.manual_seed(1)
    (pa, qa) = plain(x)
    torch.manual_seed(1)
    (pb, qb) = noisy(x)
    assert torch.equal(pa, pb) and not torch.allclose(qa, qb)
    with pytest.raises(ValueError, match="pose_input_noise"):
        create_model(pose_from="fused", pose_input_noise=0.05)


def test_antialias_blurs_the_first_n_strided_layers_and_loads_a_plain_checkpoint():
    """antialias=N swaps the first N of the four stride-2 convolutions, no others; the state dict keeps the
    plain model's names and shapes, so a checkpoint without it loads strictly."""
    from efld_export.models.mobilenetv3 import AntiAliasedConv2d

    plain = create_model(width=0.35)
    for n in range(5):
        m = create_model(width=0.35, antialias=n)
        blurred = [mod for mod in m.modules() if isinstance(mod, AntiAliasedConv2d)]
        assert len(blurred) == n and all(mod.stride == (2, 2) for mod in blurred)
        m.load_state_dict(plain.state_dict())  # strict


@pytest.mark.parametrize("groups,cin,cout,k", [(8, 8, 8, 3), (1, 3, 8, 3), (8, 8, 8, 5)])
def test_antialiased_conv_is_blur_then_strided_conv_and_ignores_the_pixel_grid(groups, cin, cout, k):
    """The folded kernel computes blur-then-convolution (inside the border), and a checkerboard, the finest
    pattern a pixel grid holds, gives the same output at either phase: the plain layer aliases it into a
    response that flips with a one-pixel shift."""
    from torch.nn import functional as F

    from efld_export.models.mobilenetv3 import AntiAliasedConv2d

    torch.manual_seed(0)
    aa = AntiAliasedConv2d(cin, cout, k, 2, k // 2, groups=groups, bias=False)
    x = torch.randn(1, cin, 28, 28)
    blurred = F.conv2d(F.pad(x, (1, 1, 1, 1)), aa.blur.expand(cin, 1, 3, 3), groups=cin)
    ref = F.conv2d(F.pad(blurred, (k // 2,) * 4), aa.weight, None, 2, 0, 1, groups)
    with torch.no_grad():
        assert torch.allclose(aa(x)[..., 2:-2, 2:-2], ref[..., 2:-2, 2:-2], atol=1e-5)
        board = ((torch.arange(28)[:, None] + torch.arange(28)) % 2).float().expand(1, cin, 28, 28)
        shifted = 1.0 - board  # the same pattern moved by one pixel
        inner = lambda conv, img: conv(img)[..., 2:-2, 2:-2]  # noqa: E731
        assert torch.allclose(inner(aa, board), inner(aa, shifted), atol=1e-5)
        plain = nn.Conv2d(cin, cout, k, 2, k // 2, groups=groups, bias=False)
        plain.weight.copy_(aa.weight)
        assert (inner(plain, board) - inner(plain, shifted)).abs().max() > 0.1
