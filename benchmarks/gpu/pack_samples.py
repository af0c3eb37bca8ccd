"""Pack a config's training samples for a machine without the data or the labellers (the lent GPU machine).

`efld train` labels the AFLW pool with MediaPipe and reads the images from ../shared/data; the GPU machine
has neither and takes at most 64 MiB a call. This runs the config's own sample preparation here (labels,
poses, rare-sample weights: `train.prepare_samples`) and writes the result as shards of at most
`--shard-mb`: each image re-encoded as WebP (`--quality`, default 90: a mean absolute change of about 2
grey levels on the pool's crops), with its points, pose, weight and box. `gpu_train.py` trains from them.

    python benchmarks/gpu/pack_samples.py benchmarks/distill_v092.yaml --out .devdata
"""
from __future__ import annotations

import argparse
import json
from pathlib import Path

import cv2
import numpy as np

from efld_export.train import TrainConfig, prepare_samples


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("config")
    ap.add_argument("--out", type=Path, required=True)
    ap.add_argument("--quality", type=int, default=90)
    ap.add_argument("--shard-mb", type=float, default=40.0)
    args = ap.parse_args()
    cfg = TrainConfig.from_file(args.config)
    samples, info = prepare_samples(cfg)
    args.out.mkdir(parents=True, exist_ok=True)
    shards: list[list[int]] = [[]]
    blobs: list[bytes] = []
    size = 0
    for i, s in enumerate(samples):
        ok, buf = cv2.imencode(".webp", cv2.cvtColor(s.image, cv2.COLOR_RGB2BGR), [cv2.IMWRITE_WEBP_QUALITY, args.quality])
        assert ok
        blobs.append(buf.tobytes())
        if size + len(blobs[-1]) > args.shard_mb * 1e6:
            shards.append([])
            size = 0
        shards[-1].append(i)
        size += len(blobs[-1])
    for k, idx in enumerate(shards):
        data = b"".join(blobs[i] for i in idx)
        np.savez(args.out / f"shard{k}.npz", data=np.frombuffer(data, np.uint8),
                 offsets=np.cumsum([0] + [len(blobs[i]) for i in idx]),
                 points=np.stack([samples[i].points for i in idx]).astype(np.float32),
                 pose=np.stack([samples[i].pose for i in idx]),
                 weight=np.array([samples[i].weight for i in idx]),
                 box=np.stack([samples[i].box for i in idx]))
        print(f"shard{k}: {len(idx)} samples, {len(data) / 1e6:.1f} MB")
    (args.out / "info.json").write_text(json.dumps({**info, "webp_quality": args.quality, "config": args.config},
                                                   indent=1, default=str))


if __name__ == "__main__":
    main()
