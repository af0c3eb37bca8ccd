"""`efld align`: recognition-ready aligned face crops for images, folders and globs (mirrors align.py)."""
from __future__ import annotations

import json
import sys
from pathlib import Path

import click
import numpy as np

from .align import SIZES, TEMPLATES
from .detect import DETECTOR_NAMES
from .errors import DataError, EFLDError
from .predict_cli import _parse_box, make_predictor


@click.command("align")
@click.argument("inputs", nargs=-1, required=True)
@click.option("--out", required=True, type=click.Path(file_okay=False, path_type=Path),
              help="Folder for the aligned crops and alignments.jsonl (transforms to map points back).")
@click.option("--size", type=click.Choice([str(s) for s in SIZES]), default="112", show_default=True,
              help="Side of the square aligned crop (112: ArcFace; 160: FaceNet; 224: VGG-Face).")
@click.option("--template", type=click.Choice(sorted(TEMPLATES)), default="arcface", show_default=True,
              help="arcface: eye centres (from the eye contours), nose tip, mouth corners, InsightFace's layout; "
                   "method5: the method's subset (outer eye corners, nose tip, mouth corners).")
@click.option("--model", type=click.Path(dir_okay=False, path_type=Path),
              help="Model artifact (.pt, .onnx or .tflite; default: the shipped model).")
@click.option("--backend", type=click.Choice(["pt", "onnx", "tflite"]), help="Run the shipped model's artifact of this kind.")
@click.option("--detector", type=click.Choice(["auto", *DETECTOR_NAMES]), default="auto", show_default=True)
@click.option("--box", callback=_parse_box, metavar="X,Y,W,H", help="Face box in pixels for every input: skips detection.")
@click.option("--threads", default=1, show_default=True, help="Threads for the model's runtime.")
@click.option("--no-progress", is_flag=True, help="No progress bar.")
def align_cmd(inputs: tuple[str, ...], out: Path, size: str, template: str, model: Path | None, backend: str | None,
              detector: str, box: np.ndarray | None, threads: int, no_progress: bool) -> None:
    """Aligned crops of every face in INPUT... (images, folders, globs): the five points of the template
    land on fixed positions (similarity transform: rotation, scale, shift). Each crop is written as
    OUT/<image>_face<k>.png; OUT/alignments.jsonl holds per face the image->crop matrix and its inverse.

    Unreadable inputs and images without a face are reported one line each and the rest processed;
    the exit status is non-zero only when no face at all was aligned.
    """
    from tqdm import tqdm

    from .align import align_face
    from .files import write_text
    from .data.record import read_image
    from .media import expand_inputs, is_video, write_image

    files, problems = expand_inputs(list(inputs))
    for p in problems:
        click.echo(f"skipped {p}", err=True)
    predictor = make_predictor(model, backend, detector, box, threads)
    out.mkdir(parents=True, exist_ok=True)
    rows, skipped, side = [], len(problems), int(size)
    say = lambda m: tqdm.write(m, file=sys.stderr)  # noqa: E731
    for path in tqdm(files, desc="align", unit="image", disable=no_progress or len(files) < 2):
        if is_video(path):
            say(f"skipped {path}: align takes images (use `efld predict` for videos)")
            skipped += 1
            continue
        try:
            image = read_image(path)
        except DataError as e:
            say(f"skipped {e}")
            skipped += 1
            continue
        faces = predictor.predict(image, None if box is None else [box])
        if not faces:
            say(f"{path}: no face found")
        for k, face in enumerate(faces):
            aligned = align_face(image, face.points, side, template)
            name = f"{path.stem}_face{k}.png"
            write_image(out / name, aligned.image)
            rows.append({"source": str(path), "face": k, "crop": name, "size": side, "template": template,
                         "matrix": np.round(aligned.matrix, 6).tolist(), "inverse": np.round(aligned.inverse, 6).tolist(),
                         "five_points": np.round(aligned.five_points, 3).tolist(), "confidence": round(face.confidence, 4), "pose": face.to_dict()["pose"]})
    if rows:
        write_text(out / "alignments.jsonl", "\n".join(json.dumps(r) for r in rows))
    click.echo(f"{len(rows)} face(s) aligned into {out}" + (f"; {skipped} input(s) skipped" if skipped else ""), err=True)
    if not rows:
        raise EFLDError("no face aligned in any input")
