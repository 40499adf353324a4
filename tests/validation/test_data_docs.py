"""The Data Docs read offline: nothing loaded from the network, our stylesheet linked, every
table (the index's list of validation results included) static HTML; a page that is not so is
an error naming it."""

from __future__ import annotations

import re
import shutil
from collections.abc import Callable
from html.parser import HTMLParser
from pathlib import Path

import pandas as pd
import pytest

from reactdiff.data.formats import get_format
from reactdiff.data.formats.react2024 import ReactLayout
from reactdiff.validation.data_docs import (
    STYLESHEET,
    TEMPLATES,
    DataDocsError,
    check_offline_docs,
    static_rows,
)
from reactdiff.validation.engine import DOCS_SITE, build_docs, gx_context, run_expectations
from reactdiff.validation.run import validate_drop
from tests.helpers.params import repo_params
from tests.validation.test_engine import _expectations, _table

P = repo_params()
URL_ATTRIBUTES = {"src", "href", "srcset", "poster", "data", "action", "formaction", "background"}
NETWORK = re.compile(r"(?i)https?://|^\s*//")


class Page(HTMLParser):
    """A page as the test reads it, independently of the module's own check: every tag with
    its attributes, the CSS in it, and each table's rows (text, links, number of cells)."""

    def __init__(self, path: Path) -> None:
        super().__init__(convert_charrefs=True)
        self.path = path
        self.tags: list[tuple[str, dict[str, str]]] = []
        self.css: list[str] = []
        self.tables: list[list[dict]] = []
        self._open: list[list[dict]] = []  # the tables being read (nested ones last)
        self._in_style = False
        self.feed(path.read_text(encoding="utf-8"))
        self.close()

    def handle_starttag(self, tag, attrs):
        attrs = {k: v or "" for k, v in attrs}
        self.tags.append((tag, attrs))
        self._in_style = tag == "style"
        if "style" in attrs:
            self.css.append(attrs["style"])
        if tag == "table":
            self._open.append([])
            self.tables.append(self._open[-1])
        elif tag == "tr" and self._open:
            self._open[-1].append({"text": "", "hrefs": [], "cells": 0, **attrs})
        elif self._open and self._open[-1]:
            row = self._open[-1][-1]
            row["cells"] += tag == "td"
            if tag == "a" and "href" in attrs:
                row["hrefs"].append(attrs["href"])

    def handle_endtag(self, tag):
        if tag == "table" and self._open:
            self._open.pop()
        if tag == "style":
            self._in_style = False

    def handle_data(self, data):
        if self._in_style:
            self.css.append(data)
        if self._open and self._open[-1]:
            self._open[-1][-1]["text"] += data

    def network_urls(self) -> list[str]:
        """Every http(s) or protocol-relative URL in an attribute or in CSS."""
        urls = [v for _, attrs in self.tags for k, v in attrs.items() if k in URL_ATTRIBUTES]
        return [u for u in urls if NETWORK.search(u)] + [c for c in self.css if NETWORK.search(c)]

    def scripts(self) -> list[str]:
        """``<script>`` tags and inline handlers (``onclick=``): what would need JavaScript."""
        return [
            f"<{tag} {k}>"
            for tag, attrs in self.tags
            for k in ["", *attrs]
            if (tag == "script" and k == "") or k.startswith("on")
        ]

    def stylesheets(self) -> list[Path]:
        return [
            (self.path.parent / attrs["href"]).resolve()
            for tag, attrs in self.tags
            if tag == "link" and "stylesheet" in attrs.get("rel", "").split()
        ]


def test_validate_writes_data_docs_that_read_offline(tiny_drop_novideo, tmp_path):
    # one defect, so the index shows a failed validation next to passed ones
    path = ReactLayout(tiny_drop_novideo).clip_path(
        "train", ReactLayout(tiny_drop_novideo).clips("train")[0], "emotion"
    )
    df = pd.read_csv(path)
    df.assign(Valence=df.Valence.where(df.index != 4)).to_csv(path, index=False)
    report = validate_drop(
        tiny_drop_novideo, get_format(P.data.format), P.validation, tmp_path / "r", progress=False
    )
    docs = (tmp_path / "r" / "data_docs").resolve()
    stylesheet = (docs / STYLESHEET).resolve()
    css = stylesheet.read_text()
    assert "border-collapse" in css and ".text-danger" in css and ".fa-times::before" in css

    pages = {p: Page(p) for p in sorted(docs.rglob("*.html"))}
    validation_pages = set((docs / "validations").rglob("*.html"))
    ran = {name: s["success"] for name, s in report.suites.items() if s["success"] is not None}
    assert len(validation_pages) == len(ran) >= 5 and False in ran.values()
    for path, page in pages.items():
        assert page.network_urls() == [], path
        assert page.scripts() == [], path
        assert page.stylesheets() == [stylesheet], path
        # every table has its rows in the HTML: none is left for JavaScript to fill
        assert all(any(row["cells"] for row in table) for table in page.tables), path

    index = pages[docs / "index.html"]
    rows = [row for table in index.tables for row in table if row["cells"]]
    listed: set[Path] = set()
    for suite, success in ran.items():
        [row] = [r for r in rows if any(h.startswith(f"validations/{suite}/") for h in r["hrefs"])]
        assert suite in row["text"] and ("Success" if success else "Failed") in row["text"]
        assert ("rd-failed" in row.get("class", "")) is not success
        for href in row["hrefs"]:
            target = (docs / href).resolve()
            assert target.is_file(), href
            listed.add(target)
    assert validation_pages <= listed
    assert set((docs / "expectations").rglob("*.html")) <= {
        (docs / h).resolve() for r in rows for h in r["hrefs"]
    }


@pytest.fixture(scope="module")
def built_docs(tmp_path_factory) -> Path:
    """A small site (a failing and a passing validation) built once; copy it to change it."""
    docs = tmp_path_factory.mktemp("docs") / "data_docs"
    ctx = gx_context(docs)
    assert list(ctx.variables.data_docs_sites) == [DOCS_SITE]  # no GX site in /tmp
    run_expectations(ctx, "tiny", _table(), _expectations(), ["file"], source="t", asset="files")
    run_expectations(
        ctx, "ok", _table().iloc[:1], _expectations(), ["file"], source="t", asset="first"
    )
    build_docs(ctx)
    return docs


def _page(docs: Path, section: str) -> Path:
    return sorted((docs / section).rglob("*.html"))[0]


def _edit(page: Path, old: str, new: str) -> Path:
    text = page.read_text()
    assert old in text, (page, old)
    page.write_text(text.replace(old, new, 1))
    return page


def _drop_index_row(docs: Path) -> Path:
    link = _page(docs, "validations").relative_to(docs).as_posix()
    index = docs / "index.html"
    text = index.read_text()
    end = text.index(f'href="{link}"')
    row = text[text.rindex("<tr", 0, end) : text.index("</tr>", end) + len("</tr>")]
    index.write_text(text.replace(row, ""))
    return index


# Each breaks one page as GX's own templates (or a moved template) would; the error names it.
BREAKS: dict[str, Callable[[Path], Path]] = {
    "cdn script": lambda d: _edit(
        _page(d, "validations"),
        "</head>",
        '<script src="https://code.jquery.com/jquery-3.7.1.min.js"></script></head>',
    ),
    "cdn stylesheet": lambda d: _edit(
        d / "index.html",
        "</head>",
        '<link rel="stylesheet" href="https://maxcdn.bootstrapcdn.com/x.css"></head>',
    ),
    "logo from s3": lambda d: _edit(
        _page(d, "expectations"),
        'src="../static/images/logo-long.png"',
        'src="https://great-expectations-web-assets.s3.us-east-2.amazonaws.com/logo-long.png"',
    ),
    "css url": lambda d: _edit(
        d / "index.html", "</head>", "<style>a { background: url('//cdn.x/y.png') }</style></head>"
    ),
    "inline handler": lambda d: _edit(
        _page(d, "validations"), "<details", '<details onclick="go()"'
    ),
    "no stylesheet link": lambda d: _edit(
        _page(d, "expectations"),
        '<link rel="stylesheet" href="../static/styles/reactdiff_docs.css">',
        "",
    ),
    "index without a result": _drop_index_row,
    "dangling link": lambda d: (_page(d, "validations").unlink(), d / "index.html")[1],
}


@pytest.mark.parametrize("name", sorted(BREAKS))
def test_a_page_that_would_not_read_offline_is_an_error_naming_it(name, built_docs, tmp_path):
    docs = Path(shutil.copytree(built_docs, tmp_path / "data_docs"))
    check_offline_docs(docs)  # the copy as built is fine
    page = BREAKS[name](docs)
    with pytest.raises(DataDocsError) as err:
        check_offline_docs(docs)
    assert str(page.resolve()) in str(err.value)


def test_a_missing_stylesheet_is_an_error(built_docs, tmp_path):
    docs = Path(shutil.copytree(built_docs, tmp_path / "data_docs"))
    (docs / STYLESHEET).unlink()
    with pytest.raises(DataDocsError, match=r"reactdiff_docs\.css: not written"):
        check_offline_docs(docs)


def test_a_page_gx_fails_to_render_is_an_error(tmp_path, monkeypatch):
    """GX logs a template error and writes an empty index; the build raises instead."""
    monkeypatch.setitem(TEMPLATES, "tabs.j2", "{{ no_such_function() }}")
    ctx = gx_context(tmp_path / "docs")
    run_expectations(ctx, "ok", _table(), _expectations(), ["file"], source="t", asset="a")
    with pytest.raises(DataDocsError, match="failed to render a page"):
        build_docs(ctx)


def test_static_rows_sort_as_bootstrap_table_would():
    columns = [{"field": "run_time", "sortName": "_t"}, {"field": "name"}]
    rows = [{"name": "a", "_t": 1.0}, {"name": "b", "_t": 3.0}, {"name": "c", "_t": ""}]
    desc = static_rows(rows, columns, {"sortName": "run_time", "sortOrder": "desc"})
    assert [r["name"] for r in desc] == ["c", "b", "a"]
    asc = static_rows(rows, columns, {"sortName": "name", "sortOrder": "asc"})
    assert [r["name"] for r in asc] == ["a", "b", "c"]
    assert static_rows(rows[::-1], columns, {}) == rows[::-1]
