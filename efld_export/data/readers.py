"""Readers for every supported dataset layout; each yields `Record`s.

Layouts: the CSV layout of ../shared/data (images/ + landmarks.csv [+ pose.csv]),
youtube-faces-68 (train.csv/test.csv), aflw-21pt-crops (landmarks21.csv), iBUG/300-W
folders (image + .pts), WFLW annotation text (98 points) and AFLW2000-3D folders (.mat).
A bad file raises DataError naming it; a bad record inside a good file is yielded as a
DataError (naming file and line) so that a whole-dataset load can report every one.
"""
from __future__ import annotations

import csv
from pathlib import Path
from typing import Callable, Iterator, TypeVar

import numpy as np

from ..errors import DataError
from ..landmarks import NUM_POINTS, WFLW98_TO_68
from .record import Record

IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".bmp")


T = TypeVar("T")
Item = Record | DataError


def _guarded(items: Iterator[T], parse: Callable[[T], Record]) -> Iterator[Item]:
    """Parse each item, yielding the DataError of a bad one instead of stopping."""
    for item in items:
        try:
            yield parse(item)
        except DataError as e:
            yield e


def _floats(values: list[str], path: Path, line: int) -> np.ndarray:
    try:
        out = np.array([float(v) for v in values], dtype=np.float64)
    except ValueError as e:
        raise DataError(f"non-numeric value ({e})", path=str(path), line=line) from None
    if not np.isfinite(out).all():
        raise DataError("non-finite value", path=str(path), line=line)
    return out


def _csv_rows(path: Path) -> Iterator[tuple[int, list[str]]]:
    """Rows of a CSV file after its header, with 1-based line numbers."""
    if not path.is_file():
        raise DataError("file not found", path=str(path))
    try:
        with open(path, newline="", encoding="utf-8") as f:
            rows = list(csv.reader(f))
    except (UnicodeDecodeError, csv.Error) as e:
        raise DataError(f"not a readable CSV file ({e})", path=str(path)) from None
    if not rows or not rows[0] or rows[0][0].strip() != "image":
        raise DataError("missing header row starting with 'image'", path=str(path), line=1)
    for i, row in enumerate(rows[1:], start=2):
        if row:
            yield i, row


def _resolve(image_dir: Path, name: str) -> Path:
    p = Path(name)
    return p if p.is_absolute() else image_dir / p


def read_pose_csv(path: Path) -> dict[str, np.ndarray]:
    """`image,pitch_deg,yaw_deg,roll_deg` -> {image: (yaw, pitch, roll)}."""
    out: dict[str, np.ndarray] = {}
    for line, row in _csv_rows(path):
        if len(row) != 4:
            raise DataError(f"expected 4 columns, got {len(row)}", path=str(path), line=line)
        pitch, yaw, roll = _floats(row[1:], path, line)
        out[row[0]] = np.array([yaw, pitch, roll])
    return out


def read_landmarks_csv(csv_path: Path, image_dir: Path, poses: dict[str, np.ndarray] | None = None,
                       source: str = "") -> Iterator[Item]:
    """`image,x0,y0,...,x67,y67` rows (NaN allowed for unknown points)."""
    def parse(item: tuple[int, list[str]]) -> Record:
        line, row = item
        if len(row) != 1 + 2 * NUM_POINTS:
            raise DataError(f"expected {NUM_POINTS} points ({1 + 2 * NUM_POINTS} columns), got {len(row)} columns",
                            path=str(csv_path), line=line)
        try:
            pts = np.array([float(v) for v in row[1:]], dtype=np.float64).reshape(NUM_POINTS, 2)
        except ValueError as e:
            raise DataError(f"non-numeric value ({e})", path=str(csv_path), line=line) from None
        pose = poses.get(row[0]) if poses is not None else None
        return Record(_resolve(image_dir, row[0]), pts, pose=pose, source=source or str(csv_path), line=line)

    return _guarded(_csv_rows(csv_path), parse)


def read_aflw21_csv(csv_path: Path, image_dir: Path) -> Iterator[Item]:
    """`image,yaw_deg,x0,y0,...,x20,y20` (-1,-1 = not visible): 68 points unknown, the 21 in extra."""
    def parse(item: tuple[int, list[str]]) -> Record:
        line, row = item
        if len(row) != 2 + 42:
            raise DataError(f"expected 21 points (44 columns), got {len(row)} columns", path=str(csv_path), line=line)
        vals = _floats(row[1:], csv_path, line)
        pts21 = vals[1:].reshape(21, 2)
        visible = ~(pts21 == -1).all(1)
        pts21[~visible] = np.nan
        return Record(_resolve(image_dir, row[0]), np.full((NUM_POINTS, 2), np.nan), source=str(csv_path),
                      line=line, extra={"points21": pts21, "yaw_deg": float(vals[0])})

    return _guarded(_csv_rows(csv_path), parse)


def read_pts(path: Path) -> np.ndarray:
    """An iBUG .pts file as (N, 2) floats."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as e:
        raise DataError(f"cannot read ({e})", path=str(path)) from None
    lines = [ln.strip() for ln in text.splitlines()]
    try:
        start, end = lines.index("{"), lines.index("}")
    except ValueError:
        raise DataError("missing '{' or '}' block", path=str(path)) from None
    header = {ln.split(":")[0].strip(): ln.split(":", 1)[1].strip() for ln in lines[:start] if ":" in ln}
    rows = [ln for ln in lines[start + 1:end] if ln]
    pts = []
    for i, ln in enumerate(rows, start=start + 2):
        parts = ln.split()
        if len(parts) != 2:
            raise DataError(f"expected 'x y', got {ln!r}", path=str(path), line=i)
        pts.append(_floats(parts, path, i))
    if "n_points" in header and header["n_points"] != str(len(pts)):
        raise DataError(f"header says n_points {header['n_points']} but {len(pts)} points follow", path=str(path))
    return np.array(pts, dtype=np.float64).reshape(-1, 2)


def _image_files(folder: Path) -> list[Path]:
    return sorted(p for p in folder.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES)


def read_ibug_folder(folder: Path) -> Iterator[Item]:
    """iBUG/300-W: every image with a same-stem .pts file (an image without one is an error)."""
    def parse(img: Path) -> Record:
        pts_path = img.with_suffix(".pts")
        if not pts_path.is_file():
            raise DataError("image has no same-stem .pts file", path=str(img))
        pts = read_pts(pts_path)
        if len(pts) != NUM_POINTS:
            raise DataError(f"expected {NUM_POINTS} points, got {len(pts)}", path=str(pts_path))
        return Record(img, pts, source=str(pts_path))

    return _guarded(iter(_image_files(folder)), parse)


def read_wflw(annotation: Path, image_root: Path) -> Iterator[Item]:
    """WFLW annotation text: 196 coords, box (4), 6 attributes, image path; mapped to 68 points."""
    try:
        text = Path(annotation).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as e:
        raise DataError(f"cannot read ({e})", path=str(annotation)) from None
    def parse(item: tuple[int, list[str]]) -> Record:
        line, parts = item
        if len(parts) != 196 + 4 + 6 + 1:
            raise DataError(f"expected 207 fields (98 points, box, 6 attributes, image), got {len(parts)}",
                            path=str(annotation), line=line)
        vals = _floats(parts[:206], annotation, line)
        pts98 = vals[:196].reshape(98, 2)
        x0, y0, x1, y1 = vals[196:200]
        occluded = vals[200 + 4] > 0  # attribute order: pose, expression, illumination, make-up, occlusion, blur
        return Record(image_root / parts[206], pts98[WFLW98_TO_68], box=np.array([x0, y0, x1 - x0, y1 - y0]),
                      source=str(annotation), line=line, extra={"occluded": bool(occluded)})

    lines = ((i, ln.split()) for i, ln in enumerate(text.splitlines(), start=1) if ln.split())
    return _guarded(lines, parse)


def read_aflw2000_folder(folder: Path) -> Iterator[Item]:
    """AFLW2000-3D: image + same-stem .mat with pt3d_68 (3x68) and Pose_Para (pitch, yaw, roll in radians)."""
    from scipy.io import loadmat

    def parse(img: Path) -> Record:
        mat_path = img.with_suffix(".mat")
        if not mat_path.is_file():
            raise DataError("image has no same-stem .mat file", path=str(img))
        try:
            mat = loadmat(str(mat_path))
        except Exception as e:  # scipy raises many types for corrupt files
            raise DataError(f"cannot read .mat ({type(e).__name__}: {e})", path=str(mat_path)) from None
        if "pt3d_68" not in mat or "Pose_Para" not in mat:
            raise DataError("missing pt3d_68 or Pose_Para", path=str(mat_path))
        pts = np.asarray(mat["pt3d_68"], dtype=np.float64)
        if pts.shape[-1] != NUM_POINTS or pts.ndim != 2 or pts.shape[0] < 2:
            raise DataError(f"pt3d_68 must be 3x68, got {pts.shape}", path=str(mat_path))
        para = np.asarray(mat["Pose_Para"], dtype=np.float64).ravel()
        if para.size < 3 or not np.isfinite(para[:3]).all():
            raise DataError("Pose_Para must hold pitch, yaw, roll", path=str(mat_path))
        pitch, yaw, roll = np.degrees(para[:3])
        return Record(img, pts[:2].T.copy(), pose=np.array([yaw, pitch, roll]), source=str(mat_path))

    return _guarded(iter(_image_files(folder)), parse)


def detect_layout(path: Path) -> str:
    """Name the layout of a dataset path, or raise DataError saying what was expected."""
    path = Path(path)
    if path.is_file() and path.suffix == ".txt":
        return "wflw"
    if not path.is_dir():
        raise DataError("dataset path not found (expected a folder or a WFLW .txt file)", path=str(path))
    if (path / "landmarks.csv").is_file():
        return "csv"
    if (path / "landmarks21.csv").is_file():
        return "aflw21"
    if (path / "train.csv").is_file() or (path / "test.csv").is_file():
        return "splits"
    if any(path.glob("*.pts")):
        return "ibug"
    if any(path.glob("*.mat")):
        return "aflw2000"
    raise DataError("unknown dataset layout: expected landmarks.csv, landmarks21.csv, train.csv/test.csv, "
                    "*.pts or *.mat files", path=str(path))


def iter_records(path: Path | str, split: str | None = None, image_root: Path | None = None) -> Iterator[Item]:
    """Records (or per-record DataErrors) of any dataset; `split` picks train/test in the splits layout."""
    path = Path(path)
    layout = detect_layout(path)
    if layout == "csv":
        pose_csv = path / "pose.csv"
        poses = read_pose_csv(pose_csv) if pose_csv.is_file() else None
        yield from read_landmarks_csv(path / "landmarks.csv", path / "images", poses)
    elif layout == "aflw21":
        yield from read_aflw21_csv(path / "landmarks21.csv", path / "images")
    elif layout == "splits":
        splits = [split] if split else ["train", "test"]
        for s in splits:
            if not (path / f"{s}.csv").is_file():
                raise DataError(f"split '{s}' not found ({s}.csv)", path=str(path))
            yield from read_landmarks_csv(path / f"{s}.csv", path / s)
    elif layout == "ibug":
        yield from read_ibug_folder(path)
    elif layout == "aflw2000":
        yield from read_aflw2000_folder(path)
    else:
        yield from read_wflw(path, image_root or path.parent / "WFLW_images")
