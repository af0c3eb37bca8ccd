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
