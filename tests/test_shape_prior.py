"""The shape prior (efld_export/shape_prior.py, `efld shape-prior`): the fit, its mirror symmetry, the fold into the
landmark layer, and the command on a tiny trained model."""
from pathlib import Path

import numpy as np
import pytest
import torch
from click.testing import CliRunner

from conftest import write_csv_dataset
from efld_export.checkpoint import load_checkpoint, load_model
from efld_export.cli import cli, main
from efld_export.landmarks import GROUPS
from efld_export.shape_prior import blend, fit_shape_prior, fold_shape_prior, mirrored, outputs
from efld_export.models import create_model
from efld_export.runtime import LandmarkModel

JAW = list(GROUPS["jaw"])


def _faces(n: int, seed: int = 0) -> np.ndarray:
    """(n, 68, 2) random crop-unit shapes."""
    return np.random.default_rng(seed).uniform(0.2, 0.8, (n, 68, 2))


def _symmetric_jaw_labels(points: np.ndarray) -> np.ndarray:
    """points with the jaw replaced by the inner points' centroid plus fixed offsets that mirror onto each other:
    a jaw that is an exact, handedness-free linear function of the inner points."""
    offsets = np.stack([np.linspace(-0.3, 0.3, 17), 0.2 - 0.5 * np.linspace(-1, 1, 17) ** 2], 1)
    out = points.copy()
    out[:, JAW] = points[:, 17:].mean(1, keepdims=True) + offsets
    return out


def test_the_fit_recovers_a_jaw_that_follows_the_inner_points_and_predicts_new_faces():
    train, new = _faces(300), _faces(50, seed=1)
    prior = fit_shape_prior(train, _symmetric_jaw_labels(train), ["jaw"])
    target, read, m = prior["jaw"]
    assert list(target) == list(outputs("jaw")) and m.shape == (2 * 51 + 1, 34) and len(read) == 102
    predicted = blend(new.reshape(50, -1), prior, 0.0).reshape(50, 68, 2)
    np.testing.assert_allclose(predicted, _symmetric_jaw_labels(new), atol=1e-9)
    np.testing.assert_array_equal(blend(new.reshape(50, -1), prior, 1.0), new.reshape(50, -1))


def test_every_region_is_read_from_the_raw_points_of_the_others():
    train = _faces(300)
    labels = train + np.random.default_rng(5).normal(0, 0.02, train.shape)
    prior = fit_shape_prior(train, labels)
    assert sorted(prior) == sorted(["jaw", "brows", "nose", "eyes", "mouth"])
    new = _faces(10, seed=6).reshape(10, -1)
    both = blend(new, prior, 0.3)
    for region in prior:  # each region as if it were the only one: the blend reads the raw points, not the blended
        alone = blend(new, {region: prior[region]}, 0.3)
        np.testing.assert_allclose(both[:, outputs(region)], alone[:, outputs(region)], atol=1e-12)
    with pytest.raises(ValueError, match="regions"):
        fit_shape_prior(train, labels, ["chin"])


def test_the_prior_has_no_handedness_so_it_commutes_with_the_mirror_image():
    train = _faces(300)
    labels = train + np.random.default_rng(2).normal(0, 0.02, train.shape)  # a jaw with no exact rule
    prior = fit_shape_prior(train, labels)
    new = _faces(20, seed=3)
    blended = blend(new.reshape(20, -1), prior, 0.4).reshape(20, 68, 2)
    of_mirror = blend(mirrored(new).reshape(20, -1), prior, 0.4).reshape(20, 68, 2)
    np.testing.assert_allclose(of_mirror, mirrored(blended), atol=1e-9)


def test_the_fit_refuses_too_few_faces():
    with pytest.raises(ValueError, match="more than 51 faces"):
        fit_shape_prior(_faces(20), _faces(20), ["jaw"])


@pytest.mark.parametrize("templates", [0, 4])
def test_folding_into_the_layer_gives_the_blend_of_the_network_outputs(templates):
    torch.manual_seed(0)
    net = create_model(width=0.35, pose_from="landmarks", templates=templates).eval()
    x = torch.rand(3, 3, 112, 112)
    with torch.no_grad():
        before = net(x)[0].numpy()
    faces = _faces(300, seed=4)
    prior = fit_shape_prior(faces, faces + np.random.default_rng(4).normal(0, 0.05, faces.shape))
    fold_shape_prior(net, prior, 0.6)
    with torch.no_grad():
        after, pose = net(x)
    np.testing.assert_allclose(after.numpy(), blend(before, prior, 0.6), atol=1e-5)
    with torch.no_grad():  # the pose head reads the folded points
        np.testing.assert_allclose(pose.numpy(), net.read_pose(after).numpy(), atol=1e-6)
    with pytest.raises(ValueError, match="keep"):
        fold_shape_prior(net, prior, 1.5)


def test_the_command_folds_a_prior_fitted_on_a_labelled_pool(trained, tmp_path, capsys):
    pool = write_csv_dataset(tmp_path / "pool", n=60, seed=9)
    out = tmp_path / "jaw.pt"
    res = CliRunner().invoke(cli, ["shape-prior", str(trained), str(pool), str(out), "--keep", "0.5",
                                   "--regions", "jaw"])
    assert res.exit_code == 0, res.output
    state = load_checkpoint(out)
    assert state["shape_prior"] == {"labels": str(pool), "faces": 60, "keep": 0.5, "regions": ["jaw"]}
    crops = [np.random.default_rng(i).integers(0, 255, (112, 112, 3), dtype=np.uint8) for i in range(4)]
    old = LandmarkModel.from_artifact(trained).predict_crops(crops)[0]
    new = LandmarkModel.from_artifact(out).predict_crops(crops)[0]
    np.testing.assert_allclose(new[:, 17:], old[:, 17:], atol=1e-4)  # the inner points stay the network's
    assert np.abs(new[:, JAW] - old[:, JAW]).max() > 1e-3  # the jaw moved
    assert isinstance(load_model(out), torch.nn.Module)
    for args, message in (([str(out), str(pool), str(tmp_path / "twice.pt")], "already has a shape prior"),
                          ([str(out), str(pool), str(out)], "overwrite"),
                          ([str(trained), str(tmp_path / "nothing"), str(tmp_path / "o.pt")], "not found"),
                          ([str(trained), str(pool), str(tmp_path / "o.pt"), "--regions", "jaw,chin"], "chin")):
        with pytest.raises(SystemExit) as exit_:
            main(["shape-prior", *args, "--keep", "0.5"])
        err = capsys.readouterr().err  # the loader's progress bar may come first
        last = [line for line in err.replace("\r", "\n").splitlines() if line.strip()][-1]
        assert exit_.value.code == 2 and last.startswith("error:") and message in last and "Traceback" not in err
    assert not (tmp_path / "twice.pt").exists() and not (tmp_path / "o.pt").exists()
