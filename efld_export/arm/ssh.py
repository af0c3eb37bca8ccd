"""Any ARM Linux board (Raspberry Pi, a phone's Termux) over ssh: push the runner, model and inputs, run, fetch.

The board needs python3 with numpy and tflite-runtime (or ai-edge-litert). Connection settings
come from flags or a YAML config (host, port, user, key, python, known_hosts, workdir).
"""
from __future__ import annotations

import contextlib
import shlex
import tempfile
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

import numpy as np
import yaml

from ..errors import EFLDError
from .remote import RUNNER, RunnerResult, run_checked


@dataclass
class SshTarget:
    """One ssh destination; every command runs with BatchMode (no password prompts)."""

    host: str
    port: int = 22
    user: str | None = None
    key: Path | None = None
    python: str = "python3"
    known_hosts: Path | None = None  # None: the user's own; with one, unknown host keys are accepted into it
    workdir: str = "/tmp"  # on the board; each run uses and then removes a fresh folder under it
    timeout: float = 1800
    emulated = False

    @classmethod
    def from_config(cls, path: Path | None, **overrides: Any) -> "SshTarget":
        """Settings from a YAML file, then the non-None overrides (command-line flags)."""
        cfg: dict[str, Any] = {}
        if path is not None:
            cfg = yaml.safe_load(Path(path).read_text()) or {}
            unknown = set(cfg) - {f.name for f in fields(cls)}
            if unknown:
                raise EFLDError(f"{path}: unknown ssh setting(s) {sorted(unknown)}")
        cfg.update({k: v for k, v in overrides.items() if v is not None})
        if not cfg.get("host"):
            raise EFLDError("no ssh host (give --host or a config with host:)")
        for k in ("key", "known_hosts"):
            if cfg.get(k) is not None:
                cfg[k] = Path(cfg[k]).expanduser()
        return cls(**cfg)

    def _options(self) -> list[str]:
        opts = ["-o", "BatchMode=yes", "-o", "ConnectTimeout=15"]
        if self.key is not None:
            opts += ["-i", str(self.key), "-o", "IdentitiesOnly=yes"]
        if self.known_hosts is not None:
            opts += ["-o", f"UserKnownHostsFile={self.known_hosts}", "-o", "StrictHostKeyChecking=accept-new"]
        return opts

    @property
    def destination(self) -> str:
        return f"{self.user}@{self.host}" if self.user else self.host

    def ssh(self, command: str, what: str) -> str:
        cmd = ["ssh", "-p", str(self.port), *self._options(), self.destination, command]
        return run_checked(cmd, f"{what} on {self.destination}:{self.port}", self.timeout).stdout

    def scp(self, sources: list[str], dest: str, what: str) -> None:
        run_checked(["scp", "-q", "-P", str(self.port), *self._options(), *sources, dest],
                    f"{what} ({self.destination}:{self.port})", self.timeout)

    def run(self, model: Path, inputs: np.ndarray, threads: int, warmup: int) -> RunnerResult:
        remote = self.ssh(f"mktemp -d {shlex.quote(self.workdir)}/efld.XXXXXX", "making a work folder").strip()
        try:
            with tempfile.TemporaryDirectory(prefix="efld-ssh-") as tmp:
                np.save(Path(tmp) / "inputs.npy", inputs)
                self.scp([str(RUNNER), str(model), str(Path(tmp) / "inputs.npy")], f"{self.destination}:{remote}/",
                         "copying the runner, model and inputs")
                q = shlex.quote
                self.ssh(f"cd {q(remote)} && {q(self.python)} device_runner.py {q(Path(model).name)} inputs.npy "
                         f"out.npz --threads {threads} --warmup {warmup}",
                         f"the runner ({self.python} needs numpy and tflite-runtime or ai-edge-litert)")
                self.scp([f"{self.destination}:{remote}/out.npz"], tmp, "fetching the outputs")
                return RunnerResult.load(Path(tmp) / "out.npz")
        finally:
            with contextlib.suppress(EFLDError):  # never hide the failure that got us here
                self.ssh(f"rm -rf {shlex.quote(remote)}", "removing the work folder")

    def describe(self) -> dict[str, Any]:
        return {"kind": "ssh", "host": self.host, "port": self.port, "user": self.user,
                "uname": self.ssh("uname -srm", "uname").strip(), "emulated": False}
