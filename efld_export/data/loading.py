"""Whole-dataset loading: validate every record, report every bad one, never drop silently."""
from __future__ import annotations

import re
import sys
import zlib
from pathlib import Path

from tqdm import tqdm

from ..errors import DataError
from .readers import iter_records
from .record import Record

#: Default location of the shared data (relative to the project root); override with EFLD_DATA.
DEFAULT_DATA_ROOT = Path("../shared/data")


def data_root() -> Path:
    """The shared data folder: $EFLD_DATA if set, else ../shared/data."""
    import os

    return Path(os.environ.get("EFLD_DATA", DEFAULT_DATA_ROOT))


#: 'folder:foldIofK': the records of fold I of K (0 <= I < K), by a stable hash of the image file name,
#: for cross-fitting (a model labels only faces it never trained on: benchmarks/kfold_*.yaml).
FOLD = re.compile(r"fold(\d+)of(\d+)")


def parse_spec(spec: str | Path) -> tuple[Path, str | None]:
    """'folder:split' -> (folder, split); split is train, test or foldIofK; a plain path has none."""
    s = str(spec)
    head, sep, tail = s.rpartition(":")
    if sep and head and (tail in ("train", "test") or FOLD.fullmatch(tail)):
        return Path(head), tail
    return Path(s), None


def fold_of(split: str | None) -> tuple[int, int] | None:
    """(I, K) of a 'foldIofK' split, checked; None for any other split."""
    m = FOLD.fullmatch(split) if split else None
    if m is None:
        return None
    i, k = map(int, m.groups())
    if not 0 <= i < k:
        raise DataError(f"fold {split}: need 0 <= I < K")
    return i, k


def in_fold(name: str, i: int, k: int) -> bool:
    """Whether the image file `name` belongs to fold I of K: a hash of its file name, the same on every machine."""
    return zlib.crc32(Path(name).name.encode()) % k == i


def load_records(spec: str | Path, split: str | None = None, skip_bad: bool = False,
                 check_images: bool = True, progress: bool = True) -> list[Record]:
    """Read and validate a whole dataset.

    Every bad record is reported; with skip_bad=False any bad record raises one DataError
    that lists them all, with skip_bad=True they are listed on stderr and left out.
    check_images decodes each image (catching missing and corrupt files) and stores it
    in record.extra['image'].
    """
    path, spec_split = parse_spec(spec)
    split = split or spec_split
    records: list[Record] = []
    errors: list[str] = []
    fold = fold_of(split)
    items = iter_records(path, split=None if fold else split)
    if fold:
        items = (it for it in items if isinstance(it, DataError) or in_fold(str(it.image_path), *fold))
    for item in tqdm(items, desc=f"reading {path.name}", unit="img", disable=not progress, leave=False):
        if isinstance(item, DataError):
            errors.append(str(item))
            continue
        try:
            shape = None
            if check_images:
                try:
                    image = item.load_image()
                except DataError as e:  # say which label line refers to the bad image
                    raise DataError(str(e), path=item.source, line=item.line) if item.line else e from None
                item.extra["image"] = image
                shape = image.shape
            item.validate(shape)
        except DataError as e:
            errors.append(str(e))
            continue
        records.append(item)
    if errors:
        listing = "\n  ".join(errors[:50]) + (f"\n  ... and {len(errors) - 50} more" if len(errors) > 50 else "")
        if not skip_bad:
            raise DataError(f"{len(errors)} bad record(s) in {path} (use --skip-bad to leave them out):\n  {listing}")
        print(f"warning: skipped {len(errors)} bad record(s) in {path}:\n  {listing}", file=sys.stderr)
    if not records:
        raise DataError("no usable record", path=str(path))
    return records
