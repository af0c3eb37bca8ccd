"""Inputs and drawn outputs of `efld predict`: images, folders, globs and video files.

Every input that gives nothing to process yields one message naming it, so that one bad
file never stops the others.
"""
from __future__ import annotations

import glob
from collections.abc import Iterator
from pathlib import Path

import cv2
import numpy as np

from .data.readers import IMAGE_SUFFIXES
from .errors import DataError, EFLDError

VIDEO_SUFFIXES = (".mp4", ".avi", ".mov", ".mkv", ".webm", ".m4v", ".mpg", ".mpeg")
#: Frame rate assumed when a video does not state one.
DEFAULT_FPS = 30.0


def is_video(path: Path) -> bool:
    return path.suffix.lower() in VIDEO_SUFFIXES


def expand_inputs(specs: list[str]) -> tuple[list[Path], list[str]]:
    """The files to process (folders and globs expanded, sorted, each once) and a message per input giving none."""
    files: list[Path] = []
    problems: list[str] = []
    media = IMAGE_SUFFIXES + VIDEO_SUFFIXES
    for spec in specs:
        path = Path(spec)
        if path.is_dir():
            found = sorted(p for p in path.iterdir() if p.is_file() and p.suffix.lower() in media)
            if not found:
                problems.append(f"{spec}: folder has no image or video files ({' '.join(media)})")
        elif path.is_file():
            found = [path]
        elif any(c in spec for c in "*?["):
            found = sorted(Path(p) for p in glob.glob(spec, recursive=True) if Path(p).is_file())
            if not found:
                problems.append(f"{spec}: no file matches this pattern")
        else:
            found = []
            problems.append(f"{spec}: no such file or folder")
        files += found
    return list(dict.fromkeys(files)), problems


class VideoReader:
    """Frames of a video file as RGB arrays, with their times; DataError at once if it cannot be decoded."""

    def __init__(self, path: Path):
        self.path = path
        self.capture = cv2.VideoCapture(str(path))
        ok, frame = self.capture.read() if self.capture.isOpened() else (False, None)
        if not ok:
            self.capture.release()
            raise DataError("cannot decode video (corrupt, empty or an unsupported codec)", path=str(path))
        self.first = frame
        fps = self.capture.get(cv2.CAP_PROP_FPS)
        self.fps = fps if fps and np.isfinite(fps) and fps > 0 else DEFAULT_FPS
        self.frame_count = max(int(self.capture.get(cv2.CAP_PROP_FRAME_COUNT)), 1)
        self.size = (frame.shape[1], frame.shape[0])

    def __iter__(self) -> Iterator[tuple[int, float, np.ndarray]]:
        """(frame index, time in seconds, RGB frame) until the stream ends."""
        frame, i = self.first, 0
        while frame is not None:
            yield i, i / self.fps, cv2.cvtColor(frame, cv2.COLOR_BGR2RGB)
            ok, frame = self.capture.read()
            frame, i = (frame if ok else None), i + 1

    def close(self) -> None:
        self.capture.release()


class VideoWriter:
    """A video written from RGB frames (MPEG-4 mp4v by default: plays nearly everywhere)."""

    def __init__(self, path: Path, fps: float, size: tuple[int, int], fourcc: str = "mp4v"):
        path.parent.mkdir(parents=True, exist_ok=True)
        self.writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*fourcc), fps, size)
        if not self.writer.isOpened():
            raise EFLDError(f"{path}: cannot write video ({fourcc} encoder unavailable)")

    def write(self, frame_rgb: np.ndarray) -> None:
        self.writer.write(cv2.cvtColor(frame_rgb, cv2.COLOR_RGB2BGR))

    def close(self) -> None:
        self.writer.release()


def write_image(path: Path, image_rgb: np.ndarray) -> None:
    """Write an RGB image (format by suffix); EFLDError if it cannot be written."""
    path.parent.mkdir(parents=True, exist_ok=True)
    if not cv2.imwrite(str(path), cv2.cvtColor(image_rgb, cv2.COLOR_RGB2BGR)):
        raise EFLDError(f"{path}: cannot write image")
