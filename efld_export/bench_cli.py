"""`efld bench` (host) and `efld arm qemu|ssh|adb` (ARM targets): the benchmark harness's commands."""
from __future__ import annotations

import json
from pathlib import Path

import click

from .errors import EFLDError


def _records(data: Path | None, limit: int | None) -> tuple[list, Path | None]:
    """The dataset's records (all of them unless limited), or none if there is no data folder."""
    from .data import data_root, load_records, parse_spec

    spec = data if data is not None else data_root() / "aflw2000-3d-val"
    folder = parse_spec(spec)[0]
    if not folder.exists():
        if data is not None:
            raise EFLDError(f"{folder}: data folder not found")
        click.echo(f"no data at {folder}: speed only, no NME", err=True)
        return [], None
    records = load_records(spec, progress=False)
    return records[:limit] if limit else records, folder


def _command_line() -> str:
    """The command as typed, recorded in every report."""
    import shlex
    import sys

    return "efld " + shlex.join(sys.argv[1:])


def _write(path: Path | None, report: dict) -> None:
    from .files import write_text

    text = json.dumps(report, indent=2)
    if path:
        write_text(path, text)
    click.echo(text if not path else f"wrote {path}")


@click.command("bench")
@click.argument("artifacts", nargs=-1, required=True, type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--json", "json_out", type=click.Path(dir_okay=False, path_type=Path), help="Write the report here.")
@click.option("--threads", default=1, show_default=True, help="Threads of every runtime (peers included).")
@click.option("--data", type=click.Path(path_type=Path),
              help="Dataset folder for NME (default: aflw2000-3d-val in the data root; none: speed only).")
@click.option("--limit", type=int, help="Use only the first N images.")
@click.option("--peers/--no-peers", default=True, show_default=True,
              help="Also run MediaPipe's face landmark model and dlib's 68-point model where installed.")
@click.option("--runs", default=1000, show_default=True, help="Timed runs per model.")
@click.option("--warmup", default=50, show_default=True, help="Untimed warm-up runs per model.")
@click.option("--chart", type=click.Path(dir_okay=False, path_type=Path), help="PNG: NME vs latency vs size.")
def bench_cmd(artifacts: tuple[Path, ...], json_out: Path | None, threads: int, data: Path | None,
              limit: int | None, peers: bool, runs: int, warmup: int, chart: Path | None) -> None:
    """Benchmark ARTIFACTS (.pt, .onnx, .tflite) and the peers on the host, side by side.

    Every model gets the same faces: latency of the landmark step (warm-up, median, p90, fps),
    peak memory, size and NME (through the same evaluator), with speed ratios to the peers.
    """
    from . import bench

    records, folder = _records(data, limit)
    report = bench.bench(list(artifacts), records, folder, threads, peers, runs, warmup,
                         say=lambda m: click.echo(m, err=True))
    report["command"] = _command_line()
    if chart:
        bench.chart(report, chart)
    _write(json_out, report)


@click.group("arm")
def arm_cmd() -> None:
    """Run an int8 .tflite on ARM (QEMU aarch64, a board over ssh, a phone over adb) and compare with the host."""


def _compare(model: Path, target, data: Path | None, limit: int | None, threads: int, json_out: Path | None,
             max_diff: float | None) -> None:
    """Host-vs-target NME on the same crops; exits non-zero past --max-diff."""
    from .arm.remote import compare_on_target

    records, folder = _records(data, limit)
    if not records:
        raise EFLDError("no data: the ARM comparison needs a dataset folder (--data)")
    report = compare_on_target(model, records, target, threads, folder)
    report["command"] = _command_line()
    for k in ("host_report", "device_report"):
        report[k].pop("seconds", None)
    _write(json_out, report)
    worst = max(abs(v) for v in report["nme_bbox_diff"].values() if v == v)
    click.echo(f"NME device - host: {report['nme_bbox_diff']} (largest |diff| {worst:.5f})", err=True)
    if max_diff is not None and worst > max_diff:
        raise EFLDError(f"device NME differs from the host's by {worst:.5f} > {max_diff}")


_common = [
    click.argument("model", type=click.Path(exists=True, dir_okay=False, path_type=Path)),
    click.option("--data", type=click.Path(path_type=Path), help="Dataset folder (default: aflw2000-3d-val)."),
    click.option("--limit", type=int, help="Use only the first N images."),
    click.option("--threads", default=1, show_default=True),
    click.option("--json", "json_out", type=click.Path(dir_okay=False, path_type=Path)),
    click.option("--max-diff", type=float, help="Fail if any NME bin differs from the host's by more (points of %)."),
]


def _with_common(f):  # noqa: ANN001, ANN202 - click decorator plumbing
    for deco in reversed(_common):
        f = deco(f)
    return f


@arm_cmd.command("qemu")
@_with_common
@click.option("--root", type=click.Path(file_okay=False, path_type=Path),
              help="aarch64 root filesystem (default $EFLD_QEMU_ROOT or ~/.cache/efld/qemu-aarch64-bookworm; "
                   "build it with android_harness/build_rootfs.sh).")
def qemu_cmd(model: Path, data: Path | None, limit: int | None, threads: int, json_out: Path | None,
             max_diff: float | None, root: Path | None) -> None:
    """NME of MODEL computed by aarch64 kernels under QEMU user mode (timings are emulated)."""
    from .arm.qemu import QemuTarget, default_root

    _compare(model, QemuTarget(root or default_root()), data, limit, threads, json_out, max_diff)


@arm_cmd.command("ssh")
@_with_common
@click.option("--config", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="YAML with host, port, user, key, python, known_hosts, workdir (flags override it).")
@click.option("--host")
@click.option("--port", type=int)
@click.option("--user")
@click.option("--key", type=click.Path(exists=True, dir_okay=False, path_type=Path), help="Private key file.")
@click.option("--python", "python", help="Python on the board (default python3).")
def ssh_cmd(model: Path, data: Path | None, limit: int | None, threads: int, json_out: Path | None,
            max_diff: float | None, config: Path | None, **conn) -> None:
    """NME and real latency of MODEL on an ARM Linux board (Raspberry Pi, Termux) over ssh."""
    from .arm.ssh import SshTarget

    _compare(model, SshTarget.from_config(config, **conn), data, limit, threads, json_out, max_diff)


@arm_cmd.command("adb")
@click.argument("model", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--benchmark-model", "binary", required=True, type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="TensorFlow Lite's android_aarch64 benchmark_model binary (see android_harness/README.md).")
@click.option("--adb", help="adb client (default: adb on PATH).")
@click.option("--serial", help="Device serial when several are connected.")
@click.option("--threads", default=1, show_default=True)
@click.option("--runs", default=1000, show_default=True)
@click.option("--warmup", default=100, show_default=True)
@click.option("--xnnpack/--no-xnnpack", default=True, show_default=True)
@click.option("--pin/--no-pin", default=True, show_default=True, help="taskset to the big cores where possible.")
@click.option("--json", "json_out", type=click.Path(dir_okay=False, path_type=Path))
def adb_cmd(model: Path, binary: Path, adb: str | None, serial: str | None, threads: int, runs: int, warmup: int,
            xnnpack: bool, pin: bool, json_out: Path | None) -> None:
    """Latency, fps and memory of MODEL on an Android phone with TensorFlow Lite's benchmark_model."""
    from .arm.adb import Adb, run_benchmark

    report = run_benchmark(Adb(adb, serial), binary, model, threads, runs, warmup, xnnpack, pin)
    report["command"] = _command_line()
    _write(json_out, report)
