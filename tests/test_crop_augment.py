import cv2
import numpy as np

from efld_export.augment import AugmentConfig, augment
from efld_export.crop import (INPUT_SIZE, box_from_points, crop_face, crop_matrix, invert_matrix,
                              transform_points, warp)
from efld_export.landmarks import FLIP_PERM


def test_crop_then_inverse_returns_the_original_points():
    rng = np.random.default_rng(1)
    pts = rng.uniform(50, 250, (68, 2))
    for angle in (0.0, 17.0, -33.0):
        m = crop_matrix(np.array([150.0, 140.0]), 180.0, angle_deg=angle)
        back = transform_points(transform_points(pts, m), invert_matrix(m))
        assert np.abs(back - pts).max() < 1e-9


def test_crop_maps_box_centre_to_crop_centre_and_side_to_input():
    box = np.array([40.0, 60.0, 100.0, 80.0])
    img = np.zeros((300, 300, 3), np.uint8)
    crop, m = crop_face(img, box)
    assert crop.shape == (INPUT_SIZE, INPUT_SIZE, 3)
    c = transform_points(np.array([[90.0, 100.0]]), m)[0]
    assert np.allclose(c, (INPUT_SIZE - 1) / 2)
    # the crop side is 1.25 x the longer box side
    a, b = transform_points(np.array([[90.0 - 62.5, 100.0], [90.0 + 62.5, 100.0]]), m)
    assert np.isclose(b[0] - a[0], INPUT_SIZE)


def test_crop_pixels_follow_the_points():
    """A bright dot drawn at a point appears where the transformed point says."""
    img = np.zeros((200, 200, 3), np.uint8)
    img[120:123, 70:73] = 255
    m = crop_matrix(np.array([100.0, 100.0]), 150.0, angle_deg=25)
    crop = warp(img, m)
    expected = transform_points(np.array([[71.0, 121.0]]), m)[0]
    ys, xs = np.nonzero(crop[..., 0] > 60)
    assert np.hypot(xs.mean() - expected[0], ys.mean() - expected[1]) < 1.0


def test_a_shrinking_crop_does_not_alias_fine_detail():
    """1-px stripes seen at 0.3-0.45x are a near-flat grey, as a camera would see them; bilinear taps
    alone pick stripes at random and draw false edges (an area filter leaves a little moire)."""
    img = np.zeros((600, 600), np.uint8)
    img[:, ::2] = 255
    for scale, angle in ((0.45, 0.0), (0.4, 10.0), (0.3, -30.0)):
        m = crop_matrix(np.array([300.0, 300.0]), INPUT_SIZE / scale, angle_deg=angle)
        crop = warp(img, m).astype(float)
        plain = cv2.warpAffine(img, m, (INPUT_SIZE, INPUT_SIZE), flags=cv2.INTER_LINEAR).astype(float)
        assert abs(crop.mean() - 127.5) < 3 and plain.std() > 60
        assert crop.std() < plain.std() / 4, (scale, angle, crop.std(), plain.std())


def test_a_shrinking_crop_keeps_the_geometry_to_a_fraction_of_a_pixel():
    """On a linear ramp the area-averaged crop must read the value the matrix says at every pixel
    (pixel centres at integers), at any scale and rotation, near the image edge too."""
    ys, xs = np.mgrid[0:900, 0:700].astype(np.float32)
    ramp = 0.3 * xs + 0.2 * ys  # float image: no rounding
    for centre, side, angle in (([350.0, 450.0], 250.0, 0.0), ([300.0, 400.0], 301.0, 21.0),
                                ([60.0, 80.0], 140.0, -8.0), ([350.0, 450.0], 90.0, 0.0)):
        m = crop_matrix(np.array(centre), side, angle_deg=angle)
        crop = warp(ramp, m)
        where = transform_points(np.stack(np.mgrid[0:INPUT_SIZE, 0:INPUT_SIZE][::-1], -1).reshape(-1, 2)
                                 .astype(float), invert_matrix(m))
        inside = ((where > 2) & (where < [698, 898])).all(1)
        expected = (0.3 * where[:, 0] + 0.2 * where[:, 1])[inside]
        err = np.abs(crop.reshape(-1)[inside] - expected)
        assert inside.mean() > 0.5 and err.max() < 0.3 * 0.5, (side, angle, err.max())


def test_flip_with_permutation_matches_the_mirrored_image():
    """Flipping crop and points keeps each point on its pixel, and swaps left/right labels."""
    rng = np.random.default_rng(0)
    img = np.zeros((200, 200, 3), np.uint8)
    pts = rng.uniform(60, 140, (68, 2)).round()
    cfg = AugmentConfig(rotate_p=0, scale=0, shift=0, flip_p=1.0, occlude_p=0, colour_p=0, gray_p=0, blur_p=0)
    crop, out, angle, flipped = augment(img, pts, box_from_points(pts), rng, cfg)
    assert flipped and angle == 0
    plain, ref, _, _ = augment(img, pts, box_from_points(pts), rng, None)
    # the left outer corner (45) of the flipped face is the mirror of the right one (36) of the plain crop
    assert np.allclose(out[45], [INPUT_SIZE - 1 - ref[36, 0], ref[36, 1]])
    assert np.allclose(out, np.column_stack([INPUT_SIZE - 1 - ref[FLIP_PERM, 0], ref[FLIP_PERM, 1]]))
    assert np.array_equal(crop, plain[:, ::-1])


def test_augment_keeps_points_consistent_with_pixels_under_rotation_and_scale():
    rng = np.random.default_rng(3)
    img = np.zeros((240, 240, 3), np.uint8)
    pts = rng.uniform(80, 160, (68, 2)).round()
    img[int(pts[30, 1]) - 1:int(pts[30, 1]) + 2, int(pts[30, 0]) - 1:int(pts[30, 0]) + 2] = 255
    cfg = AugmentConfig(rotate_p=1.0, flip_p=0, occlude_p=0, colour_p=0, gray_p=0, blur_p=0)
    crop, out, angle, _ = augment(img, pts, box_from_points(pts), rng, cfg)
    assert angle != 0
    ys, xs = np.nonzero(crop[..., 0] > 40)
    assert np.hypot(xs.mean() - out[30, 0], ys.mean() - out[30, 1]) < 1.0


def test_wide_framing_mixture_frames_its_share_of_crops_wide():
    """wide_p of the crops take the wide shift, the rest the narrow one; wide_p 0 keeps every crop narrow."""
    img = np.zeros((240, 240, 3), np.uint8)
    pts = np.random.default_rng(1).uniform(80, 160, (68, 2))
    plain = augment(img, pts, box_from_points(pts), np.random.default_rng(0), None)[1].mean(0)
    fixed = dict(rotate_p=0, scale=0, flip_p=0, occlude_p=0, colour_p=0, gray_p=0, blur_p=0)

    def moves(cfg: AugmentConfig) -> np.ndarray:
        rng = np.random.default_rng(5)
        return np.array([np.abs(augment(img, pts, box_from_points(pts), rng, cfg)[1].mean(0) - plain).max()
                         for _ in range(400)])

    narrow_px = 0.01 * INPUT_SIZE + 1e-6
    assert moves(AugmentConfig(shift=0.01, **fixed)).max() <= narrow_px
    mixed = moves(AugmentConfig(shift=0.01, wide_p=0.3, wide_shift=0.2, wide_scale=0, **fixed))
    assert mixed.max() <= 0.2 * INPUT_SIZE + 1e-6
    assert 0.22 < (mixed > narrow_px).mean() < 0.38
