import numpy as np
import pytest

from efld_export.align import TEMPLATES, align_face, five_points_for, template_points
from efld_export.crop import transform_points
from efld_export.errors import EFLDError
from efld_export.landmarks import GROUPS


def _face_with_five(five: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """68 points whose eye contours centre on five[0:2] and whose nose/mouth points are five[2:]."""
    pts = rng.uniform(50, 150, (68, 2))
    for eye, centre in (("right_eye", five[0]), ("left_eye", five[1])):
        ring = np.array([[np.cos(a), np.sin(a)] for a in np.arange(6) * np.pi / 3]) * 6
        pts[list(GROUPS[eye])] = centre + ring
    pts[30], pts[48], pts[54] = five[2], five[3], five[4]
    return pts


@pytest.mark.parametrize("size", [112, 160, 224])
def test_rotated_scaled_face_comes_out_aligned_and_maps_back(size):
    rng = np.random.default_rng(size)
    a, s, t = np.radians(27), 1.9, np.array([61.0, 35.0])
    rot = s * np.array([[np.cos(a), -np.sin(a)], [np.sin(a), np.cos(a)]])
    five = template_points("arcface", 112) @ rot.T + t  # a face turned 27 degrees and scaled 1.9
    pts = _face_with_five(five, rng)
    image = np.zeros((400, 400, 3), np.uint8)
    for x, y in five:
        image[int(round(y)) - 1:int(round(y)) + 2, int(round(x)) - 1:int(round(x)) + 2] = 255
    out = align_face(image, pts, size, "arcface")
    target = template_points("arcface", size)
    assert np.abs(out.five_points - target).max() < 1.0
    assert out.image.shape == (size, size, 3)
    # the bright dots of the warped image sit on the template's points
    for x, y in target:
        patch = out.image[int(y) - 3:int(y) + 4, int(x) - 3:int(x) + 4, 0]
        assert patch.max() > 100
    back = transform_points(out.five_points, out.inverse)
    assert np.abs(back - five).max() < 1e-6


def test_method5_uses_outer_corners_and_unknown_template_is_an_error():
    pts = np.arange(136, dtype=float).reshape(68, 2)
    assert np.allclose(five_points_for(pts, "method5")[0], pts[36])
    assert np.allclose(five_points_for(pts, "arcface")[0], pts[36:42].mean(0))
    assert set(TEMPLATES) >= {"arcface", "method5"}
    with pytest.raises(EFLDError, match="unknown template"):
        five_points_for(pts, "nope")


def test_align_cli_writes_crops_and_transforms_and_reports_bad_input(trained, tmp_path):
    import json

    import cv2
    from click.testing import CliRunner

    from efld_export.cli import cli
    from conftest import render_face

    img, pts = render_face(np.random.default_rng(4), 200, (10, 0, 0))
    src = tmp_path / "in"
    src.mkdir()
    cv2.imwrite(str(src / "face.png"), cv2.cvtColor(img, cv2.COLOR_RGB2BGR))
    (src / "broken.jpg").write_bytes(b"not an image")
    out = tmp_path / "out"
    box = ",".join(f"{v:.1f}" for v in (pts.min(0).tolist() + (pts.max(0) - pts.min(0)).tolist()))
    res = CliRunner().invoke(cli, ["align", str(src), "--out", str(out), "--size", "160", "--model", str(trained),
                                   "--box", box, "--template", "method5", "--no-progress"])
    assert res.exit_code == 0, res.output
    assert "broken.jpg" in res.output and "1 face(s) aligned" in res.output
    row = json.loads((out / "alignments.jsonl").read_text().splitlines()[0])
    crop = cv2.imread(str(out / row["crop"]))
    assert crop.shape == (160, 160, 3)
    m, inv = np.array(row["matrix"]), np.array(row["inverse"])
    p = np.array([[10.0, 20.0]])
    assert np.allclose(transform_points(transform_points(p, m), inv), p, atol=1e-3)
    # nothing alignable at all: a non-zero exit with one line, no traceback
    res = CliRunner().invoke(cli, ["align", str(src / "broken.jpg"), "--out", str(out), "--model", str(trained),
                                   "--box", box])
    assert res.exit_code != 0 and "Traceback" not in res.output
