"""The dvc.yaml code-deps generator: it rewrites only the lists, and a folder stands for its
files only when the stage runs all of them."""

from __future__ import annotations

from pathlib import Path

import pytest

from reactdiff.errors import ConfigError
from tools.dvc_deps import dep_paths, render

TEXT = """\
# a comment kept as written
stages:
  data:
    cmd: reactdiff data --flag
    deps:
      - data/raw   # a data dep, above the code line
      # code: anything
      - reactdiff/old.py
      - reactdiff/gone
    params:
      - data
    outs:
      - data/out
  other:
    cmd: python other.py
    deps:
      - reactdiff/kept.py
plots:
  - loss:
      x: epoch
"""


def test_render_rewrites_only_the_code_list() -> None:
    got = render(TEXT, lambda entry: [f"reactdiff/{entry.stem}.py", "reactdiff/pkg"])
    want = TEXT.replace(
        """      # code: anything
      - reactdiff/old.py
      - reactdiff/gone
""",
        """      # code: the import closure of reactdiff/stages/data.py (make dvc-deps writes this list)
      - reactdiff/data.py
      - reactdiff/pkg
""",
    )
    assert got == want
    assert render(got, lambda entry: ["reactdiff/data.py", "reactdiff/pkg"]) == got


def test_a_reactdiff_stage_without_its_code_line_is_an_error() -> None:
    text = TEXT.replace("      # code: anything\n", "")
    with pytest.raises(ConfigError, match="data run reactdiff but have no '# code:' line"):
        render(text, lambda entry: [])


def test_a_folder_stands_for_its_files_only_when_all_are_run(tmp_path: Path) -> None:
    pkg = tmp_path / "reactdiff"
    for rel in ("__init__.py", "a/__init__.py", "a/x.py", "a/b/__init__.py", "a/b/y.py", "c/z.py"):
        (pkg / rel).parent.mkdir(parents=True, exist_ok=True)
        (pkg / rel).write_text("")
    (pkg / "c" / "w.py").write_text("")
    files = [pkg / "__init__.py", *(pkg / "a").rglob("*.py"), pkg / "c" / "z.py"]
    assert dep_paths(files, tmp_path) == [
        "reactdiff/__init__.py",
        "reactdiff/a",
        "reactdiff/c/z.py",
    ]
    files.remove(pkg / "a" / "x.py")
    assert dep_paths(files, tmp_path) == [
        "reactdiff/__init__.py",
        "reactdiff/a/__init__.py",
        "reactdiff/a/b",
        "reactdiff/c/z.py",
    ]
