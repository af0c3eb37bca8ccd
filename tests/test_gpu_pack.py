"""The GPU machine's sample pack (benchmarks/gpu): what gpu_train.py reads back is what pack_samples.py wrote."""
from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np
import pytest

from efld_export.train import Sample

ROOT = Path(__file__).resolve().parents[1]


def _script(name: str):
    spec = importlib.util.spec_from_file_location(name, ROOT / "benchmarks" / "gpu" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _samples(n: int) -> list[Sample]:
    rng = np.random.default_rng(0)
    yy, xx = np.mgrid[0:120, 0:96]
    out = []
    for i in range(n):
        image = np.stack([(xx * 2 + i * 20) % 256, (yy * 2) % 256, np.full_like(xx, 40 * i)], -1).astype(np.uint8)
        points = rng.uniform(10, 90, (68, 2))
        points[:17] = np.nan  # a target left out of the loss stays left out
        pose, box = np.array([30.0 * i, np.nan, -5.0]), np.array([5.0, 6.0, 80.0, 90.0 + i])
        out.append(Sample(image, points, pose, 0.5 + i, box))
    return out


def test_pack_round_trip_across_shards(tmp_path: Path) -> None:
    samples = _samples(5)
    shards = _script("pack_samples").write_pack(samples, {"n_samples": 5, "class_frequency": {}}, tmp_path,
                                                shard_mb=1e-6)
    assert len(shards) == 5  # each image alone exceeds the tiny shard size: one shard each, none empty
    back, info = _script("gpu_train").load_pack(tmp_path)
    assert info["n_samples"] == 5 and info["webp_quality"] == 90
    for a, b in zip(samples, back):
        assert b.image.shape == a.image.shape and b.image.dtype == np.uint8
        assert np.abs(b.image.astype(float) - a.image).mean() < 3.0  # lossy, but close
        np.testing.assert_allclose(b.points, a.points, rtol=1e-6)  # NaNs in the same places
        np.testing.assert_array_equal(b.pose, a.pose)
        assert b.weight == a.weight
        np.testing.assert_array_equal(b.box, a.box)


def test_missing_shard_is_refused_unless_partial(tmp_path: Path) -> None:
    shards = _script("pack_samples").write_pack(_samples(3), {"n_samples": 3}, tmp_path, shard_mb=1e-6)
    shards[-1].unlink()
    load_pack = _script("gpu_train").load_pack
    with pytest.raises(SystemExit, match="2 samples in the shards"):
        load_pack(tmp_path)
    assert len(load_pack(tmp_path, partial=True)[0]) == 2
