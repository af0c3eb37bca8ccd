"""Weight averaging of checkpoints (efld_export/average.py, `efld average`) on a tiny trained model."""
from pathlib import Path

import numpy as np
import pytest
import torch
from click.testing import CliRunner

from efld_export.average import average, average_checkpoints
from efld_export.checkpoint import load_checkpoint, save_checkpoint
from efld_export.cli import cli
from efld_export.errors import EFLDError
from efld_export.release import sha256
from efld_export.runtime import LandmarkModel


def _shifted(trained: Path, out: Path, sign: float) -> Path:
    """The trained checkpoint with every float tensor moved by sign x a fixed random offset."""
    state = load_checkpoint(trained)
    g = torch.Generator().manual_seed(0)
    state["model"] = {k: v + sign * 0.01 * torch.randn(v.shape, generator=g) if v.is_floating_point() else v + 7
                      for k, v in state["model"].items()}
    save_checkpoint(out, state)
    return out


def test_the_average_of_two_checkpoints_is_their_mean_and_predicts_like_the_centre(trained, tmp_path):
    plus, minus = _shifted(trained, tmp_path / "plus.pt", 1.0), _shifted(trained, tmp_path / "minus.pt", -1.0)
    res = CliRunner().invoke(cli, ["average", str(tmp_path / "soup.pt"), str(plus), str(minus)])
    assert res.exit_code == 0 and "dropped" not in res.output, res.output
    soup, centre = load_checkpoint(tmp_path / "soup.pt"), load_checkpoint(trained)
    for k, v in centre["model"].items():
        if v.is_floating_point():
            torch.testing.assert_close(soup["model"][k], v, atol=1e-6, rtol=0)
        else:  # integer buffers are the first checkpoint's, not a mean
            assert torch.equal(soup["model"][k], v + 7)
    assert soup["model_args"] == centre["model_args"]
    assert [s["sha256"] for s in soup["averaged_from"]] == [sha256(plus), sha256(minus)]
    assert soup["averaged_from"][0]["config"] == centre["config"]
    crops = [np.random.default_rng(1).integers(0, 255, (112, 112, 3), dtype=np.uint8) for _ in range(4)]
    ours, ref = (LandmarkModel.from_artifact(p).predict_crops(crops) for p in (tmp_path / "soup.pt", trained))
    np.testing.assert_allclose(ours[0], ref[0], atol=1e-4)
    assert not np.allclose(LandmarkModel.from_artifact(plus).predict_crops(crops)[0], ref[0], atol=1e-4)


def test_averaging_refuses_what_it_cannot_average_and_ignores_training_only_options(trained, tmp_path):
    with pytest.raises(EFLDError, match="at least two"):
        average_checkpoints([trained])
    other = load_checkpoint(trained)
    other["model_args"] = {**other["model_args"], "width": 0.75}
    save_checkpoint(tmp_path / "wide.pt", other)
    with pytest.raises(EFLDError, match="differs from"):
        average_checkpoints([trained, tmp_path / "wide.pt"])
    stated = load_checkpoint(trained)  # an argument stated at its default is the same architecture as one left out
    stated["model_args"] = {**stated["model_args"], "pose_jaw": True, "pose_mirror": False}
    save_checkpoint(tmp_path / "stated.pt", stated)
    soup = average_checkpoints([trained, tmp_path / "stated.pt"])
    assert soup["model_args"] == load_checkpoint(trained)["model_args"]
    mirrored = load_checkpoint(trained)  # a switch away from its default is another network
    mirrored["model_args"] = {**mirrored["model_args"], "pose_mirror": True}
    save_checkpoint(tmp_path / "mirrored.pt", mirrored)
    with pytest.raises(EFLDError, match="differs from"):
        average_checkpoints([trained, tmp_path / "mirrored.pt"])
    detached = load_checkpoint(trained)  # a training-only option is no other architecture
    detached["model_args"] = {**detached["model_args"], "pose_detach": True}
    save_checkpoint(tmp_path / "detached.pt", detached)
    soup = average_checkpoints([tmp_path / "detached.pt", trained])
    assert soup["model_args"] == load_checkpoint(trained)["model_args"] and "pose_detach" not in soup["model_args"]
    calibrated = load_checkpoint(trained)  # a calibration fitted to one network is dropped, and the CLI says so
    calibrated["model_args"] = {**calibrated["model_args"], "pose_profile_keep": 0.82}
    save_checkpoint(tmp_path / "calibrated.pt", calibrated)
    res = CliRunner().invoke(cli, ["average", str(tmp_path / "recal.pt"), str(trained),
                                   str(tmp_path / "calibrated.pt")])
    assert res.exit_code == 0, res.output
    assert "pose_profile_keep" not in load_checkpoint(tmp_path / "recal.pt")["model_args"]
    assert "dropped pose_profile_keep" in res.output
    copy = tmp_path / "copy.pt"
    save_checkpoint(copy, load_checkpoint(trained))
    before = sha256(copy)
    with pytest.raises(EFLDError, match="overwrite"):
        average(copy, [trained, copy])
    assert sha256(copy) == before
    res = CliRunner().invoke(cli, ["average", str(tmp_path / "x.pt"), str(trained), str(tmp_path / "none.pt")])
    assert res.exit_code != 0 and "checkpoint not found" in str(res.exception) + res.output
    assert not (tmp_path / "x.pt").exists()
