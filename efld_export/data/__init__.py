"""Dataset readers and loading."""
from .loading import data_root, load_records, parse_spec
from .readers import detect_layout, iter_records, read_pts
from .record import Record, read_image

__all__ = ["Record", "data_root", "detect_layout", "iter_records", "load_records", "parse_spec", "read_image",
           "read_pts"]
