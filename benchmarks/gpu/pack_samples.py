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

from efld_export.train import Sample, TrainConfig, prepare_samples


def write_pack(samples: list[Sample], info: dict, out: Path, quality: int = 90, shard_mb: float = 40.0) -> list[Path]:
    """The samples as shards of at most `shard_mb` of images, in order, and info.json; returns the shards."""
    out.mkdir(parents=True, exist_ok=True)
    blobs = []
    for s in samples:
        ok, buf = cv2.imencode(".webp", cv2.cvtColor(s.image, cv2.COLOR_RGB2BGR), [cv2.IMWRITE_WEBP_QUALITY, quality])
        if not ok:
            raise RuntimeError("WebP encoding failed")
        blobs.append(buf.tobytes())
    shards: list[list[int]] = [[]]
    size = 0
    for i, blob in enumerate(blobs):
        if shards[-1] and size + len(blob) > shard_mb * 1e6:
            shards.append([])
            size = 0
        shards[-1].append(i)
        size += len(blob)
    paths = []
    for k, idx in enumerate(shards):
        paths.append(out / f"shard{k}.npz")
        np.savez(paths[-1], data=np.frombuffer(b"".join(blobs[i] for i in idx), np.uint8),
                 offsets=np.cumsum([0] + [len(blobs[i]) for i in idx]),
                 points=np.stack([samples[i].points for i in idx]).astype(np.float32),
                 pose=np.stack([samples[i].pose for i in idx]),
                 weight=np.array([samples[i].weight for i in idx]),
                 box=np.stack([samples[i].box for i in idx]))
    (out / "info.json").write_text(json.dumps({**info, "webp_quality": quality}, indent=1, default=str))
    return paths


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("config")
    ap.add_argument("--out", type=Path, required=True)
    ap.add_argument("--quality", type=int, default=90)
    ap.add_argument("--shard-mb", type=float, default=40.0)
    args = ap.parse_args()
    samples, info = prepare_samples(TrainConfig.from_file(args.config))
    for path in write_pack(samples, {**info, "config": args.config}, args.out, args.quality, args.shard_mb):
        print(f"{path}: {path.stat().st_size / 1e6:.1f} MB")


if __name__ == "__main__":
    main()
