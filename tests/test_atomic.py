import json
import os
import subprocess
import sys

import pytest

from reactdiff.atomic import (
    OUTPUT_MARKER,
    OutputFolderError,
    _prefix,
    atomic_dir,
    atomic_path,
    remove_stale_temps,
    write_json,
    write_text,
)


def test_failed_dir_write_keeps_old_contents(tmp_path):
    out = tmp_path / "out"
    with atomic_dir(out, owner="test") as tmp:
        (tmp / "a.txt").write_text("old")
    with pytest.raises(RuntimeError), atomic_dir(out, owner="test") as tmp:
        (tmp / "a.txt").write_text("half")
        raise RuntimeError("killed")
    assert (out / "a.txt").read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["out"]  # no temp left behind
    assert (out / OUTPUT_MARKER).read_text() == "test\n"


def test_failed_file_write_keeps_old_file(tmp_path):
    path = tmp_path / "x.json"
    write_json(path, {"a": 1})
    with pytest.raises(RuntimeError), atomic_path(path) as tmp:
        tmp.write_text("half")
        raise RuntimeError("killed")
    assert json.loads(path.read_text()) == {"a": 1}
    write_text(path, "new")
    assert path.read_text() == "new"
    assert len(list(tmp_path.iterdir())) == 1


def test_outputs_get_the_usual_permissions(tmp_path):
    import os
    import stat

    write_text(tmp_path / "f.txt", "x")
    with atomic_dir(tmp_path / "d", owner="test") as tmp:
        (tmp / "a").write_text("y")
    mask = os.umask(0)
    os.umask(mask)
    assert stat.S_IMODE((tmp_path / "f.txt").stat().st_mode) == 0o666 & ~mask
    assert stat.S_IMODE((tmp_path / "d").stat().st_mode) == 0o777 & ~mask


def test_a_users_folder_is_refused_and_kept(tmp_path):
    """Replacing a folder whole is only for the command's own earlier output."""
    users = tmp_path / "reports"
    users.mkdir()
    (users / "eval.md").write_text("mine")
    refused = pytest.raises(OutputFolderError, match="not an earlier output of 'reactdiff valid")
    with refused, atomic_dir(users, owner="reactdiff validate") as tmp:
        (tmp / "x").write_text("new")
    assert (users / "eval.md").read_text() == "mine"
    assert [p.name for p in tmp_path.iterdir()] == ["reports"]


def test_another_commands_output_is_refused(tmp_path):
    out = tmp_path / "out"
    with atomic_dir(out, owner="reactdiff synth") as tmp:
        (tmp / "a").write_text("drop")
    refused = pytest.raises(OutputFolderError, match="is an output of 'reactdiff synth'")
    with refused, atomic_dir(out, owner="reactdiff validate"):
        pass
    with atomic_dir(out, owner="reactdiff synth") as tmp:  # its own: replaced
        (tmp / "b").write_text("drop 2")
    assert sorted(p.name for p in out.iterdir()) == [OUTPUT_MARKER, "b"]


def test_an_empty_folder_or_a_file_in_the_way(tmp_path):
    (tmp_path / "empty").mkdir()
    with atomic_dir(tmp_path / "empty", owner="t") as tmp:
        (tmp / "a").write_text("x")
    (tmp_path / "file").write_text("mine")
    with (
        pytest.raises(OutputFolderError, match="not a folder"),
        atomic_dir(tmp_path / "file", owner="t"),
    ):
        pass
    assert (tmp_path / "file").read_text() == "mine"


def _dead_pid() -> int:
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


def test_temps_of_killed_writers_are_removed_on_the_next_write(tmp_path):
    """A kill leaves ``.<name>.<pid>@<host>.*.tmp``; the next write of <name> removes it, but
    not a temp of a live writer or of another output."""
    path = tmp_path / "model.pt"
    live = tmp_path / f"{_prefix(path)}live.tmp"  # this process: alive
    dead = tmp_path / _prefix(path).replace(str(os.getpid()), str(_dead_pid()))
    dead_file, dead_dir = tmp_path / f"{dead.name}f1.tmp", tmp_path / f"{dead.name}d1.tmp"
    legacy = tmp_path / ".model.pt.ab12cd_x.tmp"  # an older version's name: no owner
    other = tmp_path / f".other.pt.{_dead_pid()}@host.zz.tmp"
    for p in (live, dead_file, legacy, other):
        p.write_text("half")
    dead_dir.mkdir()
    write_text(path, "whole")
    left = sorted(p.name for p in tmp_path.iterdir())
    assert left == sorted(["model.pt", live.name, other.name])
    assert remove_stale_temps(path) == []


def test_a_killed_dir_write_is_cleaned_by_the_next(tmp_path):
    out = tmp_path / "raw"
    code = (
        "import os, signal; from reactdiff.atomic import atomic_dir\n"
        f"with atomic_dir({str(out)!r}, owner='t') as tmp:\n"
        "    (tmp / 'half').write_text('x'); os.kill(os.getpid(), signal.SIGKILL)\n"
    )
    subprocess.run([sys.executable, "-c", code], check=False)
    assert [p.name.endswith(".tmp") for p in tmp_path.iterdir()] == [True]
    with atomic_dir(out, owner="t") as tmp:
        (tmp / "whole").write_text("y")
    assert [p.name for p in tmp_path.iterdir()] == ["raw"]
