"""Fixtures of the service tests: a platform state folder."""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

import pytest

from ops import platform


@pytest.fixture
def state_dir() -> Path:
    """A short state folder (PostgreSQL's socket path is limited to 107 bytes) that the
    unprivileged PostgreSQL user can reach when the tests run as root: pytest's own tmp_path
    lies under a 0700 folder of root's."""
    try:
        platform.pg_bindir()
    except platform.PostgresMissing as exc:
        pytest.skip(str(exc))
    folder = Path(tempfile.mkdtemp(prefix="rd-platform-"))
    folder.chmod(0o711)
    yield folder
    shutil.rmtree(folder, ignore_errors=True)
