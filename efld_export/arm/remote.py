"""Running the on-device runner on a target, and the host-vs-device NME comparison built on it.

A target copies device_runner.py, the model and the quantised inputs to the device, runs it
and brings the raw outputs back. RemoteTFLiteBackend is the runtime layer's TFLiteBackend with
only its invoke step moved to the target, so the device's NME goes through the same
preprocessing, quantisation, dequantisation and evaluator as the host's.
"""
from __future__ import annotations

import json
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from ..data.record import Record
from ..errors import EFLDError
from ..evaluate import evaluate
from ..runtime import LandmarkModel, TFLiteBackend

RUNNER = Path(__file__).with_name("device_runner.py")


@dataclass
class RunnerResult:
    """What device_runner.py wrote: raw outputs, per-invoke times (ms) and the device's info."""

    outputs: list[np.ndarray]
    times_ms: np.ndarray
    info: dict[str, Any]

    @classmethod
    def load(cls, path: Path) -> "RunnerResult":
        with np.load(path) as z:
            n = sum(1 for k in z.files if k.startswith("output_"))
            return cls([z[f"output_{i}"] for i in range(n)], z["times_ms"], json.loads(str(z["info"])))


class Target(Protocol):
    """Somewhere the runner can run: `run` pushes, runs and fetches; `describe` names it in reports."""

    emulated: bool

    def run(self, model: Path, inputs: np.ndarray, threads: int, warmup: int) -> RunnerResult:
        ...

    def describe(self) -> dict[str, Any]:
        ...


def run_checked(cmd: list[str], what: str, timeout: float, **kw: Any) -> subprocess.CompletedProcess:
    """Run a transport command; a failure raises EFLDError with what failed and the tail of its stderr."""
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, **kw)
    except FileNotFoundError:
        raise EFLDError(f"{what}: {cmd[0]} not found") from None
    except subprocess.TimeoutExpired:
        raise EFLDError(f"{what}: no answer within {timeout:.0f} s") from None
    if proc.returncode != 0:
        tail = "\n  ".join((proc.stderr or proc.stdout).strip().splitlines()[-8:])
        raise EFLDError(f"{what} failed (exit {proc.returncode}):\n  {tail}")
    return proc


class RemoteTFLiteBackend(TFLiteBackend):
    """TFLiteBackend whose invokes run on a target (the local interpreter only gives the I/O details)."""

    def __init__(self, path: Path, target: Target, threads: int = 1, warmup: int = 20):
        super().__init__(path, threads)
        self.path, self.target, self.threads, self.warmup = Path(path), target, threads, warmup
        self.results: list[RunnerResult] = []

    def invoke(self, x: np.ndarray) -> list[np.ndarray]:
        result = self.target.run(self.path, x, self.threads, self.warmup)
        self.results.append(result)
        return result.outputs


def latency_summary(times_ms: np.ndarray) -> dict[str, float]:
    """Median, p90 and the fps the median implies."""
    med = float(np.median(times_ms))
    return {"median_ms": round(med, 4), "p90_ms": round(float(np.percentile(times_ms, 90)), 4),
            "fps": round(1000 / med, 1), "n": int(len(times_ms))}


def compare_on_target(model: Path, records: list[Record], target: Target, threads: int = 1,
                      data_dir: Path | None = None, warmup: int = 20) -> dict[str, Any]:
    """Evaluate `model` on the host and on `target` (one round trip for all faces); a JSON-ready report."""
    n = len(records)
    host, host_pts = evaluate(LandmarkModel(TFLiteBackend(model, threads), batch_size=n), records, data_dir,
                              progress=False, chunk=n)
    backend = RemoteTFLiteBackend(model, target, threads, warmup)
    device, dev_pts = evaluate(LandmarkModel(backend, batch_size=n), records, data_dir, progress=False, chunk=n)
    times = np.concatenate([r.times_ms for r in backend.results])
    latency = {**latency_summary(times), "includes": "set input + invoke + read outputs, in Python on the target",
               "emulated": target.emulated}
    if target.emulated:
        latency["note"] = "EMULATED (QEMU user mode on an x86 host): not a device speed"
    return {"model": str(model), "target": target.describe(), "device_info": backend.results[-1].info,
            "threads": threads, "n_images": n, "nme_bbox_host": host["nme_bbox"],
            "nme_bbox_device": device["nme_bbox"],
            "nme_bbox_diff": {k: round(v - host["nme_bbox"][k], 5) for k, v in device["nme_bbox"].items()
                              if not k.startswith("n_")},
            "max_abs_diff_px": round(float(np.nanmax(np.abs(dev_pts - host_pts))), 5), "latency": latency,
            "host_report": host, "device_report": device}
