"""The one record type that every reader yields."""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import cv2
import numpy as np

from ..errors import DataError
from ..landmarks import NUM_POINTS

#: How far outside the image a point may lie, as a fraction of the image size,
#: before the record is called bad (turned faces legitimately project a little outside).
OUTSIDE_TOLERANCE = 0.5


@dataclass
class Record:
    """One labelled face.

    points: (68, 2) float pixels, NaN where unknown. pose: (yaw, pitch, roll) degrees or None.
    visibility: (68,) bool or None. box: (x, y, w, h) or None. extra: reader-specific data
    (e.g. the 21 human AFLW points) that later stages may use.
    """

    image_path: Path
    points: np.ndarray
    pose: np.ndarray | None = None
    visibility: np.ndarray | None = None
    box: np.ndarray | None = None
    source: str = ""
    line: int | None = None
    extra: dict = field(default_factory=dict)

    def load_image(self) -> np.ndarray:
        """The image as RGB uint8; DataError naming the file if it is missing or corrupt."""
        return read_image(self.image_path)

    def image(self) -> np.ndarray:
        """The image loaded with the record (data.load_records keeps it in extra["image"]), else read from disk."""
        return self.extra["image"] if "image" in self.extra else self.load_image()

    def validate(self, image_shape: tuple[int, ...] | None = None) -> None:
        """Raise DataError if the points are malformed or far outside the image."""
        where = dict(path=self.source or str(self.image_path), line=self.line)
        pts = np.asarray(self.points)
        if pts.shape != (NUM_POINTS, 2):
            raise DataError(f"expected {NUM_POINTS}x2 points, got shape {pts.shape}", **where)
        if np.isinf(pts).any():
            raise DataError("points contain infinite values", **where)
        if np.isnan(pts).all() and not self.extra:
            raise DataError("no known point", **where)
        if self.pose is not None and (np.asarray(self.pose).shape != (3,) or not np.isfinite(self.pose).all()):
            raise DataError(f"pose must be 3 finite angles, got {self.pose}", **where)
        if image_shape is not None:
            h, w = image_shape[:2]
            known = pts[~np.isnan(pts).any(1)]
            bad = far_outside(known, image_shape)
            if bad.any():
                raise DataError(
                    f"{int(bad.sum())} point(s) far outside the {w}x{h} image, e.g. {known[bad][0].round(1).tolist()}",
                    **where,
                )


def far_outside(points: np.ndarray, image_shape: tuple[int, ...]) -> np.ndarray:
    """(N,) True where a point (N, 2) lies beyond OUTSIDE_TOLERANCE of the image: the rule every reader applies,
    and the labeller's too, so that it never writes a face that reading it back would refuse."""
    h, w = image_shape[:2]
    size = np.array([w, h])
    return ((points < -OUTSIDE_TOLERANCE * size) | (points > (1 + OUTSIDE_TOLERANCE) * size)).any(1)


def read_image(path: Path | str) -> np.ndarray:
    """Read an image file as RGB uint8, with a clear error for missing or corrupt files."""
    path = Path(path)
    if not path.is_file():
        raise DataError("image file not found", path=str(path))
    data = np.fromfile(str(path), dtype=np.uint8)
    image = cv2.imdecode(data, cv2.IMREAD_COLOR) if data.size else None
    if image is not None and data[:2].tobytes() == b"\xff\xd8" and b"\xff\xd9" not in data[-1024:].tobytes():
        raise DataError("truncated JPEG (no end-of-image marker)", path=str(path))
    if image is None:
        raise DataError("cannot decode image (corrupt or not an image)", path=str(path))
    return cv2.cvtColor(image, cv2.COLOR_BGR2RGB)
