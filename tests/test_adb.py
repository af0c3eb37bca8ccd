"""adb path: benchmark_model's command, its log parser, and the transport's errors (a stand-in adb client)."""
import json
from pathlib import Path

import pytest

from efld_export.arm.adb import (Adb, benchmark_command, big_cores, cpu_mask, parse_benchmark_output, parse_devices,
                                 pick_device, run_benchmark)
from efld_export.errors import EFLDError

FIXTURES = Path(__file__).parent / "fixtures" / "benchmark_model"


def test_command_pins_big_cores_and_sets_every_flag():
    freqs = {0: 1766400, 1: 1766400, 2: 1766400, 3: 1766400, 4: 2803200, 5: 2803200, 6: 2803200, 7: 2803200}
    assert big_cores(freqs) == [4, 5, 6, 7] and cpu_mask(big_cores(freqs)) == "f0"
    cmd = benchmark_command("/data/local/tmp/efld/benchmark_model", "/data/local/tmp/efld/efld_int8.tflite",
                            threads=1, use_xnnpack=True, num_runs=1000, warmup_runs=100, mask="f0")
    assert cmd == ("taskset f0 /data/local/tmp/efld/benchmark_model --graph=/data/local/tmp/efld/efld_int8.tflite "
                   "--num_threads=1 --use_xnnpack=true --num_runs=1000 --warmup_runs=100")
    assert benchmark_command("b", "m.tflite", 4, False, 10, 2).startswith("b --graph=m.tflite --num_threads=4 "
                                                                         "--use_xnnpack=false")
    assert cpu_mask([0, 1, 2, 3, 4, 5, 6, 7]) == "ff" and big_cores({0: 5, 1: 5}) == [0, 1]


@pytest.mark.parametrize("name, avg_ms, runs, mem", [
    ("tf2.4_plain.txt", 0.63245, 1571, {"mem_init_mb": 2.48047, "mem_overall_mb": 3.79297}),
    ("tf2.12_info.txt", 0.59087, 1688, {"mem_overall_mb": 4.23828, "peak_mem_mb": 9.48828}),
    ("litert_nightly_percentiles.txt", 0.45695, 2187, {"peak_mem_mb": 12.8945}),
])
def test_parser_reads_every_layout(name, avg_ms, runs, mem):
    out = parse_benchmark_output((FIXTURES / name).read_text())
    assert out["avg_ms"] == pytest.approx(avg_ms) and out["fps"] == pytest.approx(1000 / avg_ms, abs=0.1)
    assert out["runs"] == runs  # the timed runs' count= line, not the warm-up's
    assert out["first_inference_ms"] > out["avg_ms"] and out["init_ms"] > 0
    for k, v in mem.items():
        assert out[k] == pytest.approx(v)


def test_parser_reads_percentiles_where_printed():
    out = parse_benchmark_output((FIXTURES / "litert_nightly_percentiles.txt").read_text())
    assert out["median_ms"] == pytest.approx(0.449) and out["fps_median"] == pytest.approx(2227.2)
    assert "median_ms" not in parse_benchmark_output((FIXTURES / "tf2.12_info.txt").read_text())


def test_parser_reports_a_failed_run():
    with pytest.raises(EFLDError, match="no 'Inference timings in us'.*Could not open|Benchmarking failed"):
        parse_benchmark_output((FIXTURES / "error_missing_graph.txt").read_text())


def test_device_states_give_clear_messages():
    text = "List of devices attached\n8ABX0B1A2\tunauthorized usb:1-1 transport_id:3\n\n"
    assert parse_devices(text) == [("8ABX0B1A2", "unauthorized")]
    with pytest.raises(EFLDError, match="unauthorized: unlock the phone and accept"):
        pick_device(parse_devices(text), None)
    with pytest.raises(EFLDError, match="no Android device found"):
        pick_device(parse_devices("* daemon started successfully\nList of devices attached\n\n"), None)
    with pytest.raises(EFLDError, match="offline"):
        pick_device([("a", "offline")], None)
    with pytest.raises(EFLDError, match="several devices .*--serial"):
        pick_device([("a", "device"), ("b", "device")], None)
    assert pick_device([("a", "device"), ("b", "device")], "b") == "b"
    with pytest.raises(EFLDError, match="no device 'c'"):
        pick_device([("a", "device")], "c")


def fake_adb(tmp_path: Path, devices: str, log: str = "") -> Path:
    """A stand-in adb client: answers `devices`, push and the shell commands run_benchmark sends."""
    (tmp_path / "devices.txt").write_text(devices)
    (tmp_path / "bench.txt").write_text(log)
    script = tmp_path / "adb"
    script.write_text(f"""#!/bin/sh
D={tmp_path}
[ "$1" = devices ] && {{ cat $D/devices.txt; exit 0; }}
shift 2  # -s SERIAL
echo "$@" >> $D/calls.txt
case "$1" in
  push) exit 0 ;;
  shell) case "$2" in
    *cpuinfo_max_freq*) for c in 0 1 2 3; do echo /sys/devices/system/cpu/cpu$c/cpufreq/cpuinfo_max_freq 1766400; done
                        for c in 4 5 6 7; do echo /sys/devices/system/cpu/cpu$c/cpufreq/cpuinfo_max_freq 2803200; done ;;
    *"command -v taskset"*) echo /system/bin/taskset ;;
    *benchmark_model\\ --graph*) cat $D/bench.txt ;;
    getprop\\ ro.product.model) echo Pixel 3 ;;
    getprop*) echo x ;;
  esac ;;
esac
""")
    script.chmod(0o755)
    return script


def test_run_benchmark_pushes_pins_and_parses(tmp_path):
    log = (FIXTURES / "tf2.12_info.txt").read_text()
    adb = Adb(str(fake_adb(tmp_path, "List of devices attached\n8ABX0B1A2\tdevice\n", log)))
    (tmp_path / "benchmark_model").write_bytes(b"\x7fELF")
    (tmp_path / "efld_int8.tflite").write_bytes(b"TFL3")
    out = run_benchmark(adb, tmp_path / "benchmark_model", tmp_path / "efld_int8.tflite", threads=1, num_runs=1000,
                        warmup_runs=100)
    assert out["pinned_cores_mask"] == "f0" and out["device_command"].startswith("taskset f0 ")
    assert out["result"]["fps"] == pytest.approx(1692.4) and out["device"]["ro.product.model"] == "Pixel 3"
    calls = (tmp_path / "calls.txt").read_text()
    assert "push" in calls and "--use_xnnpack=true --num_runs=1000 --warmup_runs=100" in calls
    json.dumps(out)


def test_missing_adb_and_unauthorized_device_are_named(tmp_path, monkeypatch):
    with monkeypatch.context() as m:
        m.setenv("PATH", str(tmp_path / "empty"))
        with pytest.raises(EFLDError, match="adb not found: install Android's platform-tools"):
            Adb()
    script = fake_adb(tmp_path, "List of devices attached\n8ABX0B1A2\tunauthorized\n")
    with pytest.raises(EFLDError, match="8ABX0B1A2 is unauthorized"):
        Adb(str(script))
    (tmp_path / "devices.txt").write_text("List of devices attached\n\n")
    with pytest.raises(EFLDError, match="no Android device found"):
        Adb(str(script))


def test_adb_command_writes_the_report(tmp_path):
    from click.testing import CliRunner

    from efld_export.cli import cli

    script = fake_adb(tmp_path, "List of devices attached\n8ABX0B1A2\tdevice\n",
                      (FIXTURES / "litert_nightly_percentiles.txt").read_text())
    (tmp_path / "benchmark_model").write_bytes(b"\x7fELF")
    (tmp_path / "efld_float32.tflite").write_bytes(b"TFL3")
    res = CliRunner().invoke(cli, ["arm", "adb", str(tmp_path / "efld_float32.tflite"), "--benchmark-model",
                                   str(tmp_path / "benchmark_model"), "--adb", str(script), "--threads", "4",
                                   "--json", str(tmp_path / "adb.json")])
    assert res.exit_code == 0, res.output
    report = json.loads((tmp_path / "adb.json").read_text())
    assert "--num_threads=4" in report["device_command"] and report["result"]["median_ms"] == pytest.approx(0.449)
