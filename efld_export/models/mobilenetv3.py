"""MobileNetV3 backbone (Howard et al., 2019), written here because torchvision cannot be
used beside the CPU torch build. Adapted to 112x112 landmark input: the last stage stays at
stride 16 so that the landmark head still sees a 7x7 map."""
from __future__ import annotations

from typing import Callable

import torch
from torch import nn
from torch.nn import functional as F

class HardSwish(nn.Module):
    """x * relu6(x + 3) / 6, the same function as nn.Hardswish written out: fp32 TFLite then stays
    in one XNNPACK partition (nn.Hardswish becomes RELU_0_TO_1 + MUL: 19 partitions). In int8 the
    converter fuses it back into HARD_SWISH, which XNNPACK does not take (19 partitions, 3.6x
    slower than ReLU): hence ReLU is the default (benchmarks/results/activation_delegation.json)."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x * (F.relu6(x + 3.0) * (1.0 / 6.0))


ACTIVATIONS: dict[str, Callable[[], nn.Module]] = {
    "hswish": HardSwish,
    "hswish_native": lambda: nn.Hardswish(),
    "relu": lambda: nn.ReLU(),
    "relu6": lambda: nn.ReLU6(),
}


def make_divisible(v: float, divisor: int = 8) -> int:
    """Round channels to a multiple of `divisor`, never below 90% of v (as in the reference)."""
    new = max(divisor, int(v + divisor / 2) // divisor * divisor)
    return new + divisor if new < 0.9 * v else new


def activation(name: str) -> nn.Module:
    if name not in ACTIVATIONS:
        raise ValueError(f"unknown activation {name!r}; choose from {sorted(ACTIVATIONS)}")
    return ACTIVATIONS[name]()


class AntiAliasedConv2d(nn.Conv2d):
    """A strided convolution that low-passes its input first (Zhang, "Making Convolutional Networks
    Shift-Invariant Again", 2019: blur, then subsample). A stride-2 layer that samples every other pixel
    of an unfiltered map aliases, so its output, and the regressed landmarks, jump as the face moves by
    a pixel: on aflw2000-3d-val the average of five crops shifted by up to 2 px scores 5.04 against one
    crop's 5.24 (benchmarks/README.md, "Shift variance").

    The blur (a fixed 3x3 binomial filter per channel) is folded into the layer's own kernel, which
    grows by 2: one convolution, as the exported graph runs it (a separate blur layer before each of the
    four strided layers took the int8 model from 0.29 to 0.56 ms, measured while building this). The
    blur is a constant, not a weight, so the state dict is the plain layer's: a checkpoint without it
    loads unchanged (and then computes a blurred version of what it did)."""

    def __init__(self, *args, **kwargs):  # noqa: ANN002, ANN003 - nn.Conv2d's
        super().__init__(*args, **kwargs)
        tap = torch.tensor([1.0, 2.0, 1.0])
        self.register_buffer("blur", (torch.outer(tap, tap) / 16.0)[None, None], persistent=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out, cin, kh, kw = self.weight.shape
        # the kernel convolved with the blur (symmetric, so correlation is convolution): (k + 2) x (k + 2)
        kernel = F.conv2d(F.pad(self.weight.reshape(out * cin, 1, kh, kw), (2, 2, 2, 2)), self.blur)
        pad = (self.padding[0] + 1, self.padding[1] + 1)
        return F.conv2d(x, kernel.reshape(out, cin, kh + 2, kw + 2), self.bias, self.stride, pad, self.dilation,
                        self.groups)


class ConvBNAct(nn.Sequential):
    def __init__(self, cin: int, cout: int, k: int, stride: int, groups: int = 1, act: str | None = "relu",
                 antialias: bool = False):
        conv = AntiAliasedConv2d if antialias and stride > 1 else nn.Conv2d
        layers: list[nn.Module] = [conv(cin, cout, k, stride, k // 2, groups=groups, bias=False),
                                   nn.BatchNorm2d(cout)]
        if act:
            layers.append(activation(act))
        super().__init__(*layers)


class SqueezeExcite(nn.Module):
    """Channel attention; hard-sigmoid gate as in MobileNetV3.

    The gate is written relu6(x + 3) / 6 (the same function as nn.Hardsigmoid): exported as
    Add/Clip/Mul it stays inside TFLite's XNNPACK delegate, whereas HardSigmoid becomes
    RELU_0_TO_1, which XNNPACK does not take and which splits the graph into 10 partitions.
    """

    def __init__(self, ch: int):
        super().__init__()
        mid = make_divisible(ch / 4)
        self.fc1 = nn.Conv2d(ch, mid, 1)
        self.fc2 = nn.Conv2d(mid, ch, 1)
        self.act = nn.ReLU()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        s = x.mean((2, 3), keepdim=True)
        return x * (F.relu6(self.fc2(self.act(self.fc1(s))) + 3.0) * (1.0 / 6.0))


class InvertedResidual(nn.Module):
    def __init__(self, cin: int, k: int, exp: int, cout: int, se: bool, act: str, stride: int,
                 antialias: bool = False):
        super().__init__()
        layers: list[nn.Module] = []
        if exp != cin:
            layers.append(ConvBNAct(cin, exp, 1, 1, act=act))
        layers.append(ConvBNAct(exp, exp, k, stride, groups=exp, act=act, antialias=antialias))
        if se:
            layers.append(SqueezeExcite(exp))
        layers.append(ConvBNAct(exp, cout, 1, 1, act=None))
        self.block = nn.Sequential(*layers)
        self.residual = stride == 1 and cin == cout

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.block(x)
        return x + y if self.residual else y


#: MobileNetV3-Small: kernel, expansion, out channels, SE, uses the "hard" activation, stride.
#: The paper's last stride-2 block runs at stride 1 here (see module docstring).
SMALL_CFG: tuple[tuple[int, int, int, bool, bool, int], ...] = (
    (3, 16, 16, True, False, 2),
    (3, 72, 24, False, False, 2),
    (3, 88, 24, False, False, 1),
    (5, 96, 40, True, True, 2),
    (5, 240, 40, True, True, 1),
    (5, 240, 40, True, True, 1),
    (5, 120, 48, True, True, 1),
    (5, 144, 48, True, True, 1),
    (5, 288, 96, True, True, 1),
    (5, 576, 96, True, True, 1),
    (5, 576, 96, True, True, 1),
)


class MobileNetV3Small(nn.Module):
    """Returns the feature maps at strides 8, 16 and the last stage (stride 16), for multi-scale fusion.
    antialias: how many of the four stride-2 convolutions, from the input on, blur their input first
    (AntiAliasedConv2d); each costs int8 time (results/architecture_budget_antialias.json)."""

    def __init__(self, width: float = 0.5, act: str = "relu", se: bool = True, antialias: int = 0):
        super().__init__()
        c = lambda v: make_divisible(v * width)  # noqa: E731
        hard = act  # the paper's "HS" blocks use the configured activation
        self.stem = ConvBNAct(3, c(16), 3, 2, act=hard, antialias=antialias >= 1)
        blocks = []
        cin = c(16)
        strided = 1
        for k, exp, cout, use_se, is_hard, s in SMALL_CFG:
            strided += s > 1
            blocks.append(InvertedResidual(cin, k, c(exp), c(cout), use_se and se, hard if is_hard else "relu", s,
                                           s > 1 and antialias >= strided))
            cin = c(cout)
        self.blocks = nn.ModuleList(blocks)
        #: indices of the blocks whose outputs are the stride-8, stride-16 and final features
        self.taps = (2, 7, len(blocks) - 1)
        self.channels = tuple(c(SMALL_CFG[i][2]) for i in self.taps)

    def forward(self, x: torch.Tensor) -> list[torch.Tensor]:
        x = self.stem(x)
        feats = []
        for i, b in enumerate(self.blocks):
            x = b(x)
            if i in self.taps:
                feats.append(x)
        return feats
