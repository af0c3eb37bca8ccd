"""`efld train` from a sample pack (pack_samples.py) instead of the data folder: for the lent GPU machine.

Everything but the samples' source is `efld_export.train.train` itself (`prepared=`): the config, the model,
the loss, the teacher, the augmentation, the schedule. No validation there (the val set does not travel): each run
is evaluated here afterwards with `efld eval`. Config keys are overridden with KEY=VALUE (YAML values).

    PYTHONPATH=. python benchmarks/gpu/gpu_train.py .devdata benchmarks/distill_v092.yaml epochs=40 out=/tmp/r
"""
from __future__ import annotations

import argparse
import dataclasses
import json
import time
from pathlib import Path

import cv2
import numpy as np
import torch
import yaml

from efld_export import train as training


def load_pack(folder: Path, partial: bool = False) -> tuple[list[training.Sample], dict]:
    """Every shard's samples, images decoded back to RGB uint8."""
    samples = []
    for shard in sorted(folder.glob("shard*.npz")):
        with np.load(shard) as npz:
            z = {k: npz[k] for k in npz.files}  # each npz[k] reads its member again: once per shard, not per sample
        data, off = z["data"], z["offsets"]
        for i in range(len(off) - 1):
            bgr = cv2.imdecode(data[off[i]:off[i + 1]], cv2.IMREAD_COLOR)
            samples.append(training.Sample(cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB), z["points"][i].astype(np.float64),
                                           z["pose"][i], float(z["weight"][i]), z["box"][i]))
    info = json.loads((folder / "info.json").read_text())
    if len(samples) != info["n_samples"] and not partial:
        raise SystemExit(f"{folder}: {len(samples)} samples in the shards, info.json says {info['n_samples']}")
    return samples, info


def fitted_epochs(cfg: training.TrainConfig, prepared: tuple[list[training.Sample], dict], seconds: float,
                  probe_steps: int = 60) -> int:
    """The most epochs (at most cfg.epochs) that fit in `seconds` from now, timed by a short probe run
    (discarded) under whatever else the machine runs at the time."""
    start = time.perf_counter()
    probe = dataclasses.replace(cfg, epochs=1, max_steps=probe_steps, out=f"{cfg.out}_probe")
    training.train(probe, progress=False, prepared=prepared)
    rate = json.loads((Path(probe.out) / "metrics.jsonl").read_text().splitlines()[-1])["train_img_per_s"]
    epoch_s = (len(prepared[0]) // cfg.batch_size) * cfg.batch_size / rate
    left = seconds - (time.perf_counter() - start) - 60  # checkpoint writes, the last epoch's stragglers
    epochs = max(1, min(cfg.epochs, int(left // epoch_s)))
    print(json.dumps({"probe_img_per_s": rate, "epoch_s": round(epoch_s, 1), "epochs": epochs}), flush=True)
    return epochs


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("pack", type=Path)
    ap.add_argument("config")
    ap.add_argument("overrides", nargs="*", help="KEY=VALUE")
    ap.add_argument("--seconds", type=float, help="shrink epochs to what fits in this wall time (a timed probe)")
    ap.add_argument("--partial", action="store_true", help="train on the shards present (a smoke run)")
    args = ap.parse_intermixed_args()
    cv2.setNumThreads(1)  # the DataLoader's workers share the cores
    # fp32 convolutions as on the CPU: one of five runs on 2026-12-04 (TF32 on, PyTorch's default for cuDNN)
    # began unstable and ended 0.56 worse; whether TF32 was the cause is not known, and it costs little here.
    torch.backends.cudnn.allow_tf32 = False
    overrides = {k: yaml.safe_load(v) for k, v in (o.split("=", 1) for o in args.overrides)}
    cfg = training.TrainConfig.from_file(args.config, {**overrides, "val": ""})
    prepared = load_pack(args.pack, args.partial)
    if args.seconds:
        cfg = dataclasses.replace(cfg, epochs=fitted_epochs(cfg, prepared, args.seconds))
    training.train(cfg, progress=False, prepared=prepared)


if __name__ == "__main__":
    main()
