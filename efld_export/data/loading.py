"""Whole-dataset loading: validate every record, report every bad one, never drop silently."""
from __future__ import annotations

import sys
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


def parse_spec(spec: str | Path) -> tuple[Path, str | None]:
    """'folder:split' -> (folder, split); a plain path has no split."""
    s = str(spec)
    head, sep, tail = s.rpartition(":")
    if sep and tail in ("train", "test") and head:
        return Path(head), tail
    return Path(s), None


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
    items = iter_records(path, split=split)
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
