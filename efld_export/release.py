"""Versioned model releases: models/<name>-v<version>/ with the artifacts, manifest.json
(every file's bytes and sha256, I/O spec, figures, tool versions, calibration) and a model card.
Whatever loads an artifact that has a manifest beside it checks its sha256 first."""
from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import tempfile
import time
from importlib import metadata
from pathlib import Path
from typing import Any

import numpy as np

from .crop import BOX_SCALE, INPUT_SIZE
from .errors import EFLDError

#: The shipped model's name: its folder under models/ and its releases' prefix (NAME-vVERSION).
MODEL_NAME = "efld-mnv3s-0.5"

MANIFEST = "manifest.json"
TOOLS = ("efld-export", "torch", "onnx", "onnxruntime", "onnxsim", "onnx2tf", "tensorflow", "ai-edge-litert", "numpy")


def sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def tool_versions() -> dict[str, str]:
    out = {}
    for name in TOOLS:
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            out[name] = "not installed"
    return out


def host_latency_ms(path: Path, runs: int = 300, warmup: int = 30) -> dict[str, float]:
    """Median and p90 latency of one invoke on the host, 1 thread (`efld bench` measures more)."""
    from .bench import time_steps
    from .runtime import load_backend

    backend = load_backend(path, threads=1)
    x = np.random.default_rng(0).random((1, 3, INPUT_SIZE, INPUT_SIZE), dtype=np.float32)
    lat = time_steps(backend.run, x[None], runs, warmup)
    return {"median_ms": lat["median_ms"], "p90_ms": lat["p90_ms"], "threads": 1,
            "includes": "input quantise + invoke + output read in Python"}


def releases(models_dir: Path, name: str) -> list[Path]:
    """The release folders of `name` (MODELS_DIR/<name>-v<version>/), newest first. Versions compare as
    numbers, so v0.10.0 follows v0.9.1 (as text it would not)."""
    found = [p for p in Path(models_dir).glob(f"{name}-v*") if p.is_dir()]
    return sorted(found, key=lambda p: tuple(int(n) for n in re.findall(r"\d+", p.name[len(name) + 2:])),
                  reverse=True)


def make_release(export_dir: Path, name: str, version: str, models_dir: Path, card: str = "",
                 measure_latency: bool = True) -> Path:
    """Write models/<name>-v<version>/ from a finished export folder (with its report.json), atomically."""
    export_dir = Path(export_dir)
    report_path = export_dir / "report.json"
    if not report_path.is_file():
        raise EFLDError(f"{export_dir}: no report.json (run `efld export` first)")
    report = json.loads(report_path.read_text())
    if not report.get("gate", {}).get("passed", False):
        raise EFLDError(f"{export_dir}: the export did not pass its gate")
    dest = Path(models_dir) / f"{name}-v{version.lstrip('v')}"
    if dest.exists():
        raise EFLDError(f"{dest} exists: releases are immutable, choose a new version")
    dest.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{dest.name}.partial-", dir=dest.parent))
    try:
        files = sorted(p for p in export_dir.iterdir() if p.suffix in (".tflite", ".onnx"))
        for p in files:
            shutil.copyfile(p, tmp / p.name)
        shutil.copyfile(report_path, tmp / "export_report.json")
        arts = report["artifacts"]
        latency = {k: host_latency_ms(tmp / arts[k]["file"]) for k in ("fp32", "fp16", "int8")
                   if k in arts and measure_latency}
        manifest: dict[str, Any] = {
            "name": name, "version": version, "created": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
            "files": {p.name: {"bytes": (tmp / p.name).stat().st_size, "sha256": sha256(tmp / p.name)}
                      for p in [*files, Path("export_report.json")]},
            "input": {"name": "image", "layout": "NHWC (TFLite) / NCHW (ONNX)", "shape": [1, INPUT_SIZE, INPUT_SIZE, 3],
                      "colour": "RGB", "normalisation": "pixel / 255 (float in [0, 1]); int8 model: int8 with scale "
                      "1/255, zero point -128", "crop": f"square crop centred on the face box, side {BOX_SCALE} x "
                      "the box's longer side (box = landmark bounding box in training and evaluation)"},
            "outputs": {"landmarks": {"shape": [1, 136], "units": "crop coordinates in [0, 1] (x0, y0, x1, ...); "
                                      "pixel = value * 111"},
                        "pose": {"shape": [1, 3], "units": "radians (yaw, pitch, roll), AFLW2000-3D convention"}},
            "flip_test": report.get("flip_test", False),
            "measured": {k: {"bytes": v["bytes"], "nme_bbox": v["nme_bbox"], "nme_interocular": v["nme_interocular"],
                             **({"xnnpack": v["xnnpack"]} if "xnnpack" in v else {}),
                             **({"host_latency": latency[k]} if k in latency else {})} for k, v in arts.items()},
            "validation": report.get("validation"),
            "calibration": report.get("calibration"),
            "weights": report.get("weights"),
            "tools": tool_versions(),
        }
        (tmp / MANIFEST).write_text(json.dumps(manifest, indent=2) + "\n")
        if card:
            (tmp / "MODEL_CARD.md").write_text(card)
        os.chmod(tmp, 0o755)
        os.replace(tmp, dest)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return dest


def verify_release(release_dir: Path) -> int:
    """Check every file listed in the manifest; returns how many were checked."""
    manifest_path = Path(release_dir) / MANIFEST
    if not manifest_path.is_file():
        raise EFLDError(f"{release_dir}: no {MANIFEST}")
    files = json.loads(manifest_path.read_text())["files"]
    for name in files:
        verify_file(Path(release_dir) / name, files)
    return len(files)


def verify_file(path: Path, files: dict[str, dict] | None = None) -> None:
    """Refuse a file whose sha256 differs from the manifest beside it (no manifest: nothing to check)."""
    path = Path(path)
    if files is None:
        manifest_path = path.parent / MANIFEST
        if not manifest_path.is_file():
            return
        files = json.loads(manifest_path.read_text()).get("files", {})
        if path.name not in files:
            return
    entry = files[path.name]
    if not path.is_file():
        raise EFLDError(f"{path}: listed in the manifest but missing")
    digest = sha256(path)
    if digest != entry["sha256"] or path.stat().st_size != entry["bytes"]:
        raise EFLDError(f"{path}: sha256 {digest[:12]}... does not match the manifest's {entry['sha256'][:12]}... "
                        "(tampered or corrupted artifact; refusing to load it)")
