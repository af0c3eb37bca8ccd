"""Structured pruning of the S3 branch (issue 3): v0.8.1's 0.5 : 128 network cut to 0.5 : 32, keeping
the chain's trained backbone for the smaller branch that trains better (benchmarks/README, "The S3
branch at the shipped width"), to be fine-tuned with distillation (benchmarks/prune_050_32.yaml).

The branch's 7x7 convolution feeds one value per channel (after BatchNorm and ReLU6) into the landmark
layer. Each channel is scored by how much it moves the 136 outputs: the standard deviation of its
activation over training faces times the norm of its column in the landmark layer. The best channels
keep their filters, BatchNorm and columns; each dropped channel's mean contribution goes into the
landmark layer's bias, so the cut network predicts what the full one does on average. Training faces
only (youtube-faces-68:train, the first --faces), never the validation set.

    python benchmarks/prune_s3.py --model models/efld-mnv3s-0.5/stage5/efld.pt --keep 32 --out runs/pruned_050_32.pt
"""
from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np
import torch

from efld_export import crop
from efld_export.checkpoint import load_checkpoint, load_model, model_from_state, save_checkpoint
from efld_export.data import data_root, load_records
from efld_export.runtime import preprocess


def s3_activations(model: torch.nn.Module, batch: np.ndarray) -> torch.Tensor:
    """(faces, channels) outputs of the S3 branch."""
    seen: list[torch.Tensor] = []
    hook = model.s3.register_forward_hook(lambda _m, _i, out: seen.append(out.flatten(1)))
    with torch.no_grad():
        model(torch.from_numpy(batch))
    hook.remove()
    return seen[0]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", type=Path, required=True)
    ap.add_argument("--keep", type=int, default=32)
    ap.add_argument("--faces", type=int, default=1024)
    ap.add_argument("--out", type=Path, required=True)
    args = ap.parse_args()
    state = load_checkpoint(args.model)
    model = model_from_state(state)
    records = load_records(str(data_root() / "youtube-faces-68:train"), progress=False)[:args.faces]
    crops = [crop.crop_face(r.load_image(), crop.box_from_points(r.points))[0] for r in records]
    batch = preprocess(crops)
    act = s3_activations(model, batch).double()
    w = state["model"]["landmarks.weight"].double()
    off = w.shape[1] - act.shape[1]  # the columns of S1 and S2 come first
    if not 0 < args.keep <= act.shape[1]:
        raise SystemExit(f"--keep must be 1..{act.shape[1]} (the branch's channels)")
    score = act.std(0) * w[:, off:].norm(dim=0)
    keep = torch.sort(torch.argsort(score, descending=True)[:args.keep]).values
    drop = torch.tensor(sorted(set(range(act.shape[1])) - set(keep.tolist())), dtype=torch.long)
    new = dict(state["model"])
    for k in ("s3.0.weight", "s3.1.weight", "s3.1.bias", "s3.1.running_mean", "s3.1.running_var"):
        new[k] = state["model"][k][keep].clone()
    new["landmarks.weight"] = torch.cat([w[:, :off], w[:, off + keep]], 1).float()
    new["landmarks.bias"] = (state["model"]["landmarks.bias"].double() + w[:, off + drop] @ act[:, drop].mean(0)).float()
    model_args = {**state["model_args"], "s3_channels": args.keep}
    out = {"model": new, "model_args": model_args,
           "pruned_from": {"path": str(args.model), "kept_channels": keep.tolist(), "faces": len(crops),
                           "score_kept": float(score[keep].sum() / score.sum())}}
    save_checkpoint(args.out, out)
    cut = load_model(args.out)  # read back: the file written is the one checked
    check = torch.from_numpy(batch[:256])
    with torch.no_grad():
        full, pruned = model(check)[0], cut(check)[0]
    print(json.dumps({"out": str(args.out), "score_kept": out["pruned_from"]["score_kept"],
                      "mean_abs_change_px_of_112": float((full - pruned).abs().mean() * 112)}))


if __name__ == "__main__":
    main()
