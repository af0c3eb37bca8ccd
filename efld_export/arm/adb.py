"""Android over adb: TensorFlow Lite's own benchmark_model on the phone, pinned to its big cores.

benchmark_model is not built here: the user gives the path of TensorFlow Lite's prebuilt
android_aarch64 binary (see android_harness/README.md). The NME runner needs a Python on the
phone: use Termux's over ssh (efld_export.arm.ssh), not adb.
"""
from __future__ import annotations

import re
import shlex
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..errors import EFLDError
from .remote import run_checked

DEVICE_DIR = "/data/local/tmp/efld"


def parse_devices(text: str) -> list[tuple[str, str]]:
    """`adb devices` output -> [(serial, state)], state being device, unauthorized, offline, ..."""
    rows = []
    for line in text.splitlines():
        parts = line.split()
        if len(parts) >= 2 and not line.startswith(("List of devices", "*")):
            rows.append((parts[0], parts[1]))
    return rows


def pick_device(devices: list[tuple[str, str]], serial: str | None) -> str:
    """The serial to use, or an EFLDError that says what to do."""
    if serial is not None:
        devices = [d for d in devices if d[0] == serial]
        if not devices:
            raise EFLDError(f"adb: no device {serial!r} (see `adb devices`)")
    if not devices:
        raise EFLDError("adb: no Android device found: connect the phone by USB, enable Developer options > "
                        "USB debugging, and check that `adb devices` lists it")
    if len(devices) > 1:
        raise EFLDError(f"adb: several devices ({', '.join(s for s, _ in devices)}): choose one with --serial")
    name, state = devices[0]
    if state == "unauthorized":
        raise EFLDError(f"adb: device {name} is unauthorized: unlock the phone and accept the 'Allow USB "
                        "debugging?' prompt (if none shows, revoke USB debugging authorisations and replug)")
    if state != "device":
        raise EFLDError(f"adb: device {name} is {state}: replug it or restart adb (`adb kill-server`)")
    return name


def big_cores(max_freq_khz: dict[int, int]) -> list[int]:
    """The cores with the highest maximum frequency (the 'big' cluster); all cores if they are alike."""
    top = max(max_freq_khz.values())
    return sorted(c for c, f in max_freq_khz.items() if f == top)


def cpu_mask(cores: list[int]) -> str:
    """taskset's hexadecimal mask for a list of cores."""
    return format(sum(1 << c for c in cores), "x")


def benchmark_command(binary: str, graph: str, threads: int = 1, use_xnnpack: bool = True, num_runs: int = 1000,
                      warmup_runs: int = 100, mask: str | None = None) -> str:
    """The shell command run on the phone (taskset first when a mask is given)."""
    args = [binary, f"--graph={graph}", f"--num_threads={threads}", f"--use_xnnpack={str(use_xnnpack).lower()}",
            f"--num_runs={num_runs}", f"--warmup_runs={warmup_runs}"]
    cmd = " ".join(shlex.quote(a) for a in args)
    return f"taskset {mask} {cmd}" if mask else cmd


_TIMINGS = re.compile(r"Inference timings in us: Init: ([\d.e+]+), First inference: ([\d.e+]+), "
                      r"Warmup \(avg\): ([\d.e+]+), Inference \(avg\): ([\d.e+]+)")
_STATS = re.compile(r"count=(\d+) first=([\d.e+]+) curr=([\d.e+]+) min=([\d.e+]+) max=([\d.e+]+) "
                    r"avg=([\d.e+]+) std=([\d.e+]+)(?: p5=([\d.e+]+) median=([\d.e+]+) p95=([\d.e+]+))?")
_MEMORY = re.compile(r"(?:Peak memory footprint|Memory footprint delta from the start of the tool) \(MB\): "
                     r"init=([\d.e+]+) overall=([\d.e+]+)")
_PEAK = re.compile(r"Overall peak memory footprint \(MB\) via periodic monitoring: ([\d.e+]+)")


def parse_benchmark_output(text: str) -> dict[str, Any]:
    """benchmark_model's log (any version since TF 2.4, with or without INFO:/logcat prefixes) -> figures.

    Uses the summary line 'Inference timings in us', the last 'count=' line (the timed runs,
    the first one being the warm-up) and whichever memory lines this version prints.
    """
    m = _TIMINGS.search(text)
    if m is None:
        tail = "\n  ".join(text.strip().splitlines()[-8:]) or "(no output)"
        raise EFLDError(f"benchmark_model printed no 'Inference timings in us' line:\n  {tail}")
    init, first, warm, avg = (float(v) for v in m.groups())
    out: dict[str, Any] = {"init_ms": init / 1000, "first_inference_ms": first / 1000, "warmup_avg_ms": warm / 1000,
                           "avg_ms": avg / 1000, "fps": round(1e6 / avg, 1)}
    stats = _STATS.findall(text)
    if stats:
        count, _, _, lo, hi, _, std, _, median, _ = stats[-1]
        out.update(runs=int(count), min_ms=float(lo) / 1000, max_ms=float(hi) / 1000, std_ms=float(std) / 1000)
        if median:
            out.update(median_ms=float(median) / 1000, fps_median=round(1e6 / float(median), 1))
    mem = _MEMORY.search(text)
    if mem:
        out.update(mem_init_mb=float(mem[1]), mem_overall_mb=float(mem[2]))
    peak = _PEAK.search(text)
    if peak:
        out["peak_mem_mb"] = float(peak[1])
    return out


@dataclass
class Adb:
    """One phone through the adb client."""

    adb: str | None = None
    serial: str | None = None
    timeout: float = 600

    def __post_init__(self) -> None:
        found = shutil.which(self.adb or "adb")
        if found is None:
            raise EFLDError(f"{self.adb or 'adb'} not found: install Android's platform-tools "
                            "(Debian: apt-get install adb) or give its path with --adb")
        self.adb = found
        proc = run_checked([found, "devices"], "adb devices", 60)
        self.serial = pick_device(parse_devices(proc.stdout), self.serial)

    def _cmd(self, *args: str) -> list[str]:
        return [str(self.adb), "-s", str(self.serial), *args]

    def shell(self, command: str, what: str) -> str:
        proc = run_checked(self._cmd("shell", command), f"adb shell: {what}", self.timeout)
        return proc.stdout.replace("\r\n", "\n")

    def push(self, local: Path, remote: str) -> None:
        run_checked(self._cmd("push", str(local), remote), f"adb push {local}", self.timeout)

    def max_freqs(self) -> dict[int, int]:
        """Each core's maximum frequency (kHz), from sysfs; empty if the phone hides it."""
        text = self.shell("for f in /sys/devices/system/cpu/cpu[0-9]*/cpufreq/cpuinfo_max_freq; do "
                          "echo $f $(cat $f); done", "reading core frequencies")
        found = re.findall(r"cpu(\d+)/cpufreq/cpuinfo_max_freq (\d+)", text)
        return {int(c): int(f) for c, f in found}

    def has_taskset(self) -> bool:
        try:
            self.shell("command -v taskset", "looking for taskset")
            return True
        except EFLDError:
            return False

    def describe(self) -> dict[str, Any]:
        props = {k: self.shell(f"getprop {k}", k).strip() for k in
                 ("ro.product.model", "ro.board.platform", "ro.build.version.release", "ro.product.cpu.abi")}
        return {"kind": "adb", "serial": self.serial, **props}


def run_benchmark(adb: Adb, binary: Path, model: Path, threads: int = 1, num_runs: int = 1000,
                  warmup_runs: int = 100, use_xnnpack: bool = True, pin: bool = True) -> dict[str, Any]:
    """Push benchmark_model and the model, run it (big cores pinned where possible), parse its log."""
    adb.shell(f"mkdir -p {DEVICE_DIR}", "making the work folder")
    tool, graph = f"{DEVICE_DIR}/benchmark_model", f"{DEVICE_DIR}/{Path(model).name}"
    adb.push(binary, tool)
    adb.push(model, graph)
    adb.shell(f"chmod 755 {tool}", "making benchmark_model executable")
    mask = None
    freqs = adb.max_freqs() if pin else {}
    if freqs and adb.has_taskset():
        cores = big_cores(freqs)
        mask = cpu_mask(cores) if len(cores) < len(freqs) else None
    command = benchmark_command(tool, graph, threads, use_xnnpack, num_runs, warmup_runs, mask)
    try:
        log = adb.shell(command, "benchmark_model")
    except EFLDError as e:
        raise EFLDError(f"{e}\n(is {binary} TensorFlow Lite's android_aarch64 benchmark_model?)") from None
    return {"device": adb.describe(), "device_command": command, "pinned_cores_mask": mask,
            "result": parse_benchmark_output(log), "log": log}

