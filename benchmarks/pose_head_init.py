"""Initial weights for a pose-head experiment on a frozen network, made from a checkpoint whose head reads the
landmarks:

- `--fused`: the head also reads the fused vector (`pose_from: landmarks+fused`, models/efld.py); the first
  layer's new columns start at zero, so the result computes exactly what its source does and a refit
  (benchmarks/pose_head_both.yaml) starts from the source's head, not from scratch.
- `--fresh`: the head's weights dropped, so a refit (benchmarks/pose_head_nojaw.yaml, pose_head_fresh.yaml)
  starts its head from scratch on the source's network, whatever the head's shape.

    python benchmarks/pose_head_init.py --fused models/efld-mnv3s-0.5/stage10/efld.pt runs/v094_both_init.pt
    python benchmarks/pose_head_init.py --fresh models/efld-mnv3s-0.5/stage10/efld.pt runs/v094_no_head.pt
"""
from __future__ import annotations

import argparse
from pathlib import Path

import torch

from efld_export.checkpoint import load_checkpoint, model_from_state, save_checkpoint
from efld_export.errors import EFLDError
from efld_export.train import finished


def widen(state: dict) -> dict:
    """`state` with its landmark-reading pose head's first layer widened by zero columns for the fused vector."""
    args = state["model_args"]
    if args.get("pose_from") != "landmarks":
        raise EFLDError(f"the pose head must read the landmarks, this one reads {args.get('pose_from')!r}")
    out = {**finished(state), "model_args": {**args, "pose_from": "landmarks+fused"}}
    fused = state["model"]["landmarks.weight"].shape[1]
    weight = state["model"]["pose.0.weight"]
    out["model"] = {**state["model"], "pose.0.weight": torch.cat([weight, weight.new_zeros(len(weight), fused)], 1)}
    model_from_state(out)  # the widened state loads into its architecture
    return out


def drop_head(state: dict) -> dict:
    """`state` without the pose head's weights (efld train's init then leaves the head as initialised)."""
    return {**finished(state), "model": {k: v for k, v in state["model"].items() if not k.startswith("pose.")}}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    how = ap.add_mutually_exclusive_group(required=True)
    how.add_argument("--fused", action="store_true", help="Widen the head to read the fused vector too.")
    how.add_argument("--fresh", action="store_true", help="Drop the head's weights.")
    ap.add_argument("checkpoint", type=Path)
    ap.add_argument("out", type=Path)
    args = ap.parse_args()
    state = load_checkpoint(args.checkpoint)
    save_checkpoint(args.out, widen(state) if args.fused else drop_head(state))
    print(args.out)


if __name__ == "__main__":
    main()
