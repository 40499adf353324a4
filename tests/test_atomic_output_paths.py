"""An output that cannot be created is an OutputPathError naming it and what is in the way,
never an OSError traceback: a file where a folder should be, a name too long, no permission."""

from __future__ import annotations

import os
import pickle

import pytest

from reactdiff.atomic import atomic_dir, atomic_path, make_dir, write_json
from reactdiff.errors import OutputPathError, UserError


@pytest.fixture
def afile(tmp_path):
    path = tmp_path / "afile"
    path.write_text("the user's")
    return path


def test_a_file_in_the_way_is_named(afile):
    for write in (
        lambda: write_json(afile / "report" / "summary.json", {}),
        lambda: atomic_dir(afile / "report", "reactdiff test").__enter__(),
        lambda: make_dir(afile / "videos"),
        lambda: make_dir(afile),
    ):
        with pytest.raises(OutputPathError) as caught:
            write()
        assert f"cannot be created: {afile} is a file, not a folder" in str(caught.value)
    assert afile.read_text() == "the user's" and issubclass(OutputPathError, UserError)
    assert caught.value.path == afile


def test_a_name_too_long_is_named(tmp_path):
    too_long = tmp_path / ("x" * 300) / "out.npy"
    with pytest.raises(OutputPathError, match="cannot be created: File name too long"):
        atomic_path(too_long).__enter__()


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes in a read-only folder")
def test_a_folder_without_write_permission_is_named(tmp_path):
    locked = tmp_path / "locked"
    locked.mkdir(mode=0o555)
    with pytest.raises(OutputPathError, match=f"no permission to write in {locked}$"):
        write_json(locked / "sub" / "summary.json", {})


def test_it_crosses_a_process_boundary_whole():
    err = pickle.loads(pickle.dumps(OutputPathError("a/b", "cannot be created: a is a file")))
    assert (err.path, err.problem, str(err)) == (
        err.path,
        "cannot be created: a is a file",
        "a/b: cannot be created: a is a file",
    )
