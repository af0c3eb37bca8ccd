"""`efld predict`: landmarks, head pose and features for images, folders, globs and videos (mirrors predict.py)."""
from __future__ import annotations

import csv
import io
import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click
import numpy as np

from .detect import DETECTOR_NAMES
from .errors import DataError, EFLDError

if TYPE_CHECKING:  # the CLI imports torch only when a command runs
    from .predict import Face, Predictor

SUFFIXES = {"pt": ("pt", "pth"), "onnx": ("onnx",), "tflite": ("tflite",)}


def _parse_box(ctx: click.Context, param: click.Parameter, text: str | None) -> np.ndarray | None:
    if text is None:
        return None
    try:
        box = np.array([float(v) for v in text.split(",")], dtype=np.float64)
    except ValueError:
        box = np.zeros(0)
    if box.shape != (4,) or not np.isfinite(box).all() or box[2] <= 0 or box[3] <= 0:
        raise click.BadParameter(f"{text!r}: expected x,y,w,h in pixels with w, h > 0, e.g. 120,80,200,200")
    return box


def _csv_row(row: dict[str, Any]) -> dict[str, Any]:
    """A JSON row flattened to CSV columns (box_x.., yaw.., x0, y0, .., then the features)."""
    flat = {k: row[k] for k in ("source", "frame", "time_s", "face", "track", "confidence", "detector_score")}
    flat.update(zip(("box_x", "box_y", "box_w", "box_h"), row["box"]))
    flat.update(row["pose"] or dict.fromkeys(("yaw", "pitch", "roll")))
    for i, (x, y) in enumerate(row["points"]):
        flat[f"x{i}"], flat[f"y{i}"] = x, y
    flat.update(row["features"])
    return flat


class Output:
    """Rows as JSON lines and/or CSV: streamed to stdout, or written (atomically) into the --out folder at the end."""

    def __init__(self, out: Path | None, as_json: bool, as_csv: bool):
        self.out = out
        self.formats = [f for f, on in (("json", as_json), ("csv", as_csv)) if on] or ["json"]
        self.rows: list[dict[str, Any]] = []
        self.csv_header: list[str] | None = None

    def add(self, row: dict[str, Any]) -> None:
        if self.out is not None:
            self.rows.append(row)
        elif self.formats == ["json"]:
            click.echo(json.dumps(row))
        else:
            click.echo(self._csv([row], header=self.csv_header is None), nl=False)

    def _csv(self, rows: list[dict[str, Any]], header: bool) -> str:
        flat = [_csv_row(r) for r in rows]
        self.csv_header = self.csv_header or list(flat[0])
        buf = io.StringIO()
        writer = csv.DictWriter(buf, fieldnames=self.csv_header)
        if header:
            writer.writeheader()
        writer.writerows(flat)
        return buf.getvalue()

    def finish(self) -> list[Path]:
        """Write the files (--out only); returns their paths."""
        from .files import write_text

        if self.out is None or not self.rows:
            return []
        written = []
        for fmt in self.formats:
            path = self.out / ("predictions.jsonl" if fmt == "json" else "predictions.csv")
            text = "\n".join(json.dumps(r) for r in self.rows) if fmt == "json" else self._csv(self.rows, True)
            write_text(path, text.rstrip("\n"))
            written.append(path)
        return written


class Run:
    """One `efld predict` invocation: every file processed in turn, problems reported per file."""

    def __init__(self, predictor: Predictor, box: np.ndarray | None, output: Output, draw_dir: Path | None,
                 smooth: bool, progress: bool):
        self.predictor = predictor
        self.boxes = None if box is None else [box]
        self.output = output
        self.draw_dir = draw_dir
        self.smooth = smooth
        self.progress = progress
        self.faces = self.images = self.frames = self.failed = 0
        self.drawn: set[Path] = set()

    def say(self, message: str) -> None:
        from tqdm import tqdm

        tqdm.write(message, file=sys.stderr)

    def _draw_path(self, path: Path, suffix: str) -> Path:
        """OUT/<stem>_efld<suffix>, numbered if two inputs share a name (inputs are never overwritten)."""
        assert self.draw_dir is not None
        dest, n = self.draw_dir / f"{path.stem}_efld{suffix}", 1
        while dest in self.drawn:
            n += 1
            dest = self.draw_dir / f"{path.stem}_efld{n}{suffix}"
        self.drawn.add(dest)
        return dest

    def _emit(self, source: Path, faces: list[Face], frame: int | None = None, time_s: float | None = None,
              tracks: list[int | None] | None = None) -> None:
        for k, face in enumerate(faces):
            self.output.add({"source": str(source), "frame": frame, "time_s": None if time_s is None else round(time_s, 4),
                             "face": k, "track": tracks[k] if tracks else None, **face.to_dict()})
        self.faces += len(faces)

    def image(self, path: Path) -> None:
        from .data.record import read_image
        from .draw import draw_faces
        from .media import write_image

        image = read_image(path)
        faces = self.predictor.predict(image, self.boxes)
        self.images += 1
        if not faces:
            self.say(f"{path}: no face found")
        self._emit(path, faces)
        if self.draw_dir is not None:
            write_image(self._draw_path(path, path.suffix if path.suffix.lower() in (".png", ".bmp") else ".jpg"),
                        draw_faces(image, faces))

    def video(self, path: Path) -> None:
        from tqdm import tqdm

        from .draw import draw_faces
        from .media import VideoReader, VideoWriter
        from .smoothing import FaceTracks

        reader = VideoReader(path)
        writer = VideoWriter(self._draw_path(path, ".mp4"), reader.fps, reader.size) if self.draw_dir else None
        tracks = FaceTracks()
        empty = n = 0
        try:
            for n, (i, t, frame) in enumerate(tqdm(reader, total=reader.frame_count, desc=path.name, unit="frame",
                                                   disable=not self.progress, leave=False), 1):
                faces = self.predictor.predict(frame, self.boxes)
                ids: list[int | None] = [None] * len(faces)
                if self.smooth and faces:
                    ids, faces = (list(v) for v in zip(*tracks.update(faces, t)))
                empty += not faces
                self._emit(path, faces, i, t, ids)
                if writer is not None:
                    writer.write(draw_faces(frame, faces))
        finally:
            reader.close()
            if writer is not None:
                writer.close()
        self.frames += n
        if empty:
            self.say(f"{path}: no face found in {empty} of {n} frames")

    def __call__(self, files: list[Path]) -> None:
        from tqdm import tqdm

        from .media import is_video

        for path in tqdm(files, desc="predict", unit="file", disable=not self.progress or len(files) < 2):
            try:
                if is_video(path):
                    self.video(path)
                else:
                    self.image(path)
            except DataError as e:  # unreadable input: say so, go on with the rest
                self.failed += 1
                self.say(f"skipped {e}")


def make_predictor(model: Path | None, backend: str | None, detector: str, box: np.ndarray | None,
                   threads: int) -> Predictor:
    """The landmark model (given, or the shipped one for a backend) and, unless a box is given, the detector."""
    from .detect import Detector
    from .predict import Predictor, default_model_path
    from .runtime import LandmarkModel

    if model is not None and backend is not None and model.suffix.lower().lstrip(".") not in SUFFIXES[backend]:
        raise click.UsageError(f"--model {model} is not a {backend} artifact")
    path = model or default_model_path(backend or "pt")
    if path.suffix.lower().lstrip(".") in SUFFIXES["pt"]:
        import torch

        torch.set_num_threads(threads)  # torch's default (all cores) is ~100x slower on a busy machine
    landmarks = LandmarkModel.from_artifact(path, threads)
    chosen: Detector | str = detector
    if box is None:  # built now: a missing detector stops the run before any input is read
        chosen = Detector(detector)
        for reason in chosen.skipped:
            click.echo(f"note: using the {chosen.name} detector: {reason}", err=True)
    return Predictor(landmarks, chosen)


@click.command("predict")
@click.argument("inputs", nargs=-1, required=True)
@click.option("--model", type=click.Path(dir_okay=False, path_type=Path),
              help="Model artifact (.pt, .onnx or .tflite; default: the shipped model).")
@click.option("--backend", type=click.Choice(["pt", "onnx", "tflite"]),
              help="Run the shipped model's artifact of this kind (default pt; tflite: the int8 export).")
@click.option("--detector", type=click.Choice(["auto", *DETECTOR_NAMES]), default="auto", show_default=True,
              help="Face detector; auto: the best installed one (benchmarks/results/detectors.json).")
@click.option("--box", callback=_parse_box, metavar="X,Y,W,H",
              help="Face box in pixels for every input: skips detection.")
@click.option("--out", type=click.Path(file_okay=False, path_type=Path),
              help="Folder for predictions.jsonl / predictions.csv and drawings (default: rows to stdout).")
@click.option("--json", "as_json", is_flag=True, help="JSON lines, one per face (the default format).")
@click.option("--csv", "as_csv", is_flag=True, help="CSV, one row per face.")
@click.option("--draw", is_flag=True, help="Write each input with box, points and pose axes drawn into --out.")
@click.option("--smooth/--no-smooth", default=True, show_default=True,
              help="One-Euro smoothing of points and pose along each face track in videos.")
@click.option("--threads", default=1, show_default=True, help="Threads for the model's runtime (torch, ONNX or TFLite).")
@click.option("--no-progress", is_flag=True, help="No progress bars.")
def predict_cmd(inputs: tuple[str, ...], model: Path | None, backend: str | None, detector: str,
                box: np.ndarray | None, out: Path | None, as_json: bool, as_csv: bool, draw: bool, smooth: bool,
                threads: int, no_progress: bool) -> None:
    """Faces in INPUT... (images, folders, globs, video files): per face its box, 68 points (image pixels),
    pose (yaw, pitch, roll in degrees), geometric features and a confidence.

    Inputs that cannot be read or hold no face are reported one line each and the rest processed;
    the exit status is non-zero only when no face at all could be found.
    """
    from .media import expand_inputs

    if draw and out is None:
        raise click.UsageError("--draw writes pictures: give --out DIR")
    if as_json and as_csv and out is None:
        raise click.UsageError("stdout takes one format: choose --json or --csv, or give --out DIR for both")
    files, problems = expand_inputs(list(inputs))
    for p in problems:
        click.echo(f"skipped {p}", err=True)
    predictor = make_predictor(model, backend, detector, box, threads)
    output = Output(out, as_json, as_csv)
    run = Run(predictor, box, output, out if draw else None, smooth, not no_progress)
    run(files)
    written = output.finish()
    skipped = run.failed + len(problems)
    click.echo(f"{run.faces} face(s) in {run.images} image(s) and {run.frames} video frame(s)"
               + (f"; {skipped} input(s) skipped" if skipped else "")
               + "".join(f"\nwrote {p}" for p in written)
               + (f"\ndrawings in {out}" if draw and run.drawn else ""), err=True)
    if run.faces == 0:
        raise EFLDError("no face found in any input" if run.images or run.frames else "no input could be read")
