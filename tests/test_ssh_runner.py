"""The ssh runner against a real OpenSSH server on 127.0.0.1, started here; the "board" is this machine."""
import getpass
import json
import os
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner

from efld_export.arm.remote import compare_on_target
from efld_export.arm.ssh import SshTarget
from efld_export.cli import cli
from efld_export.data import load_records
from efld_export.errors import EFLDError

SSHD = shutil.which("sshd") or ("/usr/sbin/sshd" if os.path.exists("/usr/sbin/sshd") else None)
pytestmark = pytest.mark.skipif(SSHD is None or shutil.which("ssh") is None,
                                reason="OpenSSH server/client not installed (apt-get install openssh-server)")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def sshd(tmp_path_factory):
    """sshd -D on a high port with a temporary host key and one authorized client key."""
    d = tmp_path_factory.mktemp("sshd")
    for name in ("host_key", "client_key"):
        subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(d / name)], check=True)
    (d / "authorized_keys").write_text((d / "client_key.pub").read_text())
    (d / "authorized_keys").chmod(0o600)
    port = _free_port()
    (d / "sshd_config").write_text(f"""Port {port}
ListenAddress 127.0.0.1
HostKey {d / 'host_key'}
AuthorizedKeysFile {d / 'authorized_keys'}
PidFile {d / 'sshd.pid'}
PasswordAuthentication no
KbdInteractiveAuthentication no
PubkeyAuthentication yes
PermitRootLogin prohibit-password
StrictModes no
UsePAM no
Subsystem sftp internal-sftp
""")
    if os.geteuid() == 0:
        os.makedirs("/run/sshd", mode=0o755, exist_ok=True)  # privilege separation folder sshd insists on
    proc = subprocess.Popen([SSHD, "-D", "-e", "-f", str(d / "sshd_config")], stderr=open(d / "sshd.log", "w"))
    deadline = time.time() + 10
    while time.time() < deadline:
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                break
        if proc.poll() is not None:
            pytest.skip(f"sshd did not start: {(d / 'sshd.log').read_text()[-300:]}")
        time.sleep(0.1)
    settings = {"host": "127.0.0.1", "port": port, "user": getpass.getuser(), "key": str(d / "client_key"),
                "known_hosts": str(d / "known_hosts"), "python": sys.executable}
    yield settings
    proc.terminate()
    proc.wait(10)


def test_runner_over_ssh_matches_the_host(sshd, exported_tiny, data_root):
    records = load_records(data_root / "val", progress=False)
    target = SshTarget(**{**sshd, "key": Path(sshd["key"]), "known_hosts": Path(sshd["known_hosts"])})
    report = compare_on_target(exported_tiny / "efld_int8.tflite", records, target, data_dir=data_root / "val")
    assert report["max_abs_diff_px"] == 0.0  # same machine, same kernels: identical outputs
    assert all(v == 0 for v in report["nme_bbox_diff"].values())
    assert report["latency"]["n"] == len(records) and report["latency"]["emulated"] is False
    assert report["target"]["uname"].startswith("Linux") and report["device_info"]["runtime"]
    json.dumps(report)


def test_cli_with_a_config_file(sshd, exported_tiny, data_root, tmp_path):
    cfg = tmp_path / "board.yaml"
    cfg.write_text(yaml.safe_dump(sshd))
    out = tmp_path / "ssh.json"
    res = CliRunner().invoke(cli, ["arm", "ssh", str(exported_tiny / "efld_int8.tflite"), "--config", str(cfg),
                                   "--data", str(data_root / "val"), "--limit", "4", "--json", str(out),
                                   "--max-diff", "0.01"])
    assert res.exit_code == 0, res.output
    report = json.loads(out.read_text())
    assert report["n_images"] == 4 and report["target"]["port"] == sshd["port"]


def test_transport_errors_are_clear(sshd, exported_tiny, data_root):
    import numpy as np

    x = np.zeros((1, 112, 112, 3), np.int8)
    closed = SshTarget(**{**sshd, "port": _free_port()})
    with pytest.raises(EFLDError, match=r"making a work folder on .*127\.0\.0\.1.*failed .*\n.*(refused|closed)"):
        closed.run(exported_tiny / "efld_int8.tflite", x, 1, 0)
    no_python = SshTarget(**{**sshd, "python": "/nonexistent/python3"})
    with pytest.raises(EFLDError, match="needs numpy and tflite-runtime"):
        no_python.run(exported_tiny / "efld_int8.tflite", x, 1, 0)
    with pytest.raises(EFLDError, match="no ssh host"):
        SshTarget.from_config(None)
    bad = Path(sshd["key"]).parent / "bad.yaml"
    bad.write_text("host: a\npasword: x\n")
    with pytest.raises(EFLDError, match="unknown ssh setting"):
        SshTarget.from_config(bad)
