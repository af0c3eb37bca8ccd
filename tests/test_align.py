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
