"""The int8 model on aarch64 kernels under QEMU: runs when the cached root filesystem exists
(android_harness/build_rootfs.sh, run by android_harness/ci_qemu.sh), is skipped otherwise."""
import shutil

import pytest

from efld_export.arm.qemu import READY, QemuTarget, default_root
from efld_export.arm.remote import compare_on_target
from efld_export.data import load_records

pytestmark = pytest.mark.skipif(not (default_root() / READY).is_file() or not shutil.which("qemu-aarch64-static"),
                                reason="no aarch64 root filesystem (android_harness/build_rootfs.sh) or QEMU")


def test_int8_nme_on_aarch64_equals_the_host(exported_tiny, data_root):
    records = load_records(data_root / "val", progress=False)
    report = compare_on_target(exported_tiny / "efld_int8.tflite", records, QemuTarget(default_root()),
                               data_dir=data_root / "val")
    assert report["device_info"]["machine"] == "aarch64"
    assert max(abs(v) for v in report["nme_bbox_diff"].values()) <= 0.01
    assert report["latency"]["emulated"] is True and "EMULATED" in report["latency"]["note"]
