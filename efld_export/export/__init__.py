"""Export: one entry (`export`), one module per format (onnx.py, tflite.py), as in Ultralytics."""
from .exporter import DEFAULT_WEIGHTS, ExportOptions, GateError, export

__all__ = ["DEFAULT_WEIGHTS", "ExportOptions", "GateError", "export"]
