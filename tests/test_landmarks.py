import numpy as np

from efld_export import landmarks as L


def test_flip_permutation_is_an_involution_and_swaps_sides():
    assert sorted(L.FLIP_PERM.tolist()) == list(range(68))
    assert (L.FLIP_PERM[L.FLIP_PERM] == np.arange(68)).all()
    assert L.FLIP_PERM[36] == 45 and L.FLIP_PERM[48] == 54 and L.FLIP_PERM[0] == 16
    assert L.FLIP_PERM[30] == 30 and L.FLIP_PERM[8] == 8 and L.FLIP_PERM[62] == 62


def test_flip_points_twice_is_identity_and_mirrors_x():
    pts = np.random.default_rng(0).uniform(0, 100, (68, 2))
    once = L.flip_points(pts, 101)
    assert np.allclose(L.flip_points(once, 101), pts)
    assert np.allclose(once[45], [100 - pts[36, 0], pts[36, 1]])


def test_five_point_subset_and_normalisation():
    assert L.FIVE_POINTS == (36, 45, 30, 48, 54)
    assert L.INTEROCULAR == (36, 45)


def test_wflw_mapping_is_68_distinct_indices():
    m = L.WFLW98_TO_68
    assert len(m) == 68 and len(set(m.tolist())) == 68 and m.max() < 98
    assert m[0] == 0 and m[16] == 32 and m[36] == 60 and m[45] == 72 and m[48] == 76 and m[67] == 95


def test_aflw21_from_68_uses_the_documented_correspondence():
    pts = np.arange(136, dtype=float).reshape(68, 2)
    p21 = L.aflw21_from_68(pts)
    assert np.isnan(p21[12]).all() and np.isnan(p21[16]).all()  # ear lobes
    assert np.allclose(p21[6], pts[36]) and np.allclose(p21[7], pts[36:42].mean(0))
    assert np.allclose(p21[20], pts[8])
