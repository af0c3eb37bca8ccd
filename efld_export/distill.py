"""Knowledge distillation: a frozen teacher's outputs as a second target for the network in training.

The default network is as wide as the speed budget allows (issue 5), and it is about a point of NME
worse than its labels on the inner face regions: its precision, not the labels, bounds it there. A
wider network, an ensemble and the flip test each do better but cost more time per face; as teachers
they cost only training time. The teacher sees the same augmented batch as the student, so its
points need no transform, and its flip-test average is taken inside the graph (models/efld.py).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import torch
from torch import nn

from .checkpoint import load_model
from .errors import EFLDError

if TYPE_CHECKING:
    from .runtime import LandmarkModel


@dataclass
class DistillConfig:
    """`distill:` in a training config (read with config.from_mapping)."""

    #: Checkpoints whose outputs are averaged into the teacher (an ensemble when more than one).
    teachers: list[str] = field(default_factory=list)
    #: alpha: the landmark and pose terms are (1 - alpha) x against the labels + alpha x against the teacher.
    weight: float = 0.5
    #: Each teacher averages the face with its mirror image (twice its compute, a better teacher).
    flip_test: bool = True
    #: False: the teacher's jaw is no target, only its inner points (17-67) and pose are: for teachers
    #: trained on labels of another jawline (up to v0.8.1's, label.py's JAW_DEPTHS).
    jaw: bool = True

    def __post_init__(self) -> None:
        if not self.teachers:
            raise EFLDError("distill: 'teachers' needs at least one checkpoint")
        if not 0.0 <= self.weight <= 1.0:
            raise EFLDError(f"distill: 'weight' must lie in [0, 1], got {self.weight}")


class Teacher(nn.Module):
    """The mean of frozen models' (landmarks, pose), in eval mode whatever the caller's mode."""

    def __init__(self, models: list[nn.Module]):
        super().__init__()
        self.models = nn.ModuleList(models)
        self.requires_grad_(False)

    def train(self, mode: bool = True) -> "Teacher":  # noqa: ARG002 - a teacher never trains
        return super().train(False)

    @torch.no_grad()
    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        outs = [m(x) for m in self.models]
        return (torch.stack([o[0] for o in outs]).mean(0), torch.stack([o[1] for o in outs]).mean(0))


def load_teacher(cfg: DistillConfig) -> Teacher:
    """The teacher of a config (paths as `init`'s: relative to the working directory)."""
    models = []
    for path in cfg.teachers:
        model = load_model(path)
        model.flip_test = cfg.flip_test
        models.append(model)
    return Teacher(models).eval()


def teacher_model(checkpoints: list[str], flip_test: bool = True) -> "LandmarkModel":
    """The teacher of these checkpoints behind the runtime layer (whole images and boxes in, pixels
    out): for scoring it (benchmarks/teacher_eval.py) and for labelling with it (label.py)."""
    from .runtime import LandmarkModel, TorchBackend

    return LandmarkModel(TorchBackend(load_teacher(DistillConfig(list(checkpoints), flip_test=flip_test))))
