"""The EFLD landmark network: MobileNetV3 backbone, multi-scale fusion, landmark and pose heads.

Multi-scale fusion as PFLD's S1/S2/S3: global-average-pooled stride-8 and stride-16 features
plus a full-size convolution over the last 7x7 map (keeps spatial layout), concatenated before
the 136-output landmark layer. The pose head (yaw, pitch, roll in radians) is trained as the
auxiliary task and kept in exported models, since users want head pose.

The pose head reads either the stride-16 features, average-pooled (`pose_from="features"`, v0.2.0
and earlier), or the predicted landmarks (`pose_from="landmarks"`): pooling throws away the layout
that roll and yaw are read from, while the 136 coordinates carry it (an MLP fitted to the frozen
v0.2.0 net's outputs: val pose MAE 6.72 from its landmarks against 7.05 from its features), or the
fused vector the landmark layer reads (`pose_from="fused"`): the landmarks are a linear function of
it, so it holds all they say about pose, and perhaps appearance they drop. Retrained on v0.8.0's frozen
net it did worse than the landmark-reading head (pose MAE 5.67 against 5.43; benchmarks/pose_fused.yaml).
`pose_from="landmarks+fused"` reads both, concatenated: refitted on v0.9.4's frozen net from its head (the fused
columns starting at zero) it read val at 4.783 against 4.795, too little to adopt (benchmarks/pose_head_both.yaml).

Mirror-averaged pose head (`pose_mirror=True`, landmark-reading head, training and eval): the head reads the
points and, through the 68-point flip permutation, their mirror image, and averages its two reads (yaw and
roll of the mirror's negated). A flip test of the head alone: no second pass of the network, one more pass of
a 3-layer MLP, no new weights. The head's own asymmetry is then averaged out: on v0.9.4, set after training,
it read val 0.04 degrees closer (benchmarks/README.md, "The pose head's mirror, inputs and start").

Pose head without the jaw (`pose_jaw=False`, landmark-reading head): the head reads the 51 inner points only.
On v0.9.4 the jaw's 17 predicted points cost most of what the predicted points cost the pose: with the true jaw in
its own points the head read val at 3.91 degrees, against 4.75 with its own and 3.85 with all the true points;
each inner region's true points gain 0.15-0.34. Yet the jaw says more than its error costs: a head trained from scratch
without it read val at 5.14 against 4.70 for the same head with it (an experiment, benchmarks/pose_head_nojaw.yaml).

Flip test (`flip_test=True`, in eval mode only): the face and its mirror image go through the network
as one batch of two, and the mirror's landmarks (through the 68-point flip permutation) and pose (yaw
and roll negated) are averaged with the face's. It is part of the graph, so the .pt, .onnx and .tflite
all give the same figures, for twice the compute (benchmarks/README.md). The mirror is a matrix product
with a constant permutation between two transposes: torch.flip exports as a negative-step Slice, which
onnx2tf 1.29 turned into a fully delegated TFLite graph with wrong outputs (val NME 21.8 against torch's
5.5), and a product on the width axis alone, which it could not convert.

Profile pose calibration (`pose_profile_keep=k`, eval mode only, 1.0 = off): as |yaw| nears 90 degrees,
pitch and roll turn about one axis, and only one combination of them stays observable; the other,
pitch + sign(yaw) * roll in AFLW2000-3D's convention, is ill-conditioned (about 1 / cos(yaw)). The head
reads it from predicted points, whose error it amplifies there: on val the head gives 3.96 degrees from the
true points and 5.20 from its own, and its read of that combination is spread wider than the truth (std
78 against 67 beyond 60 degrees). Beyond PROFILE_RAMP_DEG the graph keeps only k of it (a smooth ramp
by the predicted yaw, 10 % of the way from 1 to k at the first angle, 90 % at the second), leaving yaw
and the observable combination alone: the classical correction for a regressor reading noisy inputs, k
the slope of its output on clean inputs against its output on its own predictions, measured on the
training pool (benchmarks/pose_profile_keep.py).

Noisy pose-head inputs (`pose_input_noise=sigma`, training only, landmark-reading head): Gaussian noise of
sigma (crop units) on the points the head reads, so that it learns from inputs as noisy as an unseen face's
rather than its training faces' (the learned form of the profile calibration, for every angle; an
experiment, benchmarks/pose_head_noise.yaml).

The pose term kept off the landmarks (`pose_detach=True`, an experiment; the outputs are the same): the head's
input is detached, so the pose term trains the head alone and the landmark path learns from its own targets.
With the head frozen the pose term bent the landmarks instead (frontal NME 3.96 -> 4.08;
benchmarks/distill_consistency_pose_frozen.yaml). With the head training too it did not help: on two seeds
both NME and pose ended worse than without it (benchmarks/distill_consistency_pose_detach.yaml).

Anti-aliased strided layers (`antialias=N`, off in every shipped model): the first N of the backbone's four
stride-2 convolutions blur their input (mobilenetv3.AntiAliasedConv2d), against one pass's sensitivity to the
pixel grid; fine-tuned from v0.9.2 they scored worse (benchmarks/distill_antialias*.yaml).

Spatial templates (`templates=K`, off in every shipped model): the global means of the stride-8 and stride-16 maps keep
no layout, so the landmark layer reads position only from the 7x7 S3 branch at stride 16. K learned
spatial weightings per channel of each map (a depthwise convolution as large as the map: DEPTHWISE_CONV_2D
with a depth multiplier in TFLite, batch-normalised: unnormalised, their sums over 196 cells made a fine-tune
diverge; TEMPLATE_SCALE) give it stride-8 detail. Their own linear layer starts at zero, so a
checkpoint without them loads unchanged and computes exactly what it did: a fine-tune can test them.
"""
from __future__ import annotations

import math

import torch
from torch import nn

from ..crop import INPUT_SIZE
from ..landmarks import FLIP_PERM, GROUPS, NUM_POINTS
from .mobilenetv3 import ConvBNAct, MobileNetV3Small, activation


#: Initial scale of the batch-normalised templates. Adam moves each weight of a fresh layer by about
#: the learning rate per step whatever its gradient, so 320 unit-scale inputs moved the landmarks by a
#: quarter of the crop per step at lr 1e-3 (a fine-tune diverged); at 0.01 the path grows as it earns.
TEMPLATE_SCALE = 0.01
#: |yaw| in degrees where the profile pose calibration starts and where it is full.
PROFILE_RAMP_DEG = (60.0, 75.0)
#: Model arguments that change how the network trains, not what it computes: checkpoints that differ only in
#: these share one architecture (and can be averaged, average.py).
TRAINING_ONLY_ARGS = ("pose_input_noise", "pose_detach")
#: Model arguments fitted to one trained network after training (the profile pose calibration's k, measured on
#: its head's outputs): another network, an average of several among them, needs its own, so they do not
#: count as architecture either, and an average drops them.
CALIBRATION_ARGS = ("pose_profile_keep",)


class SkipJaw(nn.Module):
    """The (N, 136) points without the jaw's (its 17 points come first): a slice, STRIDED_SLICE in TFLite."""

    def forward(self, points: torch.Tensor) -> torch.Tensor:
        return points[:, 2 * len(GROUPS["jaw"]):]


class EFLDNet(nn.Module):
    def __init__(self, width: float = 0.5, act: str = "relu", se: bool = True, s3_channels: int = 128,
                 pose_hidden: int = 64, input_size: int = INPUT_SIZE, pose_from: str = "features",
                 flip_test: bool = False, templates: int = 0, pose_profile_keep: float = 1.0,
                 pose_input_noise: float = 0.0, antialias: int = 0, pose_detach: bool = False,
                 pose_mirror: bool = False, pose_jaw: bool = True):
        super().__init__()
        self.backbone = MobileNetV3Small(width, act, se, antialias)
        c1, c2, c3 = self.backbone.channels
        final = input_size // 16
        self.s3 = nn.Sequential(nn.Conv2d(c3, s3_channels, final, 1, 0, bias=False), nn.BatchNorm2d(s3_channels),
                                activation(act))
        self.landmarks = nn.Linear(c1 + c2 + s3_channels, NUM_POINTS * 2)
        self.templates = templates
        if templates:
            self.templates1 = nn.Sequential(nn.Conv2d(c1, c1 * templates, input_size // 8, groups=c1, bias=False),
                                            nn.BatchNorm2d(c1 * templates))
            self.templates2 = nn.Sequential(nn.Conv2d(c2, c2 * templates, final, groups=c2, bias=False),
                                            nn.BatchNorm2d(c2 * templates))
            self.landmarks_fine = nn.Linear((c1 + c2) * templates, NUM_POINTS * 2, bias=False)
            nn.init.zeros_(self.landmarks_fine.weight)
            for bn in (self.templates1[1], self.templates2[1]):
                nn.init.constant_(bn.weight, TEMPLATE_SCALE)
        if pose_from == "features":
            self.pose = nn.Sequential(ConvBNAct(c2, pose_hidden, 1, 1, act=act), nn.AdaptiveAvgPool2d(1),
                                      nn.Flatten(), nn.Linear(pose_hidden, pose_hidden), activation(act),
                                      nn.Linear(pose_hidden, 3))
        elif pose_from in ("landmarks", "fused", "landmarks+fused"):
            fused_width = c1 + c2 + s3_channels
            width = {"landmarks": NUM_POINTS * 2, "fused": fused_width, "landmarks+fused": NUM_POINTS * 2 + fused_width}
            width = width[pose_from]
            layers = [nn.Linear(width, 2 * pose_hidden), activation(act), nn.Linear(2 * pose_hidden, pose_hidden),
                      activation(act), nn.Linear(pose_hidden, 3)]
            if not pose_jaw:
                if pose_from != "landmarks":
                    raise ValueError(f"pose_jaw=False needs pose_from='landmarks', got {pose_from!r}")
                layers[0] = nn.Linear(width - 2 * len(GROUPS["jaw"]), 2 * pose_hidden)
                layers.insert(0, SkipJaw())
            self.pose = nn.Sequential(*layers)
        else:
            raise ValueError(f"pose_from must be 'features', 'landmarks', 'fused' or 'landmarks+fused', got "
                             f"{pose_from!r}")
        self.pose_from = pose_from
        self.flip_test = flip_test
        if not 0.0 <= pose_profile_keep <= 1.0:
            raise ValueError(f"pose_profile_keep must be in [0, 1], got {pose_profile_keep}")
        self.pose_profile_keep = pose_profile_keep
        if pose_input_noise < 0 or (pose_input_noise and pose_from != "landmarks"):
            raise ValueError(f"pose_input_noise needs pose_from='landmarks' and sigma >= 0, got {pose_input_noise} "
                             f"with {pose_from!r}")
        self.pose_input_noise = pose_input_noise
        self.pose_detach = pose_detach
        if pose_mirror and pose_from != "landmarks":
            raise ValueError(f"pose_mirror needs pose_from='landmarks', got {pose_from!r}")
        self.pose_mirror = pose_mirror
        # Constants of the flip test, not saved in checkpoints: the switch needs no new weights.
        self.register_buffer("mirror", torch.eye(input_size).flip(1), persistent=False)
        unflip = torch.zeros(NUM_POINTS * 2, NUM_POINTS * 2)
        for i, j in enumerate(FLIP_PERM):
            unflip[2 * j, 2 * i], unflip[2 * j + 1, 2 * i + 1] = -1.0, 1.0
        self.register_buffer("unflip", unflip, persistent=False)
        self.register_buffer("unflip_offset", torch.tensor([1.0, 0.0]).repeat(NUM_POINTS), persistent=False)
        self.register_buffer("unflip_pose", torch.tensor([-1.0, 1.0, -1.0]), persistent=False)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """x: (N, 3, 112, 112) RGB in [0, 1]. Returns landmarks (N, 136) in crop units [0, 1]
        (x0, y0, x1, ...) and pose (N, 3) radians (yaw, pitch, roll)."""
        if self.training:
            return self.single(x)
        if self.flip_test:
            n = x.shape[0]
            points, pose = self.single(torch.cat([x, (x.transpose(1, 2) @ self.mirror).transpose(1, 2)], 0))
            points = 0.5 * (points[:n] + points[n:] @ self.unflip + self.unflip_offset)
            pose = 0.5 * (pose[:n] + pose[n:] * self.unflip_pose)
        else:
            points, pose = self.single(x)
        return points, self.calibrate_profile_pose(pose) if self.pose_profile_keep < 1.0 else pose

    def calibrate_profile_pose(self, pose: torch.Tensor) -> torch.Tensor:
        """Shrink pitch + sign(yaw) * roll beyond PROFILE_RAMP_DEG (module docstring). A smooth ramp and
        sign (logistic, tanh): XNNPACK runs those in int8, while the clamps of a hard ramp fell outside it."""
        yaw, pitch, roll = pose[:, 0:1], pose[:, 1:2], pose[:, 2:3]
        start, full = (math.radians(a) for a in PROFILE_RAMP_DEG)
        sign = torch.tanh(yaw * 20.0)  # +-1 to 6 decimals beyond 40 degrees
        ramp = torch.sigmoid((yaw * sign - 0.5 * (start + full)) * (4.4 / (full - start)))  # 0.1 at start, 0.9 at full
        drop = ramp * (0.5 * (1.0 - self.pose_profile_keep)) * (pitch + sign * roll)
        return torch.cat([yaw, pitch - drop, roll - sign * drop], 1)

    def single(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """One pass, no flip test."""
        f1, f2, f3 = self.backbone(x)
        s1 = f1.mean((2, 3))
        s2 = f2.mean((2, 3))
        s3 = self.s3(f3).flatten(1)
        fused = torch.cat([s1, s2, s3], 1)
        points = self.landmarks(fused)
        if self.templates:
            points = points + self.landmarks_fine(torch.cat([self.templates1(f1).flatten(1),
                                                             self.templates2(f2).flatten(1)], 1))
        if self.pose_from == "landmarks+fused":
            head_input = torch.cat([points, fused], 1)
        else:
            head_input = {"landmarks": points, "fused": fused, "features": f2}[self.pose_from]
        if self.training and self.pose_input_noise:  # points as noisy as an unseen face's (module docstring)
            head_input = head_input + self.pose_input_noise * torch.randn_like(head_input)
        if self.pose_detach:  # the pose term trains the head alone (module docstring)
            head_input = head_input.detach()
        return points, self.read_pose(head_input)

    def read_pose(self, head_input: torch.Tensor) -> torch.Tensor:
        """The pose head on its input; with `pose_mirror`, averaged with its read of the mirrored points
        (module docstring), as one batch of two."""
        if not self.pose_mirror:
            return self.pose(head_input)
        n = head_input.shape[0]
        pose = self.pose(torch.cat([head_input, head_input @ self.unflip + self.unflip_offset], 0))
        return 0.5 * (pose[:n] + pose[n:] * self.unflip_pose)
