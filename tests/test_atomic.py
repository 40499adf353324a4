import json

import pytest

from reactdiff.atomic import atomic_dir, atomic_path, write_json, write_text


def test_failed_dir_write_keeps_old_contents(tmp_path):
    out = tmp_path / "out"
    with atomic_dir(out) as tmp:
        (tmp / "a.txt").write_text("old")
    with pytest.raises(RuntimeError), atomic_dir(out) as tmp:
        (tmp / "a.txt").write_text("half")
        raise RuntimeError("killed")
    assert (out / "a.txt").read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["out"]  # no temp left behind


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
    with atomic_dir(tmp_path / "d") as tmp:
        (tmp / "a").write_text("y")
    mask = os.umask(0)
    os.umask(mask)
    assert stat.S_IMODE((tmp_path / "f.txt").stat().st_mode) == 0o666 & ~mask
    assert stat.S_IMODE((tmp_path / "d").stat().st_mode) == 0o777 & ~mask
