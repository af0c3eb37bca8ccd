"""QEMU user-mode aarch64: the runner under `qemu-aarch64-static -L ROOT` in a Debian arm64 root filesystem.

The root filesystem is built once by android_harness/build_rootfs.sh (Debian packages plus
aarch64 wheels of ai-edge-litert and numpy) and cached; every run then starts in a second or two.
Timings from here are emulated and say so.
"""
from __future__ import annotations

import os
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import EFLDError
from .remote import RUNNER, RunnerResult, run_checked

READY = ".efld-ready"  # written by build_rootfs.sh when the root filesystem is complete
SITE = "opt/efld/site"  # where build_rootfs.sh installs the aarch64 wheels


def default_root() -> Path:
    """$EFLD_QEMU_ROOT, else ~/.cache/efld/qemu-aarch64-bookworm (where build_rootfs.sh puts it)."""
    return Path(os.environ.get("EFLD_QEMU_ROOT", Path.home() / ".cache/efld/qemu-aarch64-bookworm"))


@dataclass
class QemuTarget:
    """Runs the runner with the root filesystem's own aarch64 python3."""

    root: Path
    qemu: str = "qemu-aarch64-static"
    timeout: float = 1800
    emulated = True

    def __post_init__(self) -> None:
        self.root = Path(self.root)
        if not (self.root / READY).is_file():
            raise EFLDError(f"{self.root}: no aarch64 root filesystem (build it once with "
                            f"android_harness/build_rootfs.sh {self.root})")
        if shutil.which(self.qemu) is None:
            raise EFLDError(f"{self.qemu} not found (apt-get install qemu-user-static)")

    def run(self, model: Path, inputs: np.ndarray, threads: int, warmup: int) -> RunnerResult:
        with tempfile.TemporaryDirectory(prefix="efld-qemu-") as tmp:
            np.save(Path(tmp) / "inputs.npy", inputs)
            out = Path(tmp) / "out.npz"
            cmd = [self.qemu, "-L", str(self.root), str(self.root / "usr/bin/python3"), str(RUNNER),
                   str(Path(model).resolve()), str(Path(tmp) / "inputs.npy"), str(out),
                   "--threads", str(threads), "--warmup", str(warmup)]
            env = {"PATH": os.environ.get("PATH", ""), "PYTHONPATH": str(self.root / SITE),
                   "PYTHONDONTWRITEBYTECODE": "1", "TF_CPP_MIN_LOG_LEVEL": "2"}
            run_checked(cmd, "the runner under QEMU", self.timeout, env=env)
            return RunnerResult.load(out)

    def describe(self) -> dict[str, Any]:
        proc = run_checked([self.qemu, "--version"], "qemu --version", 30)
        return {"kind": "qemu-user", "qemu": proc.stdout.splitlines()[0], "root": str(self.root), "emulated": True,
                "note": "times and peak memory are the emulator's on an x86 host, not a device's"}
