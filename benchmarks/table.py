"""Rewrite the tables of benchmarks/README.md from the recorded JSON in benchmarks/results/.

    python3 benchmarks/table.py
"""
from __future__ import annotations

import json
import re
from pathlib import Path

HERE = Path(__file__).parent
RESULTS = HERE / "results"


def _load(name: str) -> dict | None:
    path = RESULTS / name
    return json.loads(path.read_text()) if path.is_file() else None


def _bins(nme: dict | None) -> str:
    if not nme:
        return "-"
    return f"**{nme['mean_of_bins']:.2f}** ({nme['yaw_0_30']:.2f} / {nme['yaw_30_60']:.2f} / {nme['yaw_60_90']:.2f})"


def host_table(rep: dict) -> str:
    mp = next((r for r in rep["results"] if r["kind"] == "mediapipe"), None)
    rows = ["| model | size (MB) | median / p90 (ms) | fps | first run (ms) | peak RSS (MB) | x MediaPipe | "
            "NME bbox: mean of bins (0-30 / 30-60 / 60-90) | vs fitted points |",
            "| --- | ---: | ---: | ---: | ---: | ---: | ---: | --- | --- |"]
    for r in rep["results"]:
        lat, mem = r["latency"], r["memory"]
        speedup = f"{mp['latency']['median_ms'] / lat['median_ms']:.1f}" if mp else "-"
        fitted = f"{r['nme_bbox_fitted']['mean_of_bins']:.2f}" if "nme_bbox_fitted" in r else "-"
        rows.append(f"| {r['name']} | {r['size_mb']:.2f} | {lat['median_ms']:.3f} / {lat['p90_ms']:.3f} | "
                    f"{lat['fps']:.0f} | {lat['first_ms']:.2f} | {mem['peak_rss_mb']:.0f} | {speedup} | "
                    f"{_bins(r.get('nme_bbox'))} | {fitted} |")
    ref = rep["reference"]
    rows.append(f"| {ref['name']} | {ref['size_mb']} | {1000 / ref['fps']:.2f} (phone) | {ref['fps']:.0f} (phone) "
                "| - | - | - | - | - |")
    int8 = next((r for r in rep["results"] if r["name"].endswith("int8.tflite")), None)
    if int8 and mp:
        med = int8["latency"]["median_ms"]
        ratio = mp["latency"]["median_ms"] / med
        rows.append(f"\nint8 artifact: median {med:.3f} ms (target <= 0.4: {'met' if med <= 0.4 else 'NOT met'}), "
                    f"{ratio:.1f}x faster than MediaPipe in the same run (target >= 5: "
                    f"{'met' if ratio >= 5 else 'NOT met'}).")
    host = rep["host"]
    return "\n".join(rows) + (f"\n\nHost: {host['cpu']}, {host['cores']} cores, {rep['threads']} thread, "
                              f"{rep['n_images']} images of {rep['data']}; load average at start "
                              f"{host['load_average_at_start']}. Command: `{rep['command']}`")


def arm_table(qemu: dict | None, timing: dict | None, devices: list[dict]) -> str:
    rows = ["| target | model | NME host | NME device | max bin diff | max point diff (px) | latency median (ms) | "
            "fps |", "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: |"]
    for rep in ([qemu] if qemu else []) + devices:
        diff = max(abs(v) for v in rep["nme_bbox_diff"].values() if v == v)
        lat = rep["latency"]
        label = " (emulated)" if lat.get("emulated") else ""
        kind = rep["target"]["kind"] + (f" {rep['device_info']['machine']}" if "device_info" in rep else "")
        rows.append(f"| {kind} | {Path(rep['model']).name} | {rep['nme_bbox_host']['mean_of_bins']:.4f} | "
                    f"{rep['nme_bbox_device']['mean_of_bins']:.4f} | {diff:.5f} | {rep['max_abs_diff_px']:.4f} | "
                    f"{lat['median_ms']:.2f}{label} | {lat['fps']:.0f}{label} |")
    text = "\n".join(rows)
    if qemu:
        text += f"\n\nQEMU: {qemu['target']['qemu']}, runtime {qemu['device_info']['runtime']} on Python " \
                f"{qemu['device_info']['python']}. Command: `{qemu['command']}`"
    if timing:
        c, w = timing["cold"], timing["cached"]
        text += (f"\n\nQEMU run time: cold {c['total_s']} s (root filesystem {c['build_rootfs_s']} s + run "
                 f"{c['run_s']} s), cached {w['total_s']} s (root filesystem {w['build_rootfs_s']} s + run "
                 f"{w['run_s']} s).")
    return text


def phone_table(runs: list[dict]) -> str:
    """benchmark_model runs over adb (efld arm adb --json benchmarks/results/adb_NAME.json)."""
    if not runs:
        return "No phone run recorded yet (see android_harness/README.md)."
    rows = ["| phone | SoC | model | avg (ms) | fps | peak memory (MB) | command |", "| --- | --- | --- | ---: | ---: | ---: | --- |"]
    for rep in runs:
        d, r = rep["device"], rep["result"]
        rows.append(f"| {d.get('ro.product.model', '?')} | {d.get('ro.board.platform', '?')} | "
                    f"{rep['device_command'].split('--graph=')[1].split()[0].rsplit('/', 1)[-1]} | {r['avg_ms']:.3f} | "
                    f"{r['fps']:.0f} | {r.get('peak_mem_mb', r.get('mem_overall_mb', '-'))} | `{rep['command']}` |")
    return "\n".join(rows)


def replace(text: str, name: str, body: str) -> str:
    pattern = re.compile(rf"(<!-- {name}:start -->\n).*?(<!-- {name}:end -->)", re.S)
    return pattern.sub(lambda m: m[1] + body + "\n" + m[2], text)


def main() -> None:
    readme = HERE / "README.md"
    text = readme.read_text()
    host = _load("host_bench.json")
    if host:
        text = replace(text, "host", host_table(host))
    devices = [json.loads(p.read_text()) for p in sorted(RESULTS.glob("device_*.json"))]
    text = replace(text, "arm", arm_table(_load("qemu_aarch64.json"), _load("qemu_timing.json"), devices))
    text = replace(text, "phone", phone_table([json.loads(p.read_text()) for p in sorted(RESULTS.glob("adb_*.json"))]))
    readme.write_text(text)


if __name__ == "__main__":
    main()
