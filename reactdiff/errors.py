"""The errors a user can act on, and how the command line answers each kind.

``ReactdiffError`` is the root of every error class of the project (the library, ``flows/``,
``ops/``): ``except ReactdiffError`` tells our errors from a library's, and
tests/test_errors.py fails on a class outside the tree.

``UserError``: the input is wrong (a params key, a data file, a metric input); the message names
it and the command exits 2. ``DataQualityError``: the data was read but breaks an expectation
(validation, the feature store suite); the command prints one line per failure and exits 1.
Anything else is a bug and keeps its traceback.
"""

from __future__ import annotations

from pathlib import Path


class ReactdiffError(Exception):
    """Root of the project's errors; a subclass may also derive from the builtin its callers
    catch (``ValueError``, ``RuntimeError``, ``ArithmeticError``)."""


class UserError(ReactdiffError):
    """Bad input the user can fix; ``str(err)`` says which input and what is wrong."""

    exit_code = 2


class ConfigError(UserError, ValueError):
    """params.yaml (or an option standing in for it) is missing, unreadable or has a bad value."""


class DataFileError(UserError, ValueError):
    """A data file is missing or malformed; the message names the file and the problem."""

    def __init__(self, path: Path | str, problem: str) -> None:
        self.path = Path(path)
        self.problem = problem
        super().__init__(f"{self.path}: {problem}")


class InputError(UserError, ValueError):
    """A named input of a computation (a metric's ``pred``, a model's stream) is wrong.

    ``name`` is the input's name, so a caller that read it from a file can name the file.
    """

    def __init__(self, name: str, problem: str) -> None:
        self.name = name
        self.problem = problem
        super().__init__(f"{name}: {problem}")


class OutputPathError(UserError):
    """An output path cannot be created (a file in the way, no permission, ...); ``path`` is
    the output asked for, so the command line can name the params key or option it came from."""

    def __init__(self, path: Path | str, problem: str) -> None:
        self.path = Path(path)
        self.problem = problem
        super().__init__(f"{self.path}: {problem}")

    def __reduce__(self):  # from a worker process to the stage, whole
        return type(self), (self.path, self.problem)


class DataQualityError(ReactdiffError):
    """The data broke expectations; ``failures`` are the lines to show (the message names the
    report with the details), ``warnings`` lines to show before them."""

    exit_code = 1

    def __init__(
        self,
        message: str,
        failures: list[str],
        warnings: list[str] | None = None,
    ) -> None:
        self.failures = failures
        self.warnings = warnings or []
        super().__init__(message)
