"""Which checks validate a drop of each format: a registry keyed by the format's name.

``data`` may not import ``validation``, so a format does not carry its checks; each format
with checks of its own has a module here named after it, and this registry maps the format's
name to that module's table builder and suites.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from reactdiff.config import ValidateParams
from reactdiff.data.formats import Format
from reactdiff.errors import ConfigError
from reactdiff.validation import react2024, react2025
from reactdiff.validation.suites import Suite
from reactdiff.validation.tables import DropTables


@dataclass(frozen=True)
class FormatChecks:
    """How a drop of one format becomes tables, and the suites that check them."""

    build_tables: Callable[..., DropTables]  # (layout, splits, progress=...) -> tables
    suites: Callable[[Format, ValidateParams, bool], list[Suite]]  # (format, params, video)


CHECKS: dict[str, FormatChecks] = {
    react2024.FMT.name: FormatChecks(react2024.build_tables, react2024.suites),
    react2025.FMT.name: FormatChecks(react2025.build_tables, react2025.suites),
}


def register_checks(fmt: Format, checks: FormatChecks) -> None:
    """Add the checks of a format added to :mod:`reactdiff.data.formats`."""
    CHECKS[fmt.name] = checks


def checks_of(fmt: Format) -> FormatChecks:
    try:
        return CHECKS[fmt.name]
    except KeyError:
        raise ConfigError(f"data.format {fmt.name!r}: no validation checks registered") from None
