"""The `efld` command line; each command mirrors a Python function of the package."""
from __future__ import annotations

import json
import sys
from pathlib import Path

import click

from .errors import EFLDError
from .files import write_text
from .label import JAW_DEPTHS, JAW_OFFSETS, POSE_LABELS
from .landmarks import REGIONS
from .release import MODEL_NAME

DEFAULT_CONFIG = Path(__file__).parent / "configs" / "default.yaml"


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
def cli() -> None:
    """EFLD: train, evaluate and export a tiny 68-point facial landmark detector.

    Data is read from --data-root / $EFLD_DATA (default ../shared/data).
    """


@cli.command("train")
@click.argument("config", required=False, type=click.Path(dir_okay=False, path_type=Path))
@click.option("--out", help="Run folder (checkpoints, metrics.jsonl, config.yaml).")
@click.option("--epochs", type=int)
@click.option("--batch-size", type=int)
@click.option("--lr", type=float)
@click.option("--seed", type=int)
@click.option("--workers", type=int, help="DataLoader worker processes.")
@click.option("--threads", type=int, help="torch CPU threads per process.")
@click.option("--max-steps", type=int, help="Stop after this many optimiser steps (smoke runs).")
@click.option("--max-samples", type=int, help="Train on a random subset of this size.")
@click.option("--data-root", type=click.Path(file_okay=False), help="Folder holding the datasets.")
@click.option("--resume", type=click.Path(dir_okay=False, path_type=Path), help="Checkpoint to resume from.")
@click.option("--skip-bad", is_flag=True, default=None, help="Leave out bad records (listed) instead of stopping.")
@click.option("--no-progress", is_flag=True, help="No progress bars (logs only).")
@click.option("--print-config", is_flag=True,
              help="Print the resolved config (its base: chain and the flags applied) as YAML and exit.")
def train_cmd(config: Path | None, resume: Path | None, no_progress: bool, print_config: bool,
              **overrides) -> None:
    """Train a model from CONFIG (YAML; default: the shipped CPU recipe), flags overriding its keys.

    A config may start from another and state only what it changes: `base: other.yaml` (relative to
    the config's folder); sections such as model: and loss: merge key by key, lists replace. The run
    folder's config.yaml records the resolved config.

    Runs under torchrun too: `torchrun --nproc_per_node 2 -m efld_export.cli train CONFIG`.
    """
    from .train import TrainConfig, train

    cfg = TrainConfig.from_file(config or DEFAULT_CONFIG, overrides)
    if print_config:
        click.echo(cfg.to_yaml())
        return
    best = train(cfg, resume=resume, progress=not no_progress)
    click.echo(str(best))


def _emit(report: dict, json_out: Path | None) -> None:
    """A command's JSON report: written atomically where asked, and printed."""
    text = json.dumps(report, indent=2)
    if json_out:
        write_text(json_out, text)
    click.echo(text)


@cli.command("eval")
@click.argument("model", type=click.Path(dir_okay=False, path_type=Path))
@click.argument("data_dir", type=click.Path(path_type=Path))
@click.option("--json", "json_out", type=click.Path(dir_okay=False, path_type=Path), help="Write the report here.")
@click.option("--split", help="Split of a train.csv/test.csv dataset (or DATA_DIR:split).")
@click.option("--ced", type=click.Path(dir_okay=False, path_type=Path), help="Write a CED plot (PNG).")
@click.option("--grid", type=click.Path(dir_okay=False, path_type=Path), help="Write a grid of faces with points (PNG/JPEG).")
@click.option("--threads", default=1, show_default=True, help="Threads for the ONNX/TFLite runtimes.")
@click.option("--skip-bad", is_flag=True, help="Leave out bad records (listed) instead of stopping.")
def eval_cmd(model: Path, data_dir: Path, json_out: Path | None, split: str | None, ced: Path | None,
             grid: Path | None, threads: int, skip_bad: bool) -> None:
    """Evaluate MODEL (.pt, .onnx or .tflite) on DATA_DIR (any supported dataset layout).

    The face box is the ground-truth landmark box squared and scaled by 1.25; every image is counted.
    NMEs are in %: nme_bbox (by sqrt(w*h) of the landmark box, per |yaw| bin), nme_interocular.
    """
    from .data import load_records, parse_spec
    from .evaluate import ced_plot, draw_grid, evaluate
    from .metrics import nme_interocular
    from .runtime import LandmarkModel

    lm = LandmarkModel.from_artifact(model, threads=threads)
    records = load_records(data_dir, split=split, skip_bad=skip_bad)
    report, pred = evaluate(lm, records, data_dir=parse_spec(data_dir)[0])
    report["model"] = str(model)
    report["data"] = str(data_dir)
    _emit(report, json_out)
    if ced:
        import numpy as np

        gt = np.stack([r.points for r in records])
        ced_plot({model.name: nme_interocular(pred, gt)}, ced)
    if grid:
        draw_grid(records, pred, grid)


@cli.command("compare")
@click.argument("model_a", type=click.Path(dir_okay=False, path_type=Path))
@click.argument("model_b", type=click.Path(dir_okay=False, path_type=Path))
@click.argument("data_dir", type=click.Path(path_type=Path))
@click.option("--json", "json_out", type=click.Path(dir_okay=False, path_type=Path), help="Write the report here.")
@click.option("--split", help="Split of a train.csv/test.csv dataset (or DATA_DIR:split).")
@click.option("--resamples", default=2000, show_default=True, type=click.IntRange(100),
              help="Bootstrap resamples of the faces.")
@click.option("--seed", default=0, show_default=True, help="Seed of the resampling.")
@click.option("--threads", default=1, show_default=True, help="Threads for the ONNX/TFLite runtimes.")
@click.option("--skip-bad", is_flag=True, help="Leave out bad records (listed) instead of stopping.")
def compare_cmd(model_a: Path, model_b: Path, data_dir: Path, json_out: Path | None, split: str | None,
                resamples: int, seed: int, threads: int, skip_bad: bool) -> None:
    """Is MODEL_B better than MODEL_A on DATA_DIR, or only on these faces?

    Both are evaluated as `efld eval` does, on the same faces; for the NME headline (mean of the |yaw| bins)
    and the pose MAE it reports B's figure minus A's, a 95 % interval from resampling the faces (within each
    yaw bin, the same draw for both: a paired bootstrap) and the share of resamples in which B is lower. An
    interval that holds 0 means the set cannot tell the two apart.
    """
    from .data import load_records
    from .evaluate import compare
    from .runtime import LandmarkModel

    a = LandmarkModel.from_artifact(model_a, threads=threads)
    b = LandmarkModel.from_artifact(model_b, threads=threads)
    records = load_records(data_dir, split=split, skip_bad=skip_bad)
    report = {"a": str(model_a), "b": str(model_b), "data": str(data_dir),
              **compare(a, b, records, resamples=resamples, seed=seed)}
    _emit(report, json_out)


@cli.command("label")
@click.argument("data_dir", type=click.Path(path_type=Path))
@click.option("--out", required=True, type=click.Path(file_okay=False, path_type=Path),
              help="Folder for landmarks.csv, pose.csv and report.json.")
@click.option("--teacher", type=click.Choice(["mediapipe", "none"]), default="mediapipe", show_default=True,
              help="mediapipe: the 3D shape model learnt from its meshes, fitted to the human points; none: rigid fit.")
@click.option("--max-fit-error", type=float, default=0.08, show_default=True,
              help="Drop faces whose rigid fit is further than this (fraction of the face size) from their human points.")
@click.option("--seed", type=int, default=0, show_default=True, help="Seed of the shape model's face sample.")
@click.option("--focal", type=float,
              help="The fit's camera focal length in image widths: crops cut out of larger photos need more than 1. "
                   "[default: LABEL_FOCAL in efld_export/label.py]")
@click.option("--pose-labels", type=click.Choice(POSE_LABELS), default="3dmm_calibrated",
              show_default=True,
              help="3dmm: pitch and roll by PnP of the 3DMM's mean shape on the labelled 68 points, in "
                   "AFLW2000-3D's frame; 3dmm_calibrated: the same, the pitch corrected by the labeller's offset "
                   "(LABELLER_PITCH_OFFSET in efld_export/label.py); mean_face: the fit's own rotation, in the "
                   "generic mean face's frame.")
@click.option("--jaw-depth", type=click.Choice(JAW_DEPTHS), default="3dmm", show_default=True,
              help="Depth of the shape model's jaw: the 3DMM mean shape's (AFLW2000-3D's jawline convention) or "
                   "MediaPipe's (up to v0.8.1; too shallow, it puts turned faces' jawline too near the nose).")
@click.option("--jaw-offset", type=click.Choice(JAW_OFFSETS), default="none", show_default=True,
              help="Move the shape model's mean jaw by the offset measured on youtube-faces-68 train "
                   "(JAW_OFFSETS in efld_export/label.py): y down, xy down and outwards, xy_frontal down and outwards "
                   "within 15 degrees of yaw (fading out by 30); none as up to v0.9.5. "
                   "The shipped model's labels use y (v0.9.7 also averages runs trained on xy_frontal); none "
                   "stays the default so that earlier recipes reproduce.")
@click.option("--pitch-offset", type=float,
              help="Degrees 3dmm_calibrated adds to the pitch labels, the labeller's own offset measured on youtube "
                   "train (benchmarks/labeller_pitch.py: 2.32 with --jaw-offset y; v0.9.6's labels kept the default, "
                   "2.32 read no better, benchmarks/README.md). "
                   "[default: LABELLER_PITCH_OFFSET in efld_export/label.py]")
@click.option("--model", "models", multiple=True, type=click.Path(exists=True, dir_okay=False),
              help="Our own checkpoint as a second teacher in the fit (repeatable: averaged, each flip-tested); "
                   "needs --teacher mediapipe. Best with models that never trained on DATA: on faces they "
                   "learnt, they repeat their old labels (benchmarks/README.md).")
@click.option("--model-weight", type=float,
              help="The models' weight in the fit at every yaw. [default: MODELS_WEIGHT in efld_export/label.py]")
@click.option("--data-root", type=click.Path(file_okay=False), help="Folder holding the datasets and the mean face.")
@click.option("--skip-bad", is_flag=True, help="Leave out bad records (listed) instead of stopping.")
def label_cmd(data_dir: Path, out: Path, teacher: str, max_fit_error: float, seed: int, focal: float | None,
              pose_labels: str, jaw_depth: str, jaw_offset: str, pitch_offset: float | None,
              models: tuple[str, ...], model_weight: float | None, data_root: str | None, skip_bad: bool) -> None:
    """68-point labels and head pose for faces that carry AFLW's 21 human points (a landmarks21.csv dataset).

    Writes OUT/landmarks.csv and OUT/pose.csv (absolute image paths: OUT is then a dataset for
    `efld train` and `efld eval`) and OUT/report.json (kept and dropped faces, the method). The same
    labelling runs inside `efld train` for such a dataset; its error is measured by
    benchmarks/label_quality.py.
    """
    from .data import data_root as default_root
    from .data import load_records
    from .data.writers import write_csv_dataset
    from .distill import teacher_model
    from .label import LABEL_FOCAL, LABELLER_PITCH_OFFSET, MODELS_WEIGHT, label_records, make_teacher
    from .pose import load_mean_face

    if models and teacher == "none":
        raise click.UsageError("--model joins the 3D teacher's fit: it needs --teacher mediapipe")
    root = Path(data_root) if data_root else default_root()
    path = data_dir if data_dir.exists() else root / data_dir
    records = [r for r in load_records(path, skip_bad=skip_bad) if "points21" in r.extra]
    if not records:
        raise EFLDError(f"{path}: no faces with 21 human points (expected a landmarks21.csv dataset)")
    kept, report = label_records(records, load_mean_face(root / "mean_face_68_3d.csv"), max_fit_error,
                                 teacher=make_teacher(None if teacher == "none" else teacher), seed=seed,
                                 focal=LABEL_FOCAL if focal is None else focal, pose_labels=pose_labels,
                                 models=teacher_model(list(models)) if models else None,
                                 models_weight=MODELS_WEIGHT if model_weight is None else model_weight,
                                 jaw_depth=jaw_depth, jaw_offset=jaw_offset,
                                 pitch_offset=LABELLER_PITCH_OFFSET if pitch_offset is None else pitch_offset)
    for rec, lab in kept:
        rec.points, rec.pose = lab.points, lab.pose
    write_csv_dataset(out, [rec for rec, _ in kept])
    write_text(out / "report.json", json.dumps({"data": str(path), **report}, indent=2))
    click.echo(f"labelled {report['n_kept']}/{report['n_input']} faces ({report['dropped']}) -> {out}")


@cli.command("features")
@click.argument("landmarks", type=click.Path(path_type=Path))
@click.option("--ratio", "ratios", multiple=True, metavar="A-B/C-D",
              help="Extra ratio r(ij,kl)=d(A,B)/d(C,D) of named 5-point-subset points (repeatable), e.g. "
                   "nose_tip-mouth_left/right_eye_outer-left_eye_outer.")
@click.option("--format", "fmt", type=click.Choice(["json", "csv"]), default="json", show_default=True,
              help="JSON lines or CSV.")
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), help="Output file (default: stdout).")
def features_cmd(landmarks: Path, ratios: tuple[str, ...], fmt: str, out: Path | None) -> None:
    """Geometric features of 68-point landmarks: 5-point distances and scale-invariant ratios.

    LANDMARKS is a landmarks CSV (image,x0,y0,...,x67,y67) or any dataset folder. Point names:
    right_eye_outer, left_eye_outer, nose_tip, mouth_right, mouth_left, mouth_centre.
    """
    import csv
    import io

    from .data.readers import iter_records, read_landmarks_csv
    from .data.record import Record
    from .errors import DataError
    from .features import features, parse_ratio

    pairs = [parse_ratio(r) for r in ratios]
    items = (read_landmarks_csv(landmarks, landmarks.parent) if landmarks.suffix == ".csv"
             else iter_records(landmarks))
    rows = []
    for item in items:
        if isinstance(item, DataError):
            click.echo(f"warning: {item}", err=True)
            continue
        assert isinstance(item, Record)
        rows.append({"image": item.image_path.name, **features(item.points, pairs)})
    if not rows:
        raise DataError("no landmarks to compute features from", path=str(landmarks))
    if fmt == "json":
        text = "\n".join(json.dumps(r) for r in rows)
    else:
        buf = io.StringIO()
        w = csv.DictWriter(buf, fieldnames=list(rows[0]))
        w.writeheader()
        w.writerows(rows)
        text = buf.getvalue().rstrip("\n")
    if out:
        write_text(out, text)
    else:
        click.echo(text)


@cli.command("export")
@click.option("--weights", type=click.Path(dir_okay=False, path_type=Path),
              help="Checkpoint (.pt) to export (default: the shipped model under models/).")
@click.option("--out", type=click.Path(file_okay=False, path_type=Path), default=Path("exported"), show_default=True,
              help="Output folder; replaced only when every check passes.")
@click.option("--int8/--no-int8", default=True, show_default=True,
              help="Full-integer int8 TFLite (int8 input, scale 1/255), calibrated on real face crops.")
@click.option("--fp16/--no-fp16", default=True, show_default=True, help="Float16 TFLite.")
@click.option("--int8-output", is_flag=True, help="int8 output too (default: float32 output).")
@click.option("--flip-test/--no-flip-test", default=None,
              help="Average each face with its mirror image inside the graph: more accurate, twice the compute "
                   "(benchmarks/README.md) [default: the checkpoint's setting; off for the shipped model].")
@click.option("--calib", metavar="DIR|N", help="Calibration: a dataset/face-image folder, or N crops sampled from "
              "the shared training data (default 200).")
@click.option("--budget-mb", type=float, default=2.1, show_default=True, help="Size budget of the int8 artifact (MB).")
@click.option("--max-nme-drop", type=float, default=0.1, show_default=True,
              help="Largest int8-vs-fp32 NME increase (points of %) the gate accepts.")
@click.option("--opset", type=int, default=13, show_default=True, help="ONNX opset.")
@click.option("--val", help="Validation data for the accuracy check (default: aflw2000-3d-val in the data root).")
@click.option("--val-max", type=int, help="Use only the first N validation images.")
@click.option("--threads", type=int, default=1, show_default=True, help="Interpreter threads for the checks.")
def export_cmd(calib: str | None, **kw) -> None:
    """Export a model: PyTorch -> ONNX (simplified) -> TFLite fp32/fp16/int8, with a report.

    Each stage is checked (onnx.checker, onnxruntime vs torch, TFLite interpreter accuracy and
    XNNPACK delegation). Exits non-zero if the int8 artifact is over --budget-mb or its NME is
    worse than fp32 by more than --max-nme-drop; nothing is written then.
    """
    from .export import ExportOptions, export

    opts = ExportOptions(**kw)
    if calib is not None:
        if calib.isdigit():
            opts.calib_n = int(calib)
        else:
            opts.calib = calib
    export(opts, say=click.echo)


@cli.command("average")
@click.argument("out", type=click.Path(dir_okay=False, path_type=Path))
@click.argument("checkpoints", nargs=-1, required=True, type=click.Path(dir_okay=False, path_type=Path))
def average_cmd(out: Path, checkpoints: tuple[Path, ...]) -> None:
    """Average the weights of CHECKPOINTS (two or more, one architecture) into OUT (a "model soup").

    Meant for runs fine-tuned from the same weights: their mean is often more accurate than each, at
    no cost at inference. Evaluate OUT (`efld eval`) before using it; OUT records each source's sha256.
    A calibration fitted to one network (the profile pose calibration's k) is dropped: measure it again for
    OUT (benchmarks/pose_profile_keep.py) and set it with `efld finish --pose-profile-keep`.
    """
    from .average import average, dropped_calibrations

    dropped = dropped_calibrations(average(out, checkpoints))
    if dropped:
        click.echo(f"dropped {', '.join(dropped)}: fitted to the sources, not to their average; measure it again "
                   "(benchmarks/pose_profile_keep.py) and set it with `efld finish`", err=True)
    click.echo(str(out))


@cli.command("finish")
@click.argument("checkpoint", type=click.Path(dir_okay=False, path_type=Path))
@click.argument("out", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--pose-profile-keep", type=click.FloatRange(0.0, 1.0),
              help="Set the profile pose calibration (models/efld.py): the share of pitch + sign(yaw) * roll "
                   "kept beyond 75 degrees of yaw (1: off); benchmarks/pose_profile_keep.py measures it.")
@click.option("--pose-mirror", is_flag=True,
              help="Average the pose head's read of the points with its read of their mirror image (models/efld.py; "
                   "a landmark-reading head only). Measure --pose-profile-keep with it on.")
def finish_cmd(checkpoint: Path, out: Path, pose_profile_keep: float | None, pose_mirror: bool) -> None:
    """Write CHECKPOINT (a run's last.pt, say) to OUT as a checkpoint for use: the weights (the moving
    average where the run kept one), their architecture and training config, without the optimiser
    state and raw weights that only resuming needs (a last.pt is about twice the size). OUT is written
    atomically and may be the path to ship (models/NAME/efld.pt)."""
    from .checkpoint import load_checkpoint, model_from_state, save_checkpoint
    from .train import finished

    if out.exists() and out.resolve() == checkpoint.resolve():
        raise EFLDError(f"{out}: the output would overwrite the checkpoint it is made from")
    state = finished(load_checkpoint(checkpoint))
    if pose_profile_keep is not None:
        state["model_args"] = {**state["model_args"], "pose_profile_keep": pose_profile_keep}
    if pose_mirror:
        state["model_args"] = {**state["model_args"], "pose_mirror": True}
        try:
            model_from_state(state)
        except ValueError as e:
            raise EFLDError(f"{checkpoint}: {e}") from None
    save_checkpoint(out, state)
    click.echo(str(out))


@cli.command("shape-prior")
@click.argument("checkpoint", type=click.Path(dir_okay=False, path_type=Path))
@click.argument("labels", type=click.Path(file_okay=False, path_type=Path))
@click.argument("out", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--keep", type=click.FloatRange(0.0, 1.0), required=True,
              help="The network's own share of each region (1: the prior off); benchmarks/shape_prior_keep.py "
                   "measures it.")
@click.option("--regions", default=",".join(REGIONS), show_default=True,
              help="The face regions the prior re-estimates, comma-separated (v0.9.8: jaw).")
@click.option("--skip-bad", is_flag=True, help="Leave out unreadable records of LABELS instead of stopping.")
def shape_prior_cmd(checkpoint: Path, labels: Path, out: Path, keep: float, regions: str, skip_bad: bool) -> None:
    """Fold a shape prior into CHECKPOINT's landmark layer (efld_export/shape_prior.py) and write OUT: for each region,
    the least-squares map from the network's other points to the region's points in LABELS (a labelled training pool,
    as `efld label` writes it), blended with the network's own at --keep. Same graph, size and speed. Measure the
    pose calibration on OUT after it (and refit the pose head if it reads worse), since the points have moved."""
    import numpy as np

    from .checkpoint import load_checkpoint, save_checkpoint
    from .data import load_records
    from .shape_prior import check_no_prior, check_regions, shape_prior_state

    if out.exists() and out.resolve() == checkpoint.resolve():
        raise EFLDError(f"{out}: the output would overwrite the checkpoint it is made from")
    names = [r.strip() for r in regions.split(",") if r.strip()]
    try:
        check_regions(names)
    except ValueError as e:
        raise EFLDError(f"--regions: {e}") from None
    state = load_checkpoint(checkpoint)
    try:
        check_no_prior(state)  # before the pool is read
        records = [r for r in load_records(labels, skip_bad=skip_bad) if np.isfinite(r.points).all()]
        save_checkpoint(out, shape_prior_state(state, records, keep, labels, names))
    except ValueError as e:
        raise EFLDError(f"{checkpoint}: {e}") from None
    click.echo(str(out))


@cli.command("release")
@click.argument("export_dir", type=click.Path(file_okay=False, path_type=Path))
@click.option("--name", default=MODEL_NAME, show_default=True, help="Model name (the release folder's prefix).")
@click.option("--version", "version", required=True, help="Release version, e.g. 0.1.0 (releases are immutable).")
@click.option("--models-dir", type=click.Path(file_okay=False, path_type=Path), default=Path("models"),
              show_default=True)
@click.option("--card", type=click.Path(dir_okay=False, path_type=Path), help="Model card (Markdown) to include.")
def release_cmd(export_dir: Path, name: str, version: str, models_dir: Path, card: Path | None) -> None:
    """Release a passed export as MODELS_DIR/NAME-vVERSION/ with manifest.json (sha256 of every file)."""
    from .release import make_release

    text = card.read_text() if card else ""
    dest = make_release(export_dir, name, version, models_dir, text)
    click.echo(str(dest))


@cli.command("verify")
@click.argument("release_dir", type=click.Path(file_okay=False, path_type=Path))
def verify_cmd(release_dir: Path) -> None:
    """Check every file of a release against its manifest.json (bytes and sha256)."""
    from .release import verify_release

    n = verify_release(release_dir)
    click.echo(f"ok: {n} files match {release_dir / 'manifest.json'}")


from .predict_cli import predict_cmd  # noqa: E402 - registered here, defined in its own module

cli.add_command(predict_cmd)

from .align_cli import align_cmd  # noqa: E402 - registered here, defined in its own module

cli.add_command(align_cmd)


from .bench_cli import arm_cmd, bench_cmd  # noqa: E402 - registered after the core commands

cli.add_command(bench_cmd)
cli.add_command(arm_cmd)


def main(args: list[str] | None = None, prog_name: str | None = None) -> None:
    """Entry point: user errors print one line and exit 2, never a traceback."""
    try:
        cli.main(args=args, prog_name=prog_name, standalone_mode=False)
    except click.exceptions.Abort:
        sys.exit(130)
    except click.ClickException as e:
        e.show()
        sys.exit(e.exit_code)
    except EFLDError as e:
        click.echo(f"error: {e}", err=True)
        sys.exit(2)


def export_main() -> None:
    """`efld-export`: the same as `efld export`."""
    main(["export", *sys.argv[1:]], prog_name="efld")


if __name__ == "__main__":
    main()
