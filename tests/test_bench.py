"""Host benchmark: the direct crop path, a full `efld bench` run with the peers, speed-only mode."""
import json

import numpy as np
import pytest
from click.testing import CliRunner

from efld_export import bench
from efld_export.cli import cli
from efld_export.errors import EFLDError
from efld_export.runtime import LandmarkModel, load_backend, preprocess


@pytest.mark.parametrize("name", ["efld_int8.tflite", "efld_float32.tflite", "efld_float16.tflite"])
def test_direct_crop_path_equals_the_float_path(exported_tiny, name):
    crops = np.random.default_rng(0).integers(0, 256, (5, 112, 112, 3), dtype=np.uint8)
    backend = load_backend(exported_tiny / name)
    assert backend.pixel_input == (name == "efld_int8.tflite")
    lm, pose = backend.run(preprocess(list(crops)))
    lm2, pose2 = backend.run_crops(crops)
    np.testing.assert_array_equal(lm, lm2)
    np.testing.assert_array_equal(pose, pose2)
    pts, _ = LandmarkModel(backend).predict_crops(list(crops))
    np.testing.assert_allclose(pts, lm.reshape(-1, 68, 2) * 111)


def test_bench_command_with_peers_chart_and_ratios(exported_tiny, data_root, tmp_path):
    out, png = tmp_path / "bench.json", tmp_path / "bench.png"
    arts = [str(exported_tiny / n) for n in ("efld_int8.tflite", "efld_float32.tflite", "efld.onnx")]
    res = CliRunner().invoke(cli, ["bench", *arts, "--data", str(data_root / "val"), "--runs", "30", "--warmup", "5",
                                   "--json", str(out), "--chart", str(png)])
    assert res.exit_code == 0, res.output
    report = json.loads(out.read_text())
    peers = [s.name for s in bench.available_peers(1)]
    assert [r["name"] for r in report["results"]] == ["efld_int8.tflite", "efld_float32.tflite", "efld.onnx", *peers]
    for r in report["results"]:
        lat = r["latency"]
        assert 0 < lat["median_ms"] <= lat["p90_ms"] and lat["runs"] == 30 and lat["first_ms"] > 0
        assert lat["fps"] == pytest.approx(1000 / lat["median_ms"], rel=1e-3)
        assert r["memory"]["peak_rss_mb"] > r["memory"]["model_peak_mb"] > 0
        assert r["bytes"] > 0 and np.isfinite(r["nme_bbox"]["mean_of_bins"])
        assert r["xnnpack"]["fully_delegated"] if r["file"].endswith(".tflite") else "xnnpack" not in r
    assert len(report["ratios"]) == 3 * len(peers)
    assert report["threads"] == 1 and report["n_images"] == 16 and report["reference"]["fps"] == 140
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_mediapipe_peer_sees_a_face_where_it_is(data_root):
    """The 468 -> 68 mapping and the crop convention put the peer's points on the face."""
    from efld_export.data import load_records
    from efld_export.evaluate import evaluate
    from efld_export.peers import MediaPipePeer

    try:
        peer = MediaPipePeer()
    except EFLDError as e:  # mediapipe (the model file's package) is not installed
        pytest.skip(str(e))
    report, pred = evaluate(peer, load_records(data_root / "val", progress=False), progress=False)
    assert pred.shape == (16, 68, 2) and report["nme_bbox"]["overall"] < 30  # drawn faces, not photos


def test_speed_only_without_data(exported_tiny):
    report = bench.bench([exported_tiny / "efld_int8.tflite"], None, peers=False, runs=10, warmup=2,
                         speed_crops=4, say=lambda m: None)
    (row,) = report["results"]
    assert "nme_bbox" not in row and row["latency"]["runs"] == 10 and report["n_images"] == 0


def test_artifacts_with_one_file_name_keep_their_own_rows(exported_tiny, tmp_path):
    """Two releases' efld_int8.tflite side by side: named by folder, so neither row nor ratio is lost."""
    other = tmp_path / "v2"
    other.mkdir()
    (other / "efld_int8.tflite").write_bytes((exported_tiny / "efld_int8.tflite").read_bytes())
    arts = [exported_tiny / "efld_int8.tflite", other / "efld_int8.tflite", exported_tiny / "efld.onnx"]
    report = bench.bench(arts, None, peers=False, runs=5, warmup=1, speed_crops=2, say=lambda m: None)
    assert [r["name"] for r in report["results"]] == [f"{exported_tiny.name}/efld_int8.tflite",
                                                      "v2/efld_int8.tflite", "efld.onnx"]
    with pytest.raises(EFLDError, match="named alike"):
        bench.bench([arts[0], arts[0]], None, peers=False, say=lambda m: None)
