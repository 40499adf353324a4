"""Write the code deps of dvc.yaml's stages from each stage module's import closure.

    python -m tools.dvc_deps          # rewrite dvc.yaml in place (`make dvc-deps`)
    python -m tools.dvc_deps --check  # exit 1 if dvc.yaml is stale

A stage whose cmd is ``reactdiff <name>`` runs ``reactdiff/stages/<name>.py``; every package
file that module can execute (:func:`tools.import_graph.closure`) is a dependency, so editing
code a stage runs re-runs it and editing other code does not. A folder whose every ``.py`` file
is in the closure is listed as the folder. The list is the block of ``- reactdiff/...`` items
under the stage's ``# code:`` comment; everything else in dvc.yaml (data deps above that
comment, params, outs, comments, order) is left as written, byte for byte.
"""

from __future__ import annotations

import argparse
import re
import sys
from collections.abc import Callable, Iterable
from pathlib import Path

from reactdiff.atomic import write_text
from reactdiff.dvc_pipeline import parse_stages
from reactdiff.errors import ConfigError
from tools.import_graph import PACKAGE, REPO, closure

DVC_YAML = REPO / "dvc.yaml"
COMMAND = "make dvc-deps"
_STAGE = re.compile(r"^  ([A-Za-z0-9_-]+):\s*$")
_MARKER = re.compile(r"^(\s+)# code: ")
_ITEM = re.compile(r"^\s+- " + PACKAGE + r"(/\S*)?\s*$")


def stage_module(cmd: str, repo: Path = REPO) -> Path | None:
    """``reactdiff train-mmt ...`` -> reactdiff/stages/train_mmt.py; None for other commands."""
    words = str(cmd).split()
    if len(words) < 2 or words[0] != PACKAGE:
        return None
    return repo / PACKAGE / "stages" / f"{words[1].replace('-', '_')}.py"


def _python_files(folder: Path) -> set[Path]:
    return {p.resolve() for p in folder.rglob("*.py") if "__pycache__" not in p.parts}


def dep_paths(files: Iterable[Path], repo: Path = REPO) -> list[str]:
    """Repo-relative paths covering ``files``, sorted: a folder (below the package root) stands
    for its files when every ``.py`` file under it is among them."""
    files = {Path(f).resolve() for f in files}
    root = (repo / PACKAGE).resolve()
    out: set[str] = set()
    for f in files:
        top = f
        for folder in f.parents:
            if folder == root or root not in folder.parents:
                break
            if _python_files(folder) <= files:
                top = folder
        out.add(top.relative_to(repo.resolve()).as_posix())
    return sorted(out)


def code_deps(entry: Path, repo: Path = REPO) -> list[str]:
    """The deps list of the stage whose module is ``entry``."""
    return dep_paths(closure(entry), repo)


def render(text: str, deps_of: Callable[[Path], list[str]] = code_deps) -> str:
    """dvc.yaml ``text`` with each ``reactdiff`` stage's code block rewritten by ``deps_of``.

    Raises ConfigError for a ``reactdiff`` stage without a ``# code:`` line in its deps, or
    such a line outside one: where the list goes is for a person to say.
    """
    entries = {name: stage_module(spec.get("cmd", "")) for name, spec in parse_stages(text).items()}
    lines = text.splitlines(keepends=True)
    out: list[str] = []
    stage: str | None = None
    seen: set[str] = set()
    i = 0
    while i < len(lines):
        line = lines[i]
        if line.strip() and not line.startswith((" ", "#")):
            stage = None  # a top-level key: outside `stages:`
        elif m := _STAGE.match(line):
            stage = m.group(1)
        marker = _MARKER.match(line)
        if marker is None:
            out.append(line)
            i += 1
            continue
        entry = entries.get(stage) if stage else None
        if entry is None:
            raise ConfigError(f"dvc.yaml line {i + 1}: a '# code:' line outside a reactdiff stage")
        indent = marker.group(1)
        rel = entry.relative_to(REPO).as_posix()
        out.append(f"{indent}# code: the import closure of {rel} ({COMMAND} writes this list)\n")
        out += [f"{indent}- {dep}\n" for dep in deps_of(entry)]
        seen.add(stage)
        i += 1
        while i < len(lines) and _ITEM.match(lines[i]):
            i += 1
    missing = sorted(name for name, entry in entries.items() if entry and name not in seen)
    if missing:
        raise ConfigError(
            f"dvc.yaml: stage(s) {', '.join(missing)} run reactdiff but have no '# code:' line "
            "in their deps: add one (the list goes below it)"
        )
    return "".join(out)


def main(argv: list[str] | None = None) -> int:
    """Rewrite dvc.yaml, or with ``--check`` only say whether it is stale (exit 1)."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--check", action="store_true", help="exit 1 if dvc.yaml is stale")
    args = ap.parse_args(argv)
    text = DVC_YAML.read_text()
    new = render(text)
    if args.check:
        if new != text:
            print(f"dvc.yaml's code deps are stale: run `{COMMAND}`", file=sys.stderr)
            return 1
        return 0
    if new != text:
        write_text(DVC_YAML, new)
        print("dvc.yaml: code deps rewritten")
    return 0


if __name__ == "__main__":
    sys.exit(main())
