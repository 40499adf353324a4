"""The split stage reads a drop's split CSVs: a row outside the clip-path grammar is refused
before the stage's output folder is touched, and a BOM/CRLF CSV is copied like a plain one."""

import pytest

from reactdiff.data.formats.react2024 import ReactLayout
from reactdiff.data.splits import read_split_csv
from reactdiff.errors import DataFileError
from reactdiff.stages.split import write_splits


def _files(root):
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in root.rglob("*") if p.is_file()}


@pytest.mark.parametrize("rel", ["/etc/passwd", "NoXI/../Expert_video/1"])
def test_bad_row_is_named_and_the_old_output_kept(tiny_drop_novideo, tmp_path, rel):
    out = tmp_path / "splits"
    write_splits(ReactLayout(tiny_drop_novideo), out)
    before = _files(out)
    csv_path = ReactLayout(tiny_drop_novideo).split_csv("test")
    lines = csv_path.read_text().splitlines()
    lines[2] = lines[2].rsplit(",", 1)[0] + f",{rel}"  # the second row's listener
    csv_path.write_text("\n".join(lines) + "\n")
    with pytest.raises(DataFileError) as err:
        write_splits(ReactLayout(tiny_drop_novideo), out)
    assert str(err.value).startswith(f"{csv_path}: line 3: listener_path {rel!r}")
    assert _files(out) == before


def test_bom_and_crlf_split_csvs_are_read_like_plain_ones(tiny_drop_novideo, tmp_path):
    layout = ReactLayout(tiny_drop_novideo)
    write_splits(ReactLayout(tiny_drop_novideo), tmp_path / "plain")
    for split in ("train", "val", "test"):
        path = layout.split_csv(split)
        text = path.read_bytes().replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")
        path.write_bytes(b"\xef\xbb\xbf" + text)
        assert read_split_csv(path) == read_split_csv(tmp_path / "plain" / f"{split}.csv")
    write_splits(ReactLayout(tiny_drop_novideo), tmp_path / "bom")
    assert _files(tmp_path / "bom") == _files(tmp_path / "plain")
