"""Tiny real trainings (a few steps) on synthetic data; eval of .pt and .onnx through the one runtime."""
import json
import os
import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest
import torch
from click.testing import CliRunner

from efld_export.checkpoint import load_checkpoint, load_model
from efld_export.cli import cli
from efld_export.errors import EFLDError
from efld_export.metrics import YAW_BINS
from efld_export.train import LandmarkDataset, prepare_samples, train
from efld_export.augment import AugmentConfig

ROOT = Path(__file__).resolve().parents[1]


from conftest import tiny_config as _cfg, write_aflw21_dataset


def test_training_writes_checkpoints_and_metrics(trained):
    out = trained.parent
    lines = [json.loads(x) for x in (out / "metrics.jsonl").read_text().splitlines()]
    assert [x["epoch"] for x in lines] == [1, 2]
    assert "nme_bbox" in lines[-1]["val"] and lines[-1]["train_img_per_s"] > 0
    state = torch.load(out / "last.pt", weights_only=True)  # safe loading works
    assert state["epoch"] == 1 and "optimizer" in state
    assert load_checkpoint(trained)["model_args"]["width"] == 0.35


def test_training_is_seeded(data_root, tmp_path):
    a = train(_cfg(data_root, tmp_path / "a", epochs=1, val=None), progress=False)
    b = train(_cfg(data_root, tmp_path / "b", epochs=1, val=None), progress=False)
    sa, sb = torch.load(a, weights_only=True)["model"], torch.load(b, weights_only=True)["model"]
    assert all(torch.equal(sa[k], sb[k]) for k in sa)


def test_samples_prepared_elsewhere_train_as_the_data_would(data_root, tmp_path):
    """train(prepared=...) (benchmarks/gpu/: a machine without the data) is the same run as from the data."""
    cfg = _cfg(data_root, tmp_path / "a", epochs=1, val=None)
    a = train(cfg, progress=False)
    b = train(_cfg(data_root, tmp_path / "b", epochs=1, val=None), progress=False, prepared=prepare_samples(cfg))
    sa, sb = torch.load(a, weights_only=True)["model"], torch.load(b, weights_only=True)["model"]
    assert all(torch.equal(sa[k], sb[k]) for k in sa)


def test_each_cosine_cycle_leaves_its_finished_model(data_root, tmp_path):
    last = train(_cfg(data_root, tmp_path, epochs=2, val=None, lr_restarts=[1]), progress=False)
    cycle = torch.load(tmp_path / "cycle1.pt", weights_only=True)
    assert cycle["epoch"] == 0 and "optimizer" not in cycle and not (tmp_path / "cycle2.pt").exists()
    final = torch.load(last, weights_only=True)["model"]
    assert any(not torch.equal(cycle["model"][k], final[k]) for k in final)


def test_resume_continues_from_the_checkpoint(data_root, trained, tmp_path):
    cfg = _cfg(data_root, tmp_path, epochs=3)
    train(cfg, resume=trained.parent / "last.pt", progress=False)
    lines = [json.loads(x) for x in (tmp_path / "metrics.jsonl").read_text().splitlines()]
    assert [x["epoch"] for x in lines] == [3]
    assert lines[0]["step"] == 3 * (48 // 8)


def test_a_resumed_run_ends_where_an_unbroken_one_does(data_root, tmp_path, monkeypatch):
    """Order, augmentation, learning rate and optimiser state all come back on resume: a run killed
    after its first epoch's checkpoint and resumed ends with the weights of one never stopped."""
    import efld_export.train as train_module

    whole = train(_cfg(data_root, tmp_path / "whole", epochs=2, val=None), progress=False)
    save = train_module.save_checkpoint

    def save_then_die(path, state):
        save(path, state)
        raise KeyboardInterrupt

    monkeypatch.setattr(train_module, "save_checkpoint", save_then_die)
    with pytest.raises(KeyboardInterrupt):
        train(_cfg(data_root, tmp_path / "broken", epochs=2, val=None), progress=False)
    monkeypatch.setattr(train_module, "save_checkpoint", save)
    first = torch.load(tmp_path / "broken" / "last.pt", weights_only=True)
    assert first["epoch"] == 0
    resumed = train(_cfg(data_root, tmp_path / "broken", epochs=2, val=None),
                    resume=tmp_path / "broken" / "last.pt", progress=False)
    sa, sb = (torch.load(p, weights_only=True)["model"] for p in (whole, resumed))
    assert any(not torch.equal(first["model"][k], sb[k]) for k in sb)
    assert all(torch.equal(sa[k], sb[k]) for k in sa)


def test_ema_weights_are_validated_kept_and_resumed(data_root, tmp_path):
    """ema_decay: the checkpoints hold the weights' moving average, validated as `val` beside the raw
    weights' `val_raw`; a finished checkpoint drops the raw weights; resuming continues both."""
    def run(decay, out, epochs=1, resume=None):
        best = train(_cfg(data_root, out, epochs=epochs, ema_decay=decay), resume=resume, progress=False)
        last = torch.load(out / "last.pt", weights_only=True)
        line = json.loads((out / "metrics.jsonl").read_text().splitlines()[-1])
        return best, last, line

    _, last, line = run(1e-9, tmp_path / "none")  # no averaging: the average is the raw weights
    assert all(torch.allclose(last["model"][k].float(), last["model_raw"][k].float()) for k in last["model"])
    assert line["val"]["nme_bbox"]["overall"] == pytest.approx(line["val_raw"]["nme_bbox"]["overall"])
    best, last, line = run(0.9, tmp_path / "ema")
    assert any(not torch.allclose(last["model"][k].float(), last["model_raw"][k].float()) for k in last["model"])
    assert line["val"]["nme_bbox"]["overall"] != line["val_raw"]["nme_bbox"]["overall"]
    finished = torch.load(best, weights_only=True)
    assert "model_raw" not in finished and "optimizer" not in finished
    assert all(torch.equal(finished["model"][k], last["model"][k]) for k in last["model"])  # one epoch: best = last
    res = CliRunner().invoke(cli, ["finish", str(tmp_path / "ema" / "last.pt"), str(tmp_path / "use.pt")])
    assert res.exit_code == 0, res.output
    use = torch.load(tmp_path / "use.pt", weights_only=True)
    assert use.keys() == finished.keys() and all(torch.equal(use["model"][k], last["model"][k]) for k in last["model"])
    res = CliRunner().invoke(cli, ["finish", str(tmp_path / "use.pt"), str(tmp_path / "use.pt")])
    assert res.exit_code != 0 and "overwrite" in str(res.exception) + res.output
    _, resumed, line = run(0.9, tmp_path / "ema", epochs=2, resume=tmp_path / "ema" / "last.pt")
    assert line["epoch"] == 2 and "val_raw" in line
    assert any(not torch.equal(resumed["model"][k], last["model"][k]) for k in last["model"])
    load_model(tmp_path / "ema" / "last.pt")


def test_a_pose_head_trains_on_frozen_landmarks(data_root, trained, tmp_path):
    """trainable: [pose]: every other tensor, batch-norm statistics included, stays as it was loaded;
    the pose head learns. An unknown module name is refused with the model's names."""

    start = load_checkpoint(trained)["model"]
    last = train(_cfg(data_root, tmp_path, epochs=1, init=str(trained), trainable=["pose"], val=None), progress=False)
    after = torch.load(last, weights_only=True)["model"]
    assert all(torch.equal(after[k], start[k]) for k in start if not k.startswith("pose."))
    assert any(not torch.equal(after[k], start[k]) for k in start if k.startswith("pose."))
    with pytest.raises(EFLDError, match="backbone"):
        train(_cfg(data_root, tmp_path / "bad", epochs=1, trainable=["head"], val=None), progress=False)


def test_pose_residual_scale_extrapolates_the_networks_error_at_labelled_points_only():
    from efld_export.train import residual_scaled

    pred = torch.tensor([[0.5, 0.5] * 68])
    pts = torch.full((1, 68, 2), 0.4)
    mask = torch.ones(1, 68, dtype=torch.bool)
    mask[0, 3] = False
    assert torch.equal(residual_scaled(pred, pts, mask, 1.0), pred)
    out = residual_scaled(pred, pts, mask, 2.0).view(68, 2)
    assert torch.allclose(out[0], torch.tensor([0.6, 0.6])) and torch.equal(out[3], torch.tensor([0.5, 0.5]))


def test_a_pose_head_refit_with_scaled_residuals_trains_otherwise_and_is_refused_elsewhere(data_root, trained, tmp_path):
    """Only the head's inputs change: the same seeded refit ends elsewhere with s = 1.5 than with s = 1, the
    rest of the network as loaded. Without a frozen network it is refused."""
    from efld_export.errors import EFLDError

    start = load_checkpoint(trained)["model"]
    heads = {}
    for s in (1.0, 1.5):
        last = train(_cfg(data_root, tmp_path / str(s), epochs=1, init=str(trained), trainable=["pose"], val=None,
                          pose_residual_scale=s), progress=False)
        heads[s] = torch.load(last, weights_only=True)["model"]
    assert all(torch.equal(heads[1.5][k], start[k]) for k in start if not k.startswith("pose."))
    assert any(not torch.equal(heads[1.5][k], heads[1.0][k]) for k in start if k.startswith("pose."))
    with pytest.raises(EFLDError, match="pose_residual_scale"):
        train(_cfg(data_root, tmp_path / "bad", epochs=1, val=None, pose_residual_scale=1.5), progress=False)


def test_distillation_trains_against_a_frozen_flip_tested_teacher(data_root, trained, tmp_path, monkeypatch):
    """The teacher sees every training batch, in eval mode, flip-tested, and its weights never move;
    a bad distill section fails before any labelling."""
    import efld_export.distill as distill
    import efld_export.train as train_module
    from efld_export.errors import EFLDError

    seen: list[tuple[bool, bool, int]] = []
    forward = distill.Teacher.forward

    def spy(self, x):
        seen.append((self.training, all(m.flip_test for m in self.models), len(x)))
        return forward(self, x)

    monkeypatch.setattr(distill.Teacher, "forward", spy)
    start = load_checkpoint(trained)["model"]
    cfg = _cfg(data_root, tmp_path, epochs=1, val=None, distill={"teachers": [str(trained)], "weight": 0.5})
    last = train(cfg, progress=False)
    assert seen == [(False, True, 8)] * (48 // 8)
    assert all(torch.equal(load_checkpoint(trained)["model"][k], v) for k, v in start.items())
    assert load_checkpoint(last)["config"]["distill"]["teachers"] == [str(trained)]
    monkeypatch.setattr(train_module, "prepare_samples", lambda *a, **k: pytest.fail("labelled before the check"))
    for bad, match in [({"teachers": []}, "at least one"), ({"teachers": [str(trained)], "alpha": 1}, "unknown"),
                       ({"teachers": [str(tmp_path / "none.pt")]}, "not found"),
                       ({"teachers": [str(trained)], "weight": 2}, r"\[0, 1\]")]:
        with pytest.raises(EFLDError, match=match):
            train(_cfg(data_root, tmp_path / "bad", epochs=1, val=None, distill=bad), progress=False)


def test_dataset_gives_radians_and_flips_pose(data_root):
    samples, info = prepare_samples(_cfg(data_root, Path("unused")))
    assert abs(sum(info["class_frequency"].values())) > 0 and info["n_samples"] == 48
    s = samples[0]
    plain = LandmarkDataset(samples, None, 0)[0]
    assert np.allclose(plain[3].numpy(), np.radians(s.pose), atol=1e-6)
    flip = AugmentConfig(rotate_p=0, scale=0, shift=0, flip_p=1, occlude_p=0, colour_p=0, gray_p=0, blur_p=0)
    flipped = LandmarkDataset(samples, flip, 0)[0]
    assert np.allclose(flipped[3].numpy(), np.radians(s.pose * [-1, 1, -1]), atol=1e-6)


def test_the_silhouette_jaw_of_turned_2d_labelled_faces_is_left_out_of_the_loss_not_the_crop(data_root):
    from efld_export.landmarks import FAR_JAW

    plain, _ = prepare_samples(_cfg(data_root, Path("unused")))
    yaw = np.array([p.pose[0] for p in plain])
    limit = float(np.median(np.abs(yaw)))
    masked, info = prepare_samples(_cfg(data_root, Path("unused"), silhouette_jaw_yaw=limit))
    turned = np.abs(yaw) > limit
    assert info["silhouette_jaw_masked"] == turned.sum() > 0 and (yaw[turned] > 0).any() and (yaw[turned] < 0).any()
    for p, m, y in zip(plain, masked, yaw):
        far = list(FAR_JAW[int(np.sign(y))]) if abs(y) > limit else []
        gone = np.isnan(m.points).any(1)
        assert gone[far].all() and gone.sum() == len(far)
        assert np.allclose(m.box, p.box) and np.allclose(m.points[~gone], p.points[~gone])
    i = int(np.flatnonzero(turned & (yaw > 0))[0])  # the far side is 0-7: the loss's mask says so,
    assert not LandmarkDataset(masked, None, 0)[i][2].numpy()[:8].any()
    flip = AugmentConfig(rotate_p=0, scale=0, shift=0, flip_p=1, occlude_p=0, colour_p=0, gray_p=0, blur_p=0)
    mask = LandmarkDataset(masked, flip, 0)[i][2].numpy()  # and after a mirror, 9-16 (the far side's mirror)
    assert not mask[9:17].any() and mask[:9].all() and mask[17:].all()
    assert np.allclose(LandmarkDataset(masked, None, 0)[i][0], LandmarkDataset(plain, None, 0)[i][0])  # same crop


def test_yaw_balance_reweights_the_samples_by_their_yaw_bin(data_root):
    plain, info = prepare_samples(_cfg(data_root, Path("unused")))
    balanced, binfo = prepare_samples(_cfg(data_root, Path("unused"), yaw_balance=1.0))
    assert "yaw_bin_weight" not in info and len(binfo["yaw_bin_weight"]) >= 2
    assert np.mean([b.weight for b in balanced]) == pytest.approx(1.0)
    ratio = np.array([b.weight / p.weight for p, b in zip(plain, balanced)])
    yaw = np.abs([p.pose[0] for p in plain])
    per_bin = []  # within a bin one factor; across bins the factors of loss.yaw_bin_weights
    for name, lo, hi in YAW_BINS:
        inside = (yaw > lo) & (yaw <= hi)
        if inside.any():
            assert np.allclose(ratio[inside], ratio[inside][0])
            per_bin.append(ratio[inside][0] / binfo["yaw_bin_weight"][name])
    assert np.allclose(per_bin, per_bin[0])


def test_torchrun_ddp_two_cpu_processes_with_the_method_recipe(data_root, tmp_path):
    """The shipped PFLD recipe config trains a few steps as DistributedDataParallel over 2 CPU processes."""
    import yaml

    recipe = yaml.safe_load((ROOT / "efld_export" / "configs" / "pfld_recipe.yaml").read_text())
    assert recipe["batch_size"] == 256 and recipe["max_steps"] == 64000
    recipe.update(train=["faces:train"], val=None, data_root=str(data_root), mean_face="mean_face.csv",
                  batch_size=16, max_steps=3, workers=0, threads=1, out=str(tmp_path / "ddp"))
    recipe["model"]["width"] = 0.35
    cfg = tmp_path / "cfg.yaml"
    cfg.write_text(yaml.safe_dump(recipe))
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    r = subprocess.run([sys.executable, "-m", "torch.distributed.run", "--nproc_per_node", "2", "--master_port", "29517",
                        "-m", "efld_export.cli", "train", str(cfg), "--no-progress"],
                       capture_output=True, text=True, env=env, timeout=300, cwd=ROOT)
    assert r.returncode == 0, r.stderr[-3000:]
    state = torch.load(tmp_path / "ddp" / "last.pt", weights_only=True)
    assert state["step"] == 3
    assert not any(k.startswith("module.") for k in state["model"])


def test_eval_cli_pt_and_onnx_agree(trained, data_root, tmp_path):
    from efld_export.export.onnx import export_onnx

    onnx_path = export_onnx(load_model(trained), tmp_path / "m.onnx")
    runner = CliRunner()
    reports = []
    for model in (trained, onnx_path):
        out = tmp_path / f"{model.suffix[1:]}.json"
        res = runner.invoke(cli, ["eval", str(model), str(data_root / "val"), "--json", str(out),
                                  "--ced", str(tmp_path / "ced.png"), "--grid", str(tmp_path / "grid.jpg")])
        assert res.exit_code == 0, res.output
        reports.append(json.loads(out.read_text()))
    pt, ox = reports
    assert pt["n_images"] == 16
    for k in ("yaw_0_30", "yaw_30_60", "yaw_60_90", "mean_of_bins", "overall"):
        assert k in pt["nme_bbox"]
        if not np.isnan(pt["nme_bbox"][k]):
            assert abs(pt["nme_bbox"][k] - ox["nme_bbox"][k]) < 0.01
    for k in ("nme_interocular", "fr_10", "auc_10", "seconds"):
        assert k in pt
    assert set(pt["pose_mae"]) >= {"yaw", "pitch", "roll", "mean"}
    assert (tmp_path / "ced.png").stat().st_size > 0 and (tmp_path / "grid.jpg").stat().st_size > 0


def test_compare_cli_pairs_two_models_on_the_same_faces(trained, data_root, tmp_path):
    from efld_export.export.onnx import export_onnx

    onnx_path = export_onnx(load_model(trained), tmp_path / "m.onnx")
    runner = CliRunner()
    out = tmp_path / "cmp.json"
    res = runner.invoke(cli, ["compare", str(trained), str(onnx_path), str(data_root / "val"), "--json", str(out),
                              "--resamples", "200"])
    assert res.exit_code == 0, res.output
    rep = json.loads(out.read_text())
    runner.invoke(cli, ["eval", str(trained), str(data_root / "val"), "--json", str(tmp_path / "ev.json")])
    headline = json.loads((tmp_path / "ev.json").read_text())["nme_bbox"]["mean_of_bins"]
    assert rep["nme_bbox"]["a"] == pytest.approx(headline)       # A's figure is efld eval's
    assert abs(rep["nme_bbox"]["difference"]) < 0.01 and rep["nme_bbox"]["n"] == 16
    assert set(rep["pose_mae"]) >= {"a", "b", "difference", "ci95", "share_b_lower"}
    # A model against itself: no difference and no interval, whatever the faces.
    same = runner.invoke(cli, ["compare", str(trained), str(trained), str(data_root / "val"), "--resamples", "100",
                               "--json", str(out)])
    assert same.exit_code == 0 and json.loads(out.read_text())["nme_bbox"]["ci95"] == [0.0, 0.0]
    missing = subprocess.run([sys.executable, "-m", "efld_export.cli", "compare", str(trained),
                              str(tmp_path / "none.pt"), str(data_root / "val")],
                             capture_output=True, text=True, cwd=ROOT)
    assert missing.returncode == 2 and "none.pt" in missing.stderr and "Traceback" not in missing.stderr


def test_cli_errors_are_one_line_not_tracebacks(tmp_path):
    r = subprocess.run([sys.executable, "-m", "efld_export.cli", "eval", str(tmp_path / "none.pt"), str(tmp_path)],
                       capture_output=True, text=True, cwd=ROOT)
    assert r.returncode == 2 and "model file not found" in r.stderr and "Traceback" not in r.stderr
    bad = tmp_path / "bad.pt"
    bad.write_bytes(b"garbage")
    r = subprocess.run([sys.executable, "-m", "efld_export.cli", "eval", str(bad), str(tmp_path)],
                       capture_output=True, text=True, cwd=ROOT)
    assert r.returncode == 2 and "not a readable EFLD checkpoint" in r.stderr
    assert len(r.stderr.strip().splitlines()) == 1, r.stderr  # torch's multi-line advice is cut to its first sentence
    r = subprocess.run([sys.executable, "-m", "efld_export.cli", "train", str(tmp_path / "nope.yaml")],
                       capture_output=True, text=True, cwd=ROOT)
    assert r.returncode == 2 and "config file not found" in r.stderr


def test_lr_restart_schedule_equals_resuming_a_finished_run_with_more_epochs():
    from efld_export.train import lr_at

    per_epoch, warmup, base = 10, 10, 2e-3
    one_run = [lr_at(s, 48 * per_epoch, warmup, base, (36 * per_epoch,)) for s in range(48 * per_epoch)]
    first = [lr_at(s, 36 * per_epoch, warmup, base) for s in range(36 * per_epoch)]
    resumed = [lr_at(s, 48 * per_epoch, warmup, base) for s in range(36 * per_epoch, 48 * per_epoch)]
    assert np.allclose(one_run, first + resumed)
    assert one_run[36 * per_epoch - 1] < 1e-7 < 1e-4 < one_run[36 * per_epoch]  # the warm restart
    assert lr_at(5, 100, 10, base) == pytest.approx(base * 6 / 10)  # warm-up unchanged
    assert one_run[-1] < 1e-7


def test_init_loads_the_matching_tensors_and_reinitialises_a_changed_pose_head(data_root, trained, tmp_path):
    model = {"name": "efld_mnv3_small", "width": 0.35, "act": "relu", "se": True, "pose_from": "features"}
    best = train(_cfg(data_root, tmp_path, epochs=1, val=None, max_steps=1, lr=1e-9, model=model,
                      init=str(trained)), progress=False)
    old, new = load_checkpoint(trained)["model"], load_checkpoint(best)["model"]
    assert old["pose.0.weight"].shape[1] == 136 and new["pose.0.0.weight"].ndim == 4
    assert not any(k in old and old[k].shape == new[k].shape for k in new if k.startswith("pose."))
    # With a negligible learning rate the shared tensors are still the initial checkpoint's.
    w = "landmarks.weight"
    assert torch.allclose(old[w], new[w], atol=1e-6)


def test_grad_clip_bounds_the_step_and_every_epoch_logs_the_gradient_norm(data_root, trained, tmp_path):
    """grad_clip caps the gradient's global norm before the step (a vanishing cap: the weights hardly move, where
    an unclipped step moves them by about lr); the epoch's record keeps the norms from before the clip."""
    def one_step(out, **kw):
        best = train(_cfg(data_root, out, epochs=1, val=None, max_steps=1, init=str(trained), **kw), progress=False)
        line = json.loads((out / "metrics.jsonl").read_text().splitlines()[-1])
        moved = (load_checkpoint(best)["model"]["landmarks.weight"] - start).abs().max().item()
        return moved, line

    start = load_checkpoint(trained)["model"]["landmarks.weight"]
    free, line = one_step(tmp_path / "free")
    clipped, clipped_line = one_step(tmp_path / "clipped", grad_clip=1e-12)
    assert free > 1e-5 and clipped < free / 100
    assert line["grad_norm_max"] == pytest.approx(line["grad_norm_mean"]) and line["grad_norm_max"] > 0
    assert clipped_line["grad_norm_max"] == pytest.approx(line["grad_norm_max"], rel=1e-4)  # the norm before the clip
    with pytest.raises(EFLDError, match="grad_clip must be a norm > 0"):
        train(_cfg(data_root, tmp_path / "zero", epochs=1, val=None, grad_clip=0.0), progress=False)


def test_human_points_replace_the_fit_at_their_visible_single_counterparts():
    from efld_export.label import SINGLE_COUNTERPARTS, with_human_points
    from efld_export.landmarks import AFLW21_TO_68

    fit = np.zeros((68, 2))
    p21 = np.arange(42, dtype=float).reshape(21, 2) + 1
    p21[0] = np.nan  # right brow outer not visible: the fit stays at 17
    out = with_human_points(fit, p21)
    assert len(SINGLE_COUNTERPARTS) == 16
    assert (out[17] == 0).all() and (out[30] == p21[14]).all() and (out[8] == p21[20]).all()
    changed = {i for i in range(68) if (out[i] != 0).any()}
    assert changed == {idx for i, idx in SINGLE_COUNTERPARTS if i != 0}
    assert all(isinstance(AFLW21_TO_68[i], int) for i, _ in SINGLE_COUNTERPARTS)


def test_a_mistyped_key_in_any_config_section_is_a_clear_error(data_root, tmp_path):
    """Top level, loss and augment alike: a typo is refused with the known keys, never dropped."""
    from efld_export.errors import EFLDError
    from efld_export.train import TrainConfig, prepare_samples

    with pytest.raises(EFLDError, match=r"unknown config key\(s\): \['ema_decy'\]"):
        TrainConfig.from_file(None, {"ema_decy": 0.9})
    with pytest.raises(EFLDError, match="set label_teacher"):  # before any data or model is read
        prepare_samples(TrainConfig(label_models=["missing.pt"], data_root=str(tmp_path / "nowhere")))
    with pytest.raises(EFLDError, match=r"label_models names \['aflw:fold2of2'\], not in train"):
        prepare_samples(_cfg(data_root, tmp_path / "folds", label_teacher="mediapipe",
                             label_models={"aflw:fold2of2": ["x.pt"]}))
    for section, bad in [("loss", {"knd": "wing"}), ("augment", {"flip": 0.5})]:
        with pytest.raises(EFLDError, match=rf"unknown {section} key\(s\): \['{next(iter(bad))}'\]; known: .*"):
            train(_cfg(data_root, tmp_path / section, epochs=1, val=None, **{section: bad}), progress=False)
    nowhere = _cfg(tmp_path / "nowhere", tmp_path / "early", epochs=1, val=None, loss={"pose_kind": "chrod"})
    with pytest.raises(EFLDError, match="loss.pose_kind must be 'cos' or 'chord', got 'chrod'"):
        train(nowhere, progress=False)  # read before any data is loaded or labelled


def test_labels_of_21_point_faces_are_read_back_when_nothing_they_depend_on_changed(data_root, tmp_path,
                                                                                    label_cache_dir):
    """The second preparation reads the first's labels (same targets, poses and weights), and so does a run
    with another seed; a changed labelling setting, a changed picture or label_cache off labels afresh."""
    import shutil

    root = tmp_path / "shared"
    shutil.copytree(data_root, root)
    write_aflw21_dataset(root / "aflw")

    def prepared(**kw):
        logs: list[str] = []
        samples, _ = prepare_samples(_cfg(root, tmp_path / "unused", train=["faces:train", "aflw"], **kw), logs.append)
        return samples, any("labels read from" in m for m in logs)

    files = set(label_cache_dir.rglob("*.npz"))
    first, hit = prepared()
    new = set(label_cache_dir.rglob("*.npz")) - files
    assert not hit and len(new) == 1
    second, hit = prepared()
    assert hit and len(second) == len(first) == 48 + 12
    for a, b in zip(first, second):
        assert np.array_equal(a.points, b.points, equal_nan=True) and np.array_equal(a.pose, b.pose)
        assert a.weight == b.weight and np.array_equal(a.image, b.image)
    assert prepared(seed=7)[1]  # another run's seed trains on the same labels
    assert not prepared(label_seed=7)[1]
    assert not prepared(label_max_fit_error=0.07)[1]
    assert not prepared(label_cache=False)[1]
    img = root / "aflw" / "images" / "a000.jpg"
    cv2.imwrite(str(img), 255 - cv2.imread(str(img)))
    assert not prepared()[1]
    assert len(set(label_cache_dir.rglob("*.npz")) - files) == 4  # label_cache off wrote nothing
    for damaged in set(label_cache_dir.rglob("*.npz")) - files:
        damaged.write_bytes(b"not a zip")
    third, hit = prepared(label_max_fit_error=0.07)
    assert not hit and len(third) == len(first)  # a damaged file is relabelled over, not an error
    assert prepared(label_max_fit_error=0.07)[1]


def test_yaw_labels_of_21_point_faces_move_from_the_files_towards_the_pnp_of_their_points(data_root, tmp_path,
                                                                                        label_cache_dir):
    """A file whose yaw is 12 degrees off: at weight 1 the labels' yaw is the PnP of their points (back near the
    drawn yaw), at 0.5 halfway; pitch, roll, the points and the 2D-labelled faces do not move."""
    import shutil

    root = tmp_path / "shared"
    shutil.copytree(data_root, root)
    write_aflw21_dataset(root / "aflw", yaw_error=12.0)

    def prepared(weight):
        return prepare_samples(_cfg(root, tmp_path / "unused", train=["faces:train", "aflw"],
                                    pose_label_yaw_points=weight), lambda m: None)[0]

    file, pnp, half = prepared(0.0), prepared(1.0), prepared(0.5)
    yaw = np.array([[s.pose[0] for s in run] for run in (file, pnp, half)])
    moved = np.abs(yaw[0] - yaw[1]) > 1e-9
    assert moved.sum() == 12 and not moved[:48].any()  # the 12 AFLW faces, none of the 48 dense ones
    assert 9.0 < np.mean(yaw[0, moved] - yaw[1, moved]) < 15.0
    assert np.allclose(yaw[2], (yaw[0] + yaw[1]) / 2)
    for a, b in zip(file, pnp):
        assert np.array_equal(a.points, b.points, equal_nan=True) and np.array_equal(a.pose[1:], b.pose[1:])
    with pytest.raises(EFLDError, match=r"pose_label_yaw_points must be within \[0, 1\], got 1.5"):
        prepared(1.5)


def test_the_labellers_pitch_offset_moves_the_21_point_faces_pitch_labels_only(data_root, tmp_path, label_cache_dir):
    """label_pitch_offset is what "3dmm_calibrated" adds to the labelled faces' pitch: 2 degrees less moves each of
    them by exactly 2, and nothing else (their points, yaw and roll, the faces with dense labels)."""
    import shutil

    from efld_export.label import LABELLER_PITCH_OFFSET

    root = tmp_path / "shared"
    shutil.copytree(data_root, root)
    write_aflw21_dataset(root / "aflw")

    def prepared(offset):
        return prepare_samples(_cfg(root, tmp_path / "unused", train=["faces:train", "aflw"],
                                    label_pitch_offset=offset), lambda m: None)[0]

    default, lower = prepared(LABELLER_PITCH_OFFSET), prepared(LABELLER_PITCH_OFFSET - 2.0)
    moved = np.array([a.pose[1] - b.pose[1] for a, b in zip(default, lower)])
    assert np.allclose(moved[48:], 2.0) and np.all(moved[:48] == 0.0) and len(moved) == 60
    for a, b in zip(default, lower):
        assert np.array_equal(a.points, b.points, equal_nan=True) and np.array_equal(a.pose[[0, 2]], b.pose[[0, 2]])


def test_shifted_view_moves_content_and_the_consistency_term_sees_a_model_that_ignores_the_shift():
    """A bright pixel at crop (x, y) lands at (x - dx, y - dy); a "model" that finds that pixel exactly costs
    nothing under the term, one that answers a fixed point regardless of the picture costs the shift."""
    import numpy as np

    from efld_export.crop import INPUT_SIZE
    from efld_export.train import shift_consistency_loss, shifted_view

    img = torch.zeros(1, 3, INPUT_SIZE, INPUT_SIZE)
    img[0, :, 40, 30] = 1.0  # row y=40, column x=30
    moved = shifted_view(img, 3, -2)
    assert moved.shape == img.shape and moved[0, 0, 42, 27] == 1.0 and moved.sum() == 3.0

    def finder(x):
        flat = x[:, 0].flatten(1).argmax(1)
        xy = torch.stack([flat % INPUT_SIZE, flat // INPUT_SIZE], 1).float() / (INPUT_SIZE - 1)
        return xy.repeat(1, 68), torch.zeros(len(x), 3)

    rng = np.random.default_rng(0)
    pts, _ = finder(img)
    assert float(shift_consistency_loss(finder, img, pts, 2, rng)) < 1e-4
    fixed = lambda x: (torch.full((len(x), 136), 0.5), torch.zeros(len(x), 3))  # noqa: E731
    cost = float(shift_consistency_loss(fixed, img, fixed(img)[0], 2, rng))
    assert 0.49 < cost < 2.01  # the mean of |dx| and |dy| for a nonzero shift of at most 2 px


def test_a_detached_consistency_reference_takes_no_gradient_and_a_free_one_does(data_root, trained, tmp_path,
                                                                                   monkeypatch):
    """shift_consistency_detach: the unmoved answer is a fixed target of the term (only the moved pass learns
    from it); off, both passes do. The two runs from the same weights and seed then end apart."""
    import efld_export.train as train_module

    seen: list[bool] = []
    term = train_module.shift_consistency_loss

    def spy(model, img, reference, max_px, rng):
        seen.append(reference.requires_grad)
        return term(model, img, reference, max_px, rng)

    monkeypatch.setattr(train_module, "shift_consistency_loss", spy)
    runs = {}
    for detach in (True, False):
        seen.clear()
        runs[detach] = train(_cfg(data_root, tmp_path / str(detach), epochs=1, init=str(trained), val=None,
                                  shift_consistency=1.0, shift_consistency_detach=detach), progress=False)
        assert seen and set(seen) == {not detach}
    a, b = (torch.load(runs[d], weights_only=True)["model"] for d in (True, False))
    assert any(not torch.equal(a[k], b[k]) for k in a)


def test_shift_consistency_trains_and_is_recorded_and_a_bad_setting_is_refused(data_root, trained, tmp_path):
    import json

    from efld_export.errors import EFLDError

    last = train(_cfg(data_root, tmp_path / "on", epochs=1, init=str(trained), val=None, shift_consistency=1.0),
                 progress=False)
    record = json.loads((tmp_path / "on" / "metrics.jsonl").read_text().splitlines()[-1])
    assert record["consistency"] > 0 and load_checkpoint(last)["config"]["shift_consistency"] == 1.0
    with pytest.raises(EFLDError, match="shift_consistency"):
        train(_cfg(data_root, tmp_path / "bad", epochs=1, val=None, shift_consistency=1.0, shift_consistency_px=0),
              progress=False)
