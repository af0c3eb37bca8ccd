"""Host benchmark: every artifact and the peers on the same face crops with the same thread count, in one run.

Accuracy goes through the one evaluator (NME on a dataset folder). Speed is measured in a fresh
child process per model, so that one model's memory and warm caches never count for another:
it times the landmark step alone (a 112x112 crop in, 68 points out: preprocess, quantise,
invoke, dequantise; each peer's own equivalent) after warm-up runs, and reads the process's peak
resident memory.
"""
from __future__ import annotations

import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from typing import Any, Callable

import numpy as np

from .crop import box_from_points, crop_face
from .data.record import Record
from .errors import EFLDError
from .evaluate import evaluate
from .release import tool_versions

#: The method's reference figures (PFLD-style detector as published): int8 size and phone speed.
REFERENCE = {"name": "method reference (Snapdragon 845)", "size_mb": 2.1, "fps": 140.0}
PEERS = ("mediapipe", "dlib")


@dataclass
class Subject:
    """One model in the benchmark: how to build its landmarker and how it crops a face."""

    name: str
    kind: str  # "efld" or a peer's name
    file: Path
    threads: int

    def landmarker(self) -> Any:
        """Something with predict_batch (for the evaluator) and crop/points (for the timed step)."""
        if self.kind == "efld":
            return EfldLandmarker(self.file, self.threads)
        from .peers import DlibPeer, MediaPipePeer

        return MediaPipePeer(self.file, self.threads) if self.kind == "mediapipe" else DlibPeer(self.file)


class EfldLandmarker:
    """Our artifact through the runtime layer, with the same crop/points interface as a peer."""

    def __init__(self, file: Path, threads: int):
        from .runtime import LandmarkModel

        if file.suffix in (".pt", ".pth"):
            import torch

            torch.set_num_threads(threads)  # TorchBackend uses the process-wide setting
        self.model = LandmarkModel.from_artifact(file, threads)
        self.predict_batch = self.model.predict_batch

    def crop(self, image: np.ndarray, box: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        return crop_face(image, box)

    def points(self, crop: np.ndarray) -> np.ndarray:
        return self.model.predict_crops([crop])[0][0]


def available_peers(threads: int) -> list[Subject]:
    """The peers whose packages and model files are installed (the `peers` extra, libdlib-data)."""
    from .peers import DLIB_MODEL, find_mediapipe_model

    out = []
    try:
        out.append(Subject("mediapipe face_landmark", "mediapipe", find_mediapipe_model(), threads))
    except EFLDError as e:
        print(f"peer skipped: {e}", file=sys.stderr)
    try:
        import dlib  # noqa: F401

        if DLIB_MODEL.is_file():
            out.append(Subject("dlib shape_predictor_68", "dlib", DLIB_MODEL, threads))
        else:
            print(f"peer skipped: {DLIB_MODEL} not found (apt-get install libdlib-data)", file=sys.stderr)
    except ImportError:
        print("peer skipped: dlib is not installed (pip install dlib-bin)", file=sys.stderr)
    return out


def _status_mb(field: str) -> float:
    """A memory line of /proc/self/status (VmRSS, VmHWM) in MB; NaN where there is none."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith(field + ":"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return float("nan")


def time_steps(step: Callable[[np.ndarray], Any], crops: np.ndarray, runs: int, warmup: int) -> dict[str, Any]:
    """Warm-up then timed calls of step(crop), cycling through the crops; milliseconds."""
    warm = []
    for i in range(warmup):
        t = time.perf_counter()
        step(crops[i % len(crops)])
        warm.append((time.perf_counter() - t) * 1000)
    times = np.empty(runs)
    for i in range(runs):
        crop = crops[i % len(crops)]
        t = time.perf_counter()
        step(crop)
        times[i] = (time.perf_counter() - t) * 1000
    med = float(np.median(times))
    return {"first_ms": round(warm[0], 4) if warm else None, "warmup_mean_ms": round(float(np.mean(warm)), 4)
            if warm else None, "warmup_runs": warmup, "runs": runs, "median_ms": round(med, 4),
            "p90_ms": round(float(np.percentile(times, 90)), 4), "mean_ms": round(float(times.mean()), 4),
            "fps": round(1000 / med, 1)}


def _measure_child(spec: dict[str, Any]) -> dict[str, Any]:
    """In the child process: load one model, time its landmark step, read the peak memory."""
    crops = np.load(spec["crops"])
    base = _status_mb("VmRSS")
    t = time.perf_counter()
    landmarker = Subject(spec["name"], spec["kind"], Path(spec["file"]), spec["threads"]).landmarker()
    load_ms = (time.perf_counter() - t) * 1000
    latency = time_steps(landmarker.points, crops, spec["runs"], spec["warmup"])
    peak = _status_mb("VmHWM")
    return {"latency": {**latency, "load_ms": round(load_ms, 1)},
            "memory": {"peak_rss_mb": round(peak, 1), "model_peak_mb": round(peak - base, 1),
                       "note": "model_peak_mb = peak RSS minus the RSS before loading (runtime + model + buffers)"}}


def measure_speed(subject: Subject, crops: np.ndarray, runs: int, warmup: int, timeout: float = 900) -> dict[str, Any]:
    """Run _measure_child in a fresh Python process."""
    with tempfile.TemporaryDirectory(prefix="efld-bench-") as tmp:
        np.save(Path(tmp) / "crops.npy", crops)
        spec = {"name": subject.name, "kind": subject.kind, "file": str(subject.file), "threads": subject.threads,
                "crops": str(Path(tmp) / "crops.npy"), "runs": runs, "warmup": warmup}
        env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2", "OMP_NUM_THREADS": str(subject.threads)}
        proc = subprocess.run([sys.executable, "-m", "efld_export.bench", json.dumps(spec)], capture_output=True,
                              text=True, env=env, timeout=timeout)
    if proc.returncode != 0:
        tail = "\n  ".join(proc.stderr.strip().splitlines()[-8:])
        raise EFLDError(f"timing {subject.name} failed:\n  {tail}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def host_info() -> dict[str, Any]:
    """The machine the figures come from (and how busy it was)."""
    cpuinfo = Path("/proc/cpuinfo")
    names = [line.split(":", 1)[1].strip() for line in (cpuinfo.read_text().splitlines() if cpuinfo.exists() else [])
             if line.startswith("model name")]
    return {"machine": platform.machine(), "cpu": names[0] if names else platform.processor(),
            "cores": os.cpu_count(), "python": platform.python_version(),
            "load_average_at_start": [round(v, 2) for v in os.getloadavg()]}


def _versions() -> dict[str, str]:
    out = tool_versions()
    for name in ("mediapipe", "dlib-bin"):
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            pass
    return out


def bench(artifacts: list[Path], records: list[Record] | None, data_dir: Path | None = None, threads: int = 1,
          peers: bool = True, runs: int = 1000, warmup: int = 50, speed_crops: int = 100,
          say: Callable[[str], None] = print) -> dict[str, Any]:
    """The whole benchmark as a JSON-ready report."""
    subjects = [Subject(name, "efld", Path(a), threads) for name, a in zip(artifact_names(artifacts), artifacts)]
    if peers:
        subjects += available_peers(threads)
    rng = np.random.default_rng(0)
    results = []
    for s in subjects:
        say(f"{s.name}: accuracy and speed")
        landmarker = s.landmarker()
        row: dict[str, Any] = {"name": s.name, "kind": s.kind, "file": str(s.file), "bytes": s.file.stat().st_size,
                               "size_mb": round(s.file.stat().st_size / 1e6, 3)}
        if s.file.suffix == ".tflite":
            from .export.tflite import xnnpack_report

            row["xnnpack"] = xnnpack_report(s.file)
        if records:
            report, _ = evaluate(landmarker, records, data_dir, progress=False)
            row.update({k: report[k] for k in ("nme_bbox", "nme_bbox_fitted", "nme_interocular") if k in report})
            faces = records[:speed_crops]
            crops = np.stack([landmarker.crop(r.image(), box_from_points(r.points))[0] for r in faces])
        else:  # no data: speed only, on noise crops of the subject's input size
            size = landmarker.crop(np.zeros((8, 8, 3), np.uint8), np.array([2.0, 2.0, 4.0, 4.0]))[0].shape
            crops = rng.integers(0, 256, (speed_crops, *size), dtype=np.uint8)
        row.update(measure_speed(s, crops, runs, warmup))
        results.append(row)
    return {"threads": threads, "host": host_info(), "data": str(data_dir) if data_dir else None,
            "n_images": len(records) if records else 0, "step": "one face crop in, 68 points out (preprocessing, "
            "quantisation, invoke and output read included), 1 face at a time", "tools": _versions(),
            "reference": REFERENCE, "results": results, "ratios": ratios(results)}


def artifact_names(artifacts: list[Path]) -> list[str]:
    """Each artifact's file name, or folder/name where names repeat (two releases' efld_int8.tflite):
    rows and ratios are keyed by name, so two artifacts must never share one."""
    paths = [Path(a) for a in artifacts]
    names = [p.name for p in paths]
    names = [f"{p.parent.name}/{p.name}" if names.count(p.name) > 1 else p.name for p in paths]
    if len(set(names)) < len(names):
        raise EFLDError(f"artifacts named alike twice: {', '.join(sorted({n for n in names if names.count(n) > 1}))}")
    return names


def ratios(results: list[dict[str, Any]]) -> dict[str, Any]:
    """Speed-ups of each artifact over each peer, from the same run (median latency)."""
    peers = [r for r in results if r["kind"] != "efld"]
    out = {}
    for r in results:
        if r["kind"] == "efld":
            for p in peers:
                out[f"{r['name']} vs {p['name']}"] = round(p["latency"]["median_ms"] / r["latency"]["median_ms"], 2)
    return out


def chart(report: dict[str, Any], path: Path) -> None:
    """NME (mean of the yaw bins) against median latency, marker area by model size."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from matplotlib.ticker import FormatStrFormatter, LogLocator, NullFormatter

    fig, ax = plt.subplots(figsize=(7.5, 4.8), dpi=110)
    for k, r in enumerate(report["results"]):
        nme = r.get("nme_bbox", {}).get("mean_of_bins", r.get("nme_bbox", {}).get("overall", np.nan))
        colour = "tab:blue" if r["kind"] == "efld" else "tab:orange"
        ax.scatter(r["latency"]["median_ms"], nme, s=30 + 120 * np.sqrt(r["size_mb"]), color=colour, alpha=0.6,
                   edgecolors="black")
        ax.annotate(f"{r['name']} ({r['size_mb']:.2f} MB)", (r["latency"]["median_ms"], nme), fontsize=7,
                    xytext=(8, 10 - 11 * (k % 3)), textcoords="offset points")  # staggered: close points
    ax.set_xscale("log")
    ax.xaxis.set_major_locator(LogLocator(subs=(1, 2, 5)))
    ax.xaxis.set_major_formatter(FormatStrFormatter("%g"))
    ax.xaxis.set_minor_formatter(NullFormatter())
    ax.margins(x=0.25, y=0.12)
    ax.set_xlabel(f"median latency of the landmark step (ms, log scale; {report['threads']} thread(s), host)")
    ax.set_ylabel("NME bbox, mean of yaw bins (%)")
    ax.set_title("EFLD artifacts (blue) vs peers (orange); marker area ~ size", fontsize=9)
    ax.grid(alpha=0.3, which="both")
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)


if __name__ == "__main__":
    print(json.dumps(_measure_child(json.loads(sys.argv[1]))))
