"""EFLD: a tiny, fast 68-point facial landmark detector (PFLD-style, MobileNetV3) and its export toolchain."""
__version__ = "0.1.0"
