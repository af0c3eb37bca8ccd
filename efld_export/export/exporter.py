"""The export entry: PyTorch -> ONNX (simplified) -> TFLite fp32/fp16/int8, every stage checked,
then the size and accuracy gate. Everything is written into a temporary folder and moved into
place only when all checks pass, so a failed or interrupted export leaves nothing behind and
never overwrites a good export."""
from __future__ import annotations

import copy
import json
import os
import shutil
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import numpy as np
import torch

from ..checkpoint import load_model
from ..data import data_root, load_records
from ..errors import EFLDError
from ..evaluate import evaluate
from ..release import MODEL_NAME
from ..runtime import LandmarkModel, TorchBackend, load_backend
from .calibration import calibration_crops, to_model_input
from .fold import fold_dead_squeezes
from .onnx import export_onnx, onnx_parity
from .tflite import convert, xnnpack_report

REPO_ROOT = Path(__file__).resolve().parents[2]
#: The shipped model that `efld-export` exports when no --weights is given.
DEFAULT_WEIGHTS = REPO_ROOT / "models" / MODEL_NAME / "efld.pt"
#: Largest |onnxruntime - torch| output difference accepted (crop units / radians).
ONNX_TOLERANCE = 1e-4
#: Largest |fp32 TFLite - torch| headline NME difference accepted (points of %): onnx2tf can convert
#: an op into a graph that runs, fully delegated, and computes something else (models/efld.py, flip test).
TFLITE_FP32_TOLERANCE = 0.02


class GateError(EFLDError):
    """The artifact is over its size budget or lost too much accuracy."""


@dataclass
class ExportOptions:
    weights: Path | None = None
    out: Path = Path("exported")
    int8: bool = True
    fp16: bool = True
    int8_output: bool = False
    flip_test: bool | None = None  # None: the checkpoint's setting (models/efld.py)
    calib: str | None = None
    calib_n: int = 200
    budget_mb: float = 2.1
    max_nme_drop: float = 0.1
    opset: int = 13
    val: str | None = None
    val_max: int | None = None
    threads: int = 1
    extra: dict[str, Any] = field(default_factory=dict)


def _say(msg: str) -> None:
    print(msg, flush=True)


def export(opts: ExportOptions, say: Callable[[str], None] = _say) -> dict[str, Any]:
    """Run every stage; returns the report (also written as report.json in opts.out)."""
    t_start = time.perf_counter()
    weights = Path(opts.weights) if opts.weights else DEFAULT_WEIGHTS
    if not weights.is_file():
        raise EFLDError(f"{weights}: weights not found" + ("" if opts.weights else " (the default model; pass --weights)"))
    out = Path(opts.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}.partial-", dir=out.parent))
    try:
        report = _export_into(tmp, weights, opts, say)
        report["export_seconds"] = round(time.perf_counter() - t_start, 1)
        (tmp / "report.json").write_text(json.dumps(report, indent=2) + "\n")
        shutil.rmtree(tmp / "work", ignore_errors=True)
        os.chmod(tmp, 0o755)
        _replace_dir(tmp, out)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    say(f"[done] {out} ({report['export_seconds']} s)")
    return report


def _replace_dir(src: Path, dst: Path) -> None:
    """Move a finished folder into place; an old export at dst is swapped out, then removed."""
    old = None
    if dst.exists():
        old = dst.with_name(f".{dst.name}.old-{os.getpid()}")
        os.replace(dst, old)
    os.replace(src, dst)
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)


def _export_into(tmp: Path, weights: Path, opts: ExportOptions, say: Callable[[str], None]) -> dict[str, Any]:
    model = load_model(weights)
    if opts.flip_test is not None:
        model.flip_test = opts.flip_test
    report: dict[str, Any] = {"weights": str(weights), "options": {k: str(v) if isinstance(v, Path) else v
                                                                   for k, v in vars(opts).items()},
                              "flip_test": model.flip_test}
    say(f"flip test {'on: each face is averaged with its mirror image' if model.flip_test else 'off'}")
    say(f"[1/5] calibration data ...")
    crops, calib_desc = calibration_crops(opts.calib, opts.calib_n)
    report["calibration"] = calib_desc
    say(f"      {calib_desc}")
    inputs = to_model_input(crops)  # NHWC float in [0, 1]
    # The exported graph is made from a copy with dead squeezes folded (fold.py); the .pt is scored as it is.
    graph = copy.deepcopy(model)
    folded = fold_dead_squeezes(graph, torch.from_numpy(inputs.transpose(0, 3, 1, 2).copy()))
    report["folded_dead_squeezes"] = folded
    if folded:
        say(f"      squeeze-excite blocks with a dead squeeze on every crop, folded to their constant gate: {folded}")

    say(f"[2/5] torch -> ONNX (opset {opts.opset}, TorchScript exporter, onnx-simplifier) ...")
    onnx_path = export_onnx(graph, tmp / "efld.onnx", opset=opts.opset)
    diff = onnx_parity(model, onnx_path, inputs[:32].transpose(0, 3, 1, 2))
    report["onnx_max_abs_diff"] = diff
    say(f"      onnx.checker ok; onnxruntime vs torch max |diff| = {diff:.2e} on {min(32, len(crops))} real crops")
    if diff > ONNX_TOLERANCE:
        raise EFLDError(f"ONNX output differs from torch by {diff:.3g} (> {ONNX_TOLERANCE})")

    files: dict[str, Path] = {"pt": weights, "onnx": onnx_path}
    if opts.int8 or opts.fp16:
        say("[3/5] ONNX -> TFLite with onnx2tf (float32, float16, full-integer int8) ...")
        t0 = time.perf_counter()
        tfl = convert(onnx_path, tmp / "work", inputs, int8_output=opts.int8_output)
        report["onnx2tf_seconds"] = round(time.perf_counter() - t0, 1)
        keep = {"fp32": "efld_float32.tflite"}
        if opts.fp16:
            keep["fp16"] = "efld_float16.tflite"
        if opts.int8:
            keep["int8"] = "efld_int8.tflite"
        for kind, name in keep.items():
            shutil.copyfile(tfl[kind], tmp / name)
            files[kind] = tmp / name
        say(f"      done in {report['onnx2tf_seconds']} s")

    say("[4/5] accuracy of every artifact on the validation sample ...")
    val_spec = opts.val or str(data_root() / "aflw2000-3d-val")
    records = load_records(val_spec, progress=False)
    if opts.val_max:
        records = records[:opts.val_max]
    report["validation"] = {"data": val_spec, "n_images": len(records)}
    artifacts: dict[str, dict[str, Any]] = {}
    for kind, path in files.items():
        backend = TorchBackend(model) if kind == "pt" else load_backend(path, opts.threads)
        metrics, _ = evaluate(LandmarkModel(backend), records, progress=False)
        entry: dict[str, Any] = {"file": path.name, "bytes": path.stat().st_size,
                                 "nme_bbox": metrics["nme_bbox"], "nme_interocular": metrics["nme_interocular"]}
        if "pose_mae" in metrics:
            entry["pose_mae"] = metrics["pose_mae"]
        if path.suffix == ".tflite":
            entry["xnnpack"] = xnnpack_report(path)
        artifacts[kind] = entry
        headline = metrics["nme_bbox"].get("mean_of_bins", metrics["nme_bbox"]["overall"])
        deleg = (f", XNNPACK partitions {entry['xnnpack']['partitions']}, outside {entry['xnnpack']['ops_outside']}"
                 if "xnnpack" in entry else "")
        say(f"      {kind:5s} {entry['bytes'] / 1e6:7.3f} MB  NME {headline:6.3f}{deleg}")
    report["artifacts"] = artifacts
    _gate(report, opts, say)
    return report


def _headline(entry: dict[str, Any]) -> float:
    nme = entry["nme_bbox"]
    return nme.get("mean_of_bins", nme["overall"])


def _gate(report: dict[str, Any], opts: ExportOptions, say: Callable[[str], None]) -> None:
    """The fp32 conversion's fidelity, the size budget and the accuracy tolerance of the int8 artifact."""
    say("[5/5] gate: fp32 conversion, size budget and int8 accuracy ...")
    arts = report["artifacts"]
    if "int8" not in arts:
        report["gate"] = {"passed": True, "note": "no int8 artifact"}
        return
    size_mb = arts["int8"]["bytes"] / 1e6
    ref = arts["fp32"] if "fp32" in arts else arts["pt"]
    drop = _headline(arts["int8"]) - _headline(ref)
    failures = []
    if "fp32" in arts and "pt" in arts and abs(_headline(arts["fp32"]) - _headline(arts["pt"])) > TFLITE_FP32_TOLERANCE:
        failures.append(f"fp32 TFLite NME {_headline(arts['fp32']):.3f} differs from torch's {_headline(arts['pt']):.3f} "
                        f"by more than {TFLITE_FP32_TOLERANCE}: the ONNX -> TFLite conversion changed the model")
    if size_mb > opts.budget_mb:
        failures.append(f"int8 artifact is {size_mb:.3f} MB, over the {opts.budget_mb} MB budget by "
                        f"{size_mb - opts.budget_mb:.3f} MB")
    if drop > opts.max_nme_drop:
        failures.append(f"int8 NME is {drop:.3f} points worse than fp32 ({_headline(arts['int8']):.3f} vs "
                        f"{_headline(ref):.3f}), over the {opts.max_nme_drop} tolerance by {drop - opts.max_nme_drop:.3f}")
    report["gate"] = {"passed": not failures, "int8_mb": round(size_mb, 4), "budget_mb": opts.budget_mb,
                      "int8_nme_drop": round(drop, 4), "max_nme_drop": opts.max_nme_drop, "failures": failures}
    if failures:
        raise GateError("export gate failed:\n  " + "\n  ".join(failures))
    say(f"      passed: {size_mb:.3f} MB <= {opts.budget_mb} MB; int8 NME drop {drop:+.3f} <= {opts.max_nme_drop}")
