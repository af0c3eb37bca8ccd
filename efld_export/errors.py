"""The project's own error types: user errors are reported without a traceback."""
from __future__ import annotations


class EFLDError(Exception):
    """Base class for errors caused by input the user gave (files, flags, data)."""


class ConfigError(EFLDError, ValueError):
    """A config value outside its allowed choices; raised when the config is read, before any work."""


class DataError(EFLDError):
    """A bad dataset file or record; the message names the file (and line)."""

    def __init__(self, message: str, path: str | None = None, line: int | None = None):
        where = ""
        if path is not None:
            where = f"{path}:{line}: " if line is not None else f"{path}: "
        super().__init__(where + message)
        self.path = path
        self.line = line
