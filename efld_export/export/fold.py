"""Export-time fix for squeeze-excite blocks whose squeeze layer is dead.

When every channel of an SE block's squeeze (fc1 + ReLU) is zero on all calibration crops, the
block's gate is the constant hard-sigmoid(fc2.bias). The int8 quantiser then sees an all-zero
tensor, gives it a scale of about 1e-8, and XNNPACK refuses the graph ("failed to create XNNPACK
runtime": the next layer's requantisation scale is out of range). Found on a fine-tuned model
(benchmarks/README.md). The fold keeps the function and gives the tensor a real range: fc1
outputs the constant 1 (zero weights, bias 1) and fc2's bias absorbs fc2(1) - fc2(0).
"""
from __future__ import annotations

import torch
from torch import nn

from ..models.mobilenetv3 import SqueezeExcite


@torch.no_grad()
def fold_dead_squeezes(model: nn.Module, images: torch.Tensor) -> list[str]:
    """Fold, in place, every SE block whose squeeze is zero on all `images` (N, 3, H, W); returns their names."""
    peaks: dict[str, torch.Tensor] = {}
    hooks = [m.act.register_forward_hook(lambda mod, inp, out, name=name: peaks.__setitem__(name, out.amax()))
             for name, m in model.named_modules() if isinstance(m, SqueezeExcite)]
    try:
        model.eval()(images)
    finally:
        for h in hooks:
            h.remove()
    folded = []
    for name, m in model.named_modules():
        if isinstance(m, SqueezeExcite) and float(peaks[name]) <= 0.0:
            m.fc2.bias -= m.fc2.weight.sum((1, 2, 3))
            m.fc1.weight.zero_()
            m.fc1.bias.fill_(1.0)
            folded.append(name)
    return folded
