"""A tiny model through every export stage with real onnx2tf and a real TFLite interpreter."""
import json
import shutil
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from efld_export.cli import cli
from efld_export.errors import EFLDError
from efld_export.export import ExportOptions, GateError, export
from efld_export.export import exporter
from efld_export.release import make_release, sha256, verify_release
from efld_export.runtime import TFLiteBackend, load_backend


def _opts(trained, data_root, out, **kw) -> ExportOptions:
    base = dict(weights=trained, out=out, calib=str(data_root / "faces"), calib_n=24, val=str(data_root / "val"),
                max_nme_drop=5.0)
    base.update(kw)
    return ExportOptions(**base)


@pytest.fixture(scope="module")
def exported(exported_tiny) -> Path:
    """The session's export of the tiny model (conftest), made with the options of _opts."""
    return exported_tiny


def test_every_stage_produces_checked_artifacts(exported):
    report = json.loads((exported / "report.json").read_text())
    names = sorted(p.name for p in exported.iterdir())
    assert names == ["efld.onnx", "efld_float16.tflite", "efld_float32.tflite", "efld_int8.tflite", "report.json"]
    assert report["onnx_max_abs_diff"] < 1e-4
    arts = report["artifacts"]
    assert set(arts) == {"pt", "onnx", "fp32", "fp16", "int8"}
    for k in ("fp32", "fp16", "int8"):
        assert arts[k]["xnnpack"]["fully_delegated"], arts[k]["xnnpack"]
    assert arts["int8"]["xnnpack"]["float_ops"] == []  # fully int8 inside
    assert arts["int8"]["bytes"] < 0.5 * arts["fp32"]["bytes"]
    # fp32 TFLite and ONNX compute what torch computes
    nme = {k: v["nme_bbox"]["overall"] for k, v in arts.items()}
    assert abs(nme["onnx"] - nme["pt"]) < 0.01 and abs(nme["fp32"] - nme["pt"]) < 0.01
    assert abs(nme["fp16"] - nme["pt"]) < 0.1
    assert report["gate"]["passed"]


def test_int8_model_has_int8_input_and_float_output(exported):
    b = load_backend(exported / "efld_int8.tflite")
    assert b.input["dtype"] == np.int8
    scale, zero = b.input["quantization"]
    assert scale == pytest.approx(1 / 255, rel=1e-3) and zero == -128
    lm, pose = b.run(np.random.default_rng(0).random((2, 3, 112, 112), dtype=np.float32))
    assert lm.shape == (2, 136) and pose.shape == (2, 3) and lm.dtype == np.float32


def test_two_exports_of_the_same_weights_give_the_same_int8_file(exported, trained, data_root, tmp_path):
    export(_opts(trained, data_root, tmp_path / "again"), say=lambda m: None)
    assert sha256(tmp_path / "again" / "efld_int8.tflite") == sha256(exported / "efld_int8.tflite")


def test_gate_fails_over_budget_and_leaves_nothing(trained, data_root, tmp_path):
    out = tmp_path / "over"
    with pytest.raises(GateError, match=r"over the 0.01 MB budget by"):
        export(_opts(trained, data_root, out, budget_mb=0.01), say=lambda m: None)
    assert not out.exists() and list(tmp_path.iterdir()) == []


def test_gate_fails_on_an_injected_accuracy_drop():
    art = lambda nme, size: {"bytes": size, "nme_bbox": {"mean_of_bins": nme, "overall": nme}}  # noqa: E731
    report = {"artifacts": {"fp32": art(5.0, 2_000_000), "int8": art(5.35, 600_000)}}
    with pytest.raises(GateError, match=r"0.350 points worse than fp32.*over the 0.1 tolerance by 0.250"):
        exporter._gate(report, ExportOptions(max_nme_drop=0.1), say=lambda m: None)
    assert report["gate"]["passed"] is False
    report["artifacts"]["int8"] = art(5.05, 600_000)
    exporter._gate(report, ExportOptions(max_nme_drop=0.1), say=lambda m: None)
    assert report["gate"]["passed"]


def test_gate_fails_when_the_fp32_conversion_changed_the_model():
    art = lambda nme, size: {"bytes": size, "nme_bbox": {"mean_of_bins": nme, "overall": nme}}  # noqa: E731
    report = {"artifacts": {"pt": art(5.5, 9_000_000), "fp32": art(21.8, 2_000_000), "int8": art(21.8, 600_000)}}
    with pytest.raises(GateError, match=r"fp32 TFLite NME 21.800 differs from torch's 5.500"):
        exporter._gate(report, ExportOptions(), say=lambda m: None)


def test_flip_test_export_is_fully_int8_delegated_and_computes_what_torch_computes(exported, trained, data_root,
                                                                                   tmp_path):
    """--flip-test on a single-pass checkpoint: the mirror's transposes, product and averaging convert and
    delegate, and every artifact agrees with torch's flip-test model."""
    out = tmp_path / "flip"
    res = CliRunner().invoke(cli, ["export", "--weights", str(trained), "--out", str(out), "--flip-test",
                                   "--calib", str(data_root / "faces"), "--val", str(data_root / "val"),
                                   "--max-nme-drop", "5"])
    assert res.exit_code == 0, res.output
    assert "flip test on" in res.output
    report = json.loads((out / "report.json").read_text())
    single = json.loads((exported / "report.json").read_text())
    assert report["flip_test"] is True and single["flip_test"] is False and report["gate"]["passed"]
    arts = report["artifacts"]
    assert arts["pt"]["nme_bbox"]["overall"] != single["artifacts"]["pt"]["nme_bbox"]["overall"]
    # one copy of the weights: the mirror and its undoing add two small constant matrices (~30 KB in int8)
    assert arts["int8"]["bytes"] - single["artifacts"]["int8"]["bytes"] < 40_000
    for k in ("fp32", "int8"):
        assert arts[k]["xnnpack"]["fully_delegated"], arts[k]["xnnpack"]
    assert arts["int8"]["xnnpack"]["float_ops"] == []
    nme = {k: v["nme_bbox"]["overall"] for k, v in arts.items()}
    assert abs(nme["onnx"] - nme["pt"]) < 0.01 and abs(nme["fp32"] - nme["pt"]) < 0.01


def test_cli_gate_exit_code_and_message(trained, data_root, tmp_path, monkeypatch):
    """The CLI exits non-zero naming the failed check; an injected int8 error trips the accuracy gate."""
    real = exporter.evaluate

    def worse_int8(model, records, **kw):
        rep, pred = real(model, records, **kw)
        if isinstance(model.backend, TFLiteBackend) and model.backend.input["dtype"] == np.int8:
            for k in ("mean_of_bins", "overall"):
                rep["nme_bbox"][k] += 1.0
        return rep, pred

    monkeypatch.setattr(exporter, "evaluate", worse_int8)
    from efld_export.cli import main

    monkeypatch.setattr("sys.argv", ["efld", "export", "--weights", str(trained), "--out", str(tmp_path / "x"),
                                     "--calib", str(data_root / "faces"), "--val", str(data_root / "val")])
    with pytest.raises(SystemExit) as e:
        main()
    assert e.value.code == 2 and not (tmp_path / "x").exists()


def test_interrupted_export_leaves_no_artifact_and_keeps_the_good_one(exported, trained, data_root, tmp_path,
                                                                       monkeypatch):
    good = tmp_path / "good"
    shutil.copytree(exported, good)
    before = sha256(good / "efld_int8.tflite")

    def interrupted(*a, **k):
        raise KeyboardInterrupt

    monkeypatch.setattr(exporter, "convert", interrupted)
    with pytest.raises(KeyboardInterrupt):
        export(_opts(trained, data_root, good), say=lambda m: None)
    assert sha256(good / "efld_int8.tflite") == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["good"]  # no partial folder left


def test_release_manifest_and_tampered_artifact_refused(exported, tmp_path):
    dest = make_release(exported, "tiny", "0.0.1", tmp_path / "models", card="# tiny\n", measure_latency=False)
    manifest = json.loads((dest / "manifest.json").read_text())
    assert set(manifest["files"]) >= {"efld_int8.tflite", "efld.onnx", "export_report.json"}
    assert manifest["tools"]["onnx2tf"] == "1.29.24"
    assert verify_release(dest) == len(manifest["files"])
    load_backend(dest / "efld_int8.tflite")  # loads when intact
    data = bytearray((dest / "efld_int8.tflite").read_bytes())
    data[len(data) // 2] ^= 0xFF
    (dest / "efld_int8.tflite").write_bytes(bytes(data))
    with pytest.raises(EFLDError, match="does not match the manifest"):
        load_backend(dest / "efld_int8.tflite")
    res = CliRunner().invoke(cli, ["verify", str(dest)])
    assert res.exit_code != 0
    with pytest.raises(EFLDError, match="immutable"):
        make_release(exported, "tiny", "0.0.1", tmp_path / "models")


def test_missing_weights_and_calibration_errors(tmp_path, data_root):
    with pytest.raises(EFLDError, match="weights not found"):
        export(ExportOptions(weights=tmp_path / "none.pt", out=tmp_path / "o"), say=lambda m: None)
    from efld_export.export.calibration import calibration_crops

    with pytest.raises(EFLDError, match="no face images or dataset"):
        (tmp_path / "empty").mkdir()
        calibration_crops(tmp_path / "empty")
    crops, desc = calibration_crops(data_root / "val", n=5)
    assert crops.shape == (5, 112, 112, 3) and "landmark box" in desc


def test_templates_export_fully_int8_delegated_and_agree_with_torch(trained, data_root, tmp_path):
    """The spatial templates (a depthwise convolution as large as its map, with a depth multiplier) convert,
    delegate in int8 with no float op, and the fp32 file computes what torch does."""
    import torch

    from efld_export.checkpoint import load_checkpoint, save_checkpoint
    from efld_export.models import create_model
    from efld_export.train import init_weights

    state = load_checkpoint(trained)
    args = {**state["model_args"], "templates": 2}
    model = create_model(**{k: v for k, v in args.items() if k != "name"})
    init_weights(model, state["model"])
    torch.manual_seed(0)
    torch.nn.init.normal_(model.landmarks_fine.weight, std=0.05)
    weights = tmp_path / "templates.pt"
    save_checkpoint(weights, {**state, "model": model.state_dict(), "model_args": args})
    report = export(_opts(weights, data_root, tmp_path / "out", max_nme_drop=100.0), say=lambda m: None)
    arts = report["artifacts"]
    assert arts["int8"]["xnnpack"]["fully_delegated"] and arts["int8"]["xnnpack"]["float_ops"] == []
    assert abs(arts["fp32"]["nme_bbox"]["overall"] - arts["pt"]["nme_bbox"]["overall"]) < 0.01


def assert_artifacts_give_the_pose(out: Path, crops: np.ndarray, torch_pose: np.ndarray) -> None:
    """The export in `out` computes torch's pose (degrees) on `crops`: .onnx and fp32 to 0.01 degrees, int8 to 2,
    the int8 file fully delegated with no float op."""
    report = json.loads((out / "report.json").read_text())
    for kind, tol in (("onnx", 0.01), ("fp32", 0.01), ("int8", 2.0)):
        file = out / Path(report["artifacts"][kind]["file"]).name
        assert np.abs(np.degrees(load_backend(file).run(crops)[1]) - torch_pose).max() < tol, kind
    assert report["artifacts"]["int8"]["xnnpack"]["fully_delegated"]
    assert report["artifacts"]["int8"]["xnnpack"]["float_ops"] == []


def test_profile_pose_calibration_converts_and_delegates(trained, data_root, tmp_path):
    """With the head's yaw pinned at 80 degrees the calibration acts on every face: the .onnx and fp32
    files compute torch's calibrated pose, the int8 file is fully delegated and within 2 degrees of it."""
    import torch

    from efld_export.checkpoint import load_checkpoint, load_model, save_checkpoint

    state = load_checkpoint(trained)
    weights = {k: v.clone() for k, v in state["model"].items()}
    last = max(k for k in weights if k.startswith("pose.") and k.endswith(".weight"))
    weights[last] *= 0.01
    weights[last.replace("weight", "bias")] = torch.deg2rad(torch.tensor([80.0, 30.0, 10.0]))
    path = tmp_path / "profile.pt"
    save_checkpoint(path, {**state, "model": weights, "model_args": {**state["model_args"], "pose_profile_keep": 0.5}})
    export(_opts(path, data_root, tmp_path / "out", max_nme_drop=100.0), say=lambda m: None)
    crops = np.random.default_rng(0).random((4, 3, 112, 112), dtype=np.float32)
    torch_pose = np.degrees(load_backend(path).run(crops)[1])
    uncalibrated = load_model(path)
    uncalibrated.pose_profile_keep = 1.0
    with torch.no_grad():
        raw = np.degrees(uncalibrated(torch.from_numpy(crops))[1].numpy())
    keep = 1 - 0.5 / (1 + np.exp(-(raw[:, 0] - 67.5) * 4.4 / 15))  # the ramp at ~80 degrees: 0.51
    assert np.allclose(torch_pose[:, 1] + torch_pose[:, 2], keep * (raw[:, 1] + raw[:, 2]), atol=0.01)
    assert_artifacts_give_the_pose(tmp_path / "out", crops, torch_pose)


def test_mirror_averaged_pose_head_converts_and_delegates(trained, data_root, tmp_path):
    """`efld finish --pose-mirror`: the points' mirror (a constant matrix and offset) and the head's second read
    convert; the .onnx and fp32 files compute torch's pose, the int8 file is fully delegated and close to it."""
    from efld_export.checkpoint import load_checkpoint

    path = tmp_path / "mirror.pt"
    res = CliRunner().invoke(cli, ["finish", str(trained), str(path), "--pose-mirror"])
    assert res.exit_code == 0, res.output
    assert load_checkpoint(path)["model_args"]["pose_mirror"] is True
    export(_opts(path, data_root, tmp_path / "out", max_nme_drop=100.0), say=lambda m: None)
    crops = np.random.default_rng(0).random((4, 3, 112, 112), dtype=np.float32)
    torch_pose = np.degrees(load_backend(path).run(crops)[1])
    assert np.abs(torch_pose - np.degrees(load_backend(trained).run(crops)[1])).max() > 1e-3  # the average acts
    assert_artifacts_give_the_pose(tmp_path / "out", crops, torch_pose)


def test_finish_refuses_the_mirror_for_a_head_that_does_not_read_the_points(trained, tmp_path):
    from efld_export.checkpoint import load_checkpoint, save_checkpoint

    state = load_checkpoint(trained)
    fused = tmp_path / "fused.pt"
    save_checkpoint(fused, {**state, "model_args": {**state["model_args"], "pose_from": "fused"}})
    res = CliRunner().invoke(cli, ["finish", str(fused), str(tmp_path / "out.pt"), "--pose-mirror"])
    assert isinstance(res.exception, EFLDError) and "pose_mirror needs pose_from='landmarks'" in str(res.exception)
    assert not (tmp_path / "out.pt").exists()


def test_antialiased_export_fully_int8_delegated_and_agrees_with_torch(trained, data_root, tmp_path):
    """With every strided layer anti-aliased (their kernels folded with the blur, 2 larger) the graph converts,
    delegates in int8 with no float op, and the fp32 file computes what torch does."""
    from efld_export.checkpoint import load_checkpoint, save_checkpoint

    state = load_checkpoint(trained)
    weights = tmp_path / "antialias.pt"
    save_checkpoint(weights, {**state, "model_args": {**state["model_args"], "antialias": 4}})
    report = export(_opts(weights, data_root, tmp_path / "out", max_nme_drop=100.0), say=lambda m: None)
    arts = report["artifacts"]
    assert arts["int8"]["xnnpack"]["fully_delegated"] and arts["int8"]["xnnpack"]["float_ops"] == []
    assert abs(arts["fp32"]["nme_bbox"]["overall"] - arts["pt"]["nme_bbox"]["overall"]) < 0.01
