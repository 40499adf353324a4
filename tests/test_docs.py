"""The README stays a first page (short, with the pipeline's picture, links that resolve), and
every command's help speaks to a user: what it does, an example, where its output goes.

The docs site itself is checked by `mkdocs build --strict` in `make test` (broken links,
missing pages and anchors fail it)."""

from __future__ import annotations

import re
from pathlib import Path

import click
import pytest
import typer.main

from reactdiff.cli import app

REPO = Path(__file__).resolve().parent.parent
README = REPO / "README.md"
MAX_README_LINES = 250
LINK = re.compile(r"\]\(([^)\s]+)\)")


def test_readme_is_short_and_draws_the_pipeline():
    text = README.read_text()
    assert len(text.splitlines()) <= MAX_README_LINES
    assert "```mermaid\n" in text


def test_readme_links_resolve():
    """Relative links of the README (docs pages, the committed figure) name existing files."""
    targets = [t for t in LINK.findall(README.read_text()) if "://" not in t]
    assert targets
    missing = [t for t in targets if not (REPO / t.split("#")[0]).exists()]
    assert missing == []


def _commands() -> dict[str, click.Command]:
    group = typer.main.get_command(app)
    return dict(group.commands)


def test_top_level_help_lists_the_stages_for_a_user():
    group = typer.main.get_command(app)
    text = group.get_help(click.Context(group, info_name="reactdiff"))
    assert "Example" in text
    assert "reactdiff.stages" not in text and "stage_run" not in text


@pytest.mark.parametrize("name", sorted(_commands()))
def test_command_help_has_an_example_and_its_output(name):
    command = _commands()[name]
    text = command.get_help(click.Context(command, info_name=f"reactdiff {name}"))
    assert f"reactdiff {name}" in text.split("Example", 1)[-1], "an example of the command"
    assert re.search(r"\b(writes|prints|output|serves|answers)\b", text, re.IGNORECASE), (
        "where its output goes"
    )
