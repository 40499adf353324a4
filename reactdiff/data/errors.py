"""The one error type for bad data files, so every caller can report the file and the problem."""

from __future__ import annotations

from pathlib import Path


class DataFileError(ValueError):
    """A data file is missing or malformed; the message names the file and the problem."""

    def __init__(self, path: Path | str, problem: str) -> None:
        self.path = Path(path)
        self.problem = problem
        super().__init__(f"{self.path}: {problem}")
