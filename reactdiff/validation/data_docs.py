"""Data Docs that read offline: no CDN, a stylesheet of our own, every table static HTML.

Great Expectations 1.24.1 writes pages that load bootstrap, jQuery, bootstrap-table, popper,
font-awesome, vega and bootstrap-datepicker from CDNs and its logo from S3, and its index fills
the tables of validation results and suites from JavaScript (bootstrap-table, fed a Python
literal in a ``<script>``). Without internet, common on GPU clusters, the index is an unstyled
page with empty tables. None of those libraries ships with GX or this project.

How: GX's own extension point. A Data Docs site names the *view* class of each section and of
the index (``site_section_builders.<section>.view``, ``site_index_builder.view``); the views
here are GX's Jinja views with a loader of our templates put first, so a template named here
replaces GX's of that name everywhere, nested content blocks included. Replaced: the page
skeletons (``page.j2``, ``index_page.j2``: a local stylesheet and logo, no scripts, no footers),
``bootstrap_table.j2`` (the index tables, rendered from the rows GX hands the template, sorted
as bootstrap-table would), ``tabs.j2`` (the index's tabs as stacked sections), ``collapse.j2``
(``<details>``), ``graph.j2`` (a note: vega needs JavaScript), and the script-only includes
(emptied). Every other template (sections, static tables, string templates) stays GX's.

Why not rewrite the written HTML after ``build_data_docs``: the index rows exist only as a
Python literal inside a script, so a rewrite would parse a repr out of JavaScript and patch ~10
kinds of markup with patterns tied to GX's whitespace; the view gets the rows as data. The cost
is our own page skeleton (one ~40-line template for the index and every page), tied to the
names of GX 1.24.1's templates and variables, which the check below guards. Templates and
stylesheet are strings here, not files: the package's setuptools config ships only ``.py``.

Guard: GX logs a page that fails to render and carries on (an empty index, a missing page);
``build_offline_docs`` turns such a log into an error, writes the stylesheet atomically, then
reads every written page back and raises ``DataDocsError`` naming the file for any script,
inline handler, ``http(s)`` URL in an attribute or a style, missing stylesheet link, relative
link that does not resolve inside the site, or index that does not list every validation
result and suite page; so a GX upgrade that moves a template fails loudly, never writes a
broken page silently.
"""

from __future__ import annotations

import contextlib
import logging
import re
from collections.abc import Iterable, Iterator, Mapping
from html.parser import HTMLParser
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote

from great_expectations.render.view import DefaultJinjaIndexPageView, DefaultJinjaPageView
from jinja2 import ChoiceLoader, DictLoader

from reactdiff.atomic import write_text
from reactdiff.errors import ReactdiffError

if TYPE_CHECKING:
    from great_expectations.data_context import AbstractDataContext

STYLESHEET = "static/styles/reactdiff_docs.css"  # relative to the site's root
SECTIONS = ("expectations", "validations", "profiling")


class DataDocsError(ReactdiffError, RuntimeError):
    """The written Data Docs are not the offline pages this module renders (a bug, or a GX
    version whose templates moved): the message names the file and what is wrong."""


def site_config(docs_dir: Path | str) -> dict[str, Any]:
    """A GX ``SiteBuilder`` config writing offline pages to ``docs_dir``: our views for the
    index and every section, and no "how to" buttons (they link to GX's website)."""
    view = {"module_name": __name__, "class_name": OfflinePageView.__name__}
    return {
        "class_name": "SiteBuilder",
        "show_how_to_buttons": False,
        "store_backend": {
            "class_name": "TupleFilesystemStoreBackend",
            "base_directory": str(Path(docs_dir).resolve()),
        },
        "site_index_builder": {
            "class_name": "DefaultSiteIndexBuilder",
            "view": {"module_name": __name__, "class_name": OfflineIndexPageView.__name__},
        },
        "site_section_builders": {section: {"view": dict(view)} for section in SECTIONS},
    }


def static_rows(
    rows: Iterable[Mapping[str, Any]], columns: list[Mapping[str, Any]], options: Mapping
) -> list[Mapping[str, Any]]:
    """The rows of a bootstrap-table in the order the browser would show them first: by the
    ``sortName`` option (through that column's own ``sortName`` field, e.g. a run time's
    timestamp), ``sortOrder`` ``desc`` reversing; unsorted tables keep GX's order."""
    rows = list(rows)
    name = options.get("sortName")
    if not name:
        return rows
    column = next((c for c in columns if c.get("field") == name), {})
    field = column.get("sortName", name)
    return sorted(
        rows, key=lambda row: _sort_key(row.get(field)), reverse=options.get("sortOrder") == "desc"
    )


def _sort_key(value: Any) -> tuple:
    """Numbers before text (GX gives a run time without a timestamp ``""``), never mixed."""
    if isinstance(value, int | float):
        return (0, value, "")
    return (1, 0, "" if value is None else str(value))


def _offline(view: Any) -> None:
    """Put our templates before GX's in ``view``'s Jinja environment."""
    view.env.loader = ChoiceLoader([DictLoader(TEMPLATES), view.env.loader])
    view.env.filters["static_rows"] = static_rows


class OfflinePageView(DefaultJinjaPageView):
    """GX's page view (expectation suites, validation results) with our offline templates."""

    def __init__(
        self, custom_styles_directory: str | None = None, custom_views_directory: str | None = None
    ) -> None:
        super().__init__(custom_styles_directory, custom_views_directory)
        _offline(self)


class OfflineIndexPageView(DefaultJinjaIndexPageView):
    """GX's index view with our offline templates (its tables static)."""

    def __init__(
        self, custom_styles_directory: str | None = None, custom_views_directory: str | None = None
    ) -> None:
        super().__init__(custom_styles_directory, custom_views_directory)
        _offline(self)


@contextlib.contextmanager
def _gx_errors() -> Iterator[list[str]]:
    """Collect what GX logs as an error meanwhile: its site builder logs a page that failed to
    render (with the traceback) and goes on without it."""
    messages: list[str] = []

    class _Collect(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            messages.append(record.getMessage())

    handler = _Collect(logging.ERROR)
    logger = logging.getLogger("great_expectations")
    logger.addHandler(handler)
    try:
        yield messages
    finally:
        logger.removeHandler(handler)


def build_offline_docs(ctx: AbstractDataContext, site: str) -> Path:
    """Build the Data Docs site ``site`` of ``ctx`` (configured by ``site_config``) and check
    it reads offline; returns its folder. Only that site is built: an ephemeral context also
    has a ``local_site`` in a temporary folder that nobody reads."""
    docs_dir = Path(ctx.variables.data_docs_sites[site]["store_backend"]["base_directory"])
    with _gx_errors() as errors:
        ctx.build_data_docs(site_names=[site])
    if errors:
        raise DataDocsError(f"{docs_dir}: Great Expectations failed to render a page: {errors[0]}")
    write_text(docs_dir / STYLESHEET, STYLESHEET_CSS)
    check_offline_docs(docs_dir)
    return docs_dir


# --- the check -------------------------------------------------------------------------------

URL_ATTRIBUTES = {"src", "href", "srcset", "poster", "data", "action", "formaction", "background"}
EXTERNAL = re.compile(r"(?i)(?:https?:)?//")  # an http(s) or protocol-relative URL
CSS_EXTERNAL = re.compile(r"(?i)https?://|url\(\s*['\"]?\s*//|@import")


class _Page(HTMLParser):
    """What a written page loads and links to, and what in it would need JavaScript."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.problems: list[str] = []
        self.refs: list[tuple[str, str]] = []  # (tag, url) of every URL attribute
        self.stylesheets: list[str] = []
        self._in_style = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "script":
            self.problems.append("has a <script>")
        self._in_style = tag == "style"
        values = {name: value or "" for name, value in attrs}
        if tag == "link" and "stylesheet" in values.get("rel", "").split():
            self.stylesheets.append(values.get("href", ""))
        for name, value in values.items():
            if name.startswith("on"):
                self.problems.append(f"has an inline script (<{tag} {name}=...>)")
            elif name == "style":
                self._css(value, tag)
            elif name in URL_ATTRIBUTES:
                self.refs.append((tag, value.strip()))

    def handle_endtag(self, tag: str) -> None:
        if tag == "style":
            self._in_style = False

    def handle_data(self, data: str) -> None:
        if self._in_style:
            self._css(data, "style")

    def _css(self, css: str, tag: str) -> None:
        if CSS_EXTERNAL.search(css):
            self.problems.append(f"<{tag}> style loads from outside: {css.strip()[:120]!r}")


def _target(page: Path, url: str) -> Path | None:
    """The file inside the site a relative ``url`` of ``page`` points to (None: an anchor)."""
    path = unquote(url.split("#", 1)[0].split("?", 1)[0])
    if not path:
        return None
    return (page.parent / path).resolve()


def _check_page(docs_dir: Path, page: Path) -> tuple[list[str], set[Path]]:
    """The problems of one page, and the site files its links point to."""
    parsed = _Page()
    parsed.feed(page.read_text(encoding="utf-8"))
    parsed.close()
    problems = list(dict.fromkeys(parsed.problems))
    stylesheet = (docs_dir / STYLESHEET).resolve()
    if not any(_target(page, href) == stylesheet for href in parsed.stylesheets):
        problems.append(f"does not link the stylesheet {STYLESHEET}")
    linked: set[Path] = set()
    for tag, url in parsed.refs:
        if EXTERNAL.search(url) or url.lower().startswith("javascript:"):
            problems.append(f"<{tag}> points outside the site: {url[:120]}")
            continue
        if url.lower().startswith(("data:", "mailto:")):
            continue
        target = _target(page, url)
        if target is None:
            continue
        if not target.is_relative_to(docs_dir) or not target.is_file():
            problems.append(f"<{tag}> link does not resolve to a file of the site: {url}")
        linked.add(target)
    return problems, linked


def check_offline_docs(docs_dir: Path | str) -> None:
    """Raise ``DataDocsError`` unless every page under ``docs_dir`` reads offline (see the
    module's docstring) and ``index.html`` links every validation result and suite page."""
    docs_dir = Path(docs_dir).resolve()
    index = docs_dir / "index.html"
    if not index.is_file():
        raise DataDocsError(f"{index}: not written")
    if not (docs_dir / STYLESHEET).is_file():
        raise DataDocsError(f"{docs_dir / STYLESHEET}: not written")
    problems: list[str] = []
    for page in sorted(docs_dir.rglob("*.html")):
        found, linked = _check_page(docs_dir, page)
        problems += [f"{page}: {p}" for p in found]
        if page == index:
            for section in ("validations", "expectations"):
                unlisted = sorted(set((docs_dir / section).rglob("*.html")) - linked)
                problems += [f"{index}: does not list {p.relative_to(docs_dir)}" for p in unlisted]
    if problems:
        shown = "\n".join(problems[:20])
        more = f"\n... and {len(problems) - 20} more" if len(problems) > 20 else ""
        raise DataDocsError(f"Data Docs in {docs_dir} would not read offline:\n{shown}{more}")


# --- templates and stylesheet ----------------------------------------------------------------

# The page skeleton of the index and every section (GX 1.24.1's page.j2 and index_page.j2
# without CDN links, inline styles, scripts, navbar logo from S3 and footers). ``root`` is the
# way up to the site's root, as GX's top_navbar.j2 counts it: a suite name's dots are folders.
_PAGE = """<!DOCTYPE html>
{%- set dots = (expectation_suite_name or "").count(".") -%}
{%- if "ValidationResults" in renderer_type or "ProfilingResults" in renderer_type -%}
  {%- set root = "../" * (dots + 4) -%}
{%- elif "ExpectationSuite" in renderer_type -%}
  {%- set root = "../" * (dots + 1) -%}
{%- else -%}
  {%- set root = "" -%}
{%- endif %}
<html lang="en">
  <head>
    <meta charset="UTF-8">
    <meta name="viewport" content="width=device-width, initial-scale=1.0">
    <title>{{ (page_title or "Data Docs") | e }}</title>
    <link rel="stylesheet" href="{{ root }}static/styles/reactdiff_docs.css">
    <link rel="icon" href="{{ root }}static/images/favicon.ico">
  </head>
  <body>
    <header class="rd-top">
      <a href="{{ root }}index.html"><img src="{{ root }}static/images/logo-long.png" alt="Great Expectations"></a>
      <nav class="rd-crumbs"><a href="{{ root }}index.html">Data Docs</a>
        {%- if page_title %} / <span>{{ page_title | e }}</span>{% endif %}</nav>
    </header>
    <div class="rd-layout">
      {% include 'sidebar.j2' %}
      <main class="rd-main">
        {% for section in sections %}
          {% set section_loop = loop -%}
          {% include 'section.j2' %}
        {% endfor %}
      </main>
    </div>
    <footer class="rd-foot">Written by Great Expectations {{ ge_version }} for reactdiff; these pages load nothing from the network and run no scripts.</footer>
  </body>
</html>
"""

_SIDEBAR = """<aside class="rd-side">
  {% if renderer_type == "ValidationResultsPageRenderer" %}
    <h2>Expectation Validation Result</h2>
    <p class="rd-muted">Whether a batch of data matches the expectations of a suite.</p>
    <label class="rd-filter"><input type="checkbox" id="rd-failed-only"> Failed expectations only</label>
  {% elif renderer_type == "ExpectationSuitePageRenderer" %}
    <h2>Expectation Suite</h2>
    <p class="rd-muted">The expectations checked on a table.</p>
  {% elif renderer_type == "ProfilingResultsPageRenderer" %}
    <h2>Data Asset Profile</h2>
    <p class="rd-muted">Data values, statistics and distributions.</p>
  {% else %}
    <h2>Data Docs</h2>
    <p class="rd-muted">The validation results of reactdiff's validate stage, and the expectation suites they checked.</p>
  {% endif %}
  {% if renderer_type != "SiteIndexPageRenderer" and sections %}
    <nav class="rd-toc"><h3>Contents</h3>
      <ul>
        {% for section in sections %}
          <li><a href="#section-{{ loop.index }}">{{ section['section_name'] | e }}</a></li>
        {% endfor %}
      </ul>
    </nav>
  {% endif %}
</aside>
"""

# The index tables (validation results, suites): bootstrap-table draws them from ``table_data``
# in the browser; here they are rows, each with a link to its page.
_BOOTSTRAP_TABLE = """{% include 'content_block_header.j2' %}
{% if "styling" in content_block and "body" in content_block["styling"] -%}
  {% set table_styling = content_block["styling"]["body"] | render_styling -%}
{% else -%}
  {% set table_styling = "" -%}
{% endif -%}
{% set columns = content_block["table_columns"] %}
{% set rows = content_block["table_data"] | render_bootstrap_table_data | static_rows(columns, content_block.get("table_options", {})) %}
<div class="rd-static-table table-responsive">
<table id="{{ content_block_id }}-body-table" {{ table_styling }}>
  <thead>
    {% if "title_row" in content_block %}
      <tr><th colspan="{{ columns | length + 1 }}">{{ content_block["title_row"] | render_content_block }}</th></tr>
    {% endif %}
    <tr>
      {% for column in columns %}<th>{{ column.get("title", "") | e }}</th>{% endfor %}
      <th>Page</th>
    </tr>
  </thead>
  <tbody>
    {% for row in rows %}
      <tr{% if row.get("_validation_success_text") == "Failed" %} class="rd-failed"{% endif %}>
        {% for column in columns %}
          <td>{{ row.get(column["field"], "") }}
            {%- if column["field"] == "validation_success" and row.get("_validation_success_text") %} <span class="rd-status">{{ row["_validation_success_text"] | e }}</span>{% endif -%}
          </td>
        {% endfor %}
        <td>{% if row.get("_table_row_link_path") %}<a href="{{ row["_table_row_link_path"] | e }}">open</a>{% endif %}</td>
      </tr>
    {% endfor %}
  </tbody>
</table>
</div>
"""

_TABS = """{% include 'content_block_header.j2' %}
{% set tabs = content_block["tabs"] %}
<div class="rd-tabs">
  <nav class="rd-tab-links">
    {% for tab in tabs %}<a href="#{{ tab.get('tab_name', '').strip().replace(' ', '-') | e }}">{{ tab.get('tab_name', '') | e }}</a>{% endfor %}
  </nav>
  {% for tab in tabs %}
    <section class="rd-tab" id="{{ tab.get('tab_name', '').strip().replace(' ', '-') | e }}">
      <h2>{{ tab.get('tab_name', '') | e }}</h2>
      {{ tab.get("tab_content") | render_content_block(content_block_id=content_block_id ~ '-' ~ loop.index) }}
    </section>
  {% endfor %}
</div>
"""

_COLLAPSE = """{% set collapse_toggle_link = content_block.get("collapse_toggle_link", "Show more...") %}
{% if "styling" in content_block and content_block["styling"].get("body") -%}
  {% set collapse_body_styling = content_block["styling"]["body"] | render_styling -%}
{% else -%}
  {% set collapse_body_styling = "" -%}
{% endif -%}
<details class="rd-collapse" id="{{ content_block_id }}-parent">
  <summary>{{ collapse_toggle_link | render_content_block }}</summary>
  <div {{ collapse_body_styling | replace("{{section_id}}", section_id) | replace("{{content_block_id}}", content_block_id) }}>
    {% set content_block_body_styling = "" %}
    {% include 'content_block_header.j2' %}
    {% for block in content_block["collapse"] %}
      {% set collapse_block_loop = loop %}
      {{ block | render_content_block(content_block_id=content_block_id ~ "-collapse-item-" ~ collapse_block_loop.index) }}
    {% endfor %}
  </div>
</details>
"""

_GRAPH = """{% include 'content_block_header.j2' %}
<p class="rd-muted rd-note">A chart is not shown: it is drawn by vega (JavaScript), which these offline pages do not load.</p>
"""

TEMPLATES = {
    "page.j2": _PAGE,
    "index_page.j2": _PAGE,
    "page_minimal.j2": _PAGE,
    "sidebar.j2": _SIDEBAR,
    "bootstrap_table.j2": _BOOTSTRAP_TABLE,
    "tabs.j2": _TABS,
    "collapse.j2": _COLLAPSE,
    "graph.j2": _GRAPH,
    # scripts, CDN tags and links to GX's website: nothing offline
    "js_script_imports.j2": "",
    "bootstrap_table_js_functions.j2": "",
    "page_action_card.j2": "",
    "cta_footer.j2": "",
    "cloud-footer.j2": "",
    "top_navbar.j2": "",
    "favicon.j2": "",
    "ge_info.j2": "",
}

# Plain CSS for the classes GX's content templates use (bootstrap's names) and our skeleton;
# font-awesome's status icons become characters. The "failed only" filter needs :has().
STYLESHEET_CSS = """/* reactdiff Data Docs: offline, no framework (see reactdiff/validation/data_docs.py) */
:root {
  --fg: #1f2328; --muted: #59636e; --bg: #ffffff; --panel: #f6f8fa; --line: #d0d7de;
  --link: #0969da; --ok: #1a7f37; --ok-bg: #dafbe1; --bad: #cf222e; --bad-bg: #ffebe9;
  --code: #eff1f3;
}
@media (prefers-color-scheme: dark) {
  :root {
    --fg: #e6edf3; --muted: #9198a1; --bg: #0d1117; --panel: #161b22; --line: #3d444d;
    --link: #4493f8; --ok: #3fb950; --ok-bg: #12261e; --bad: #f85149; --bad-bg: #3a1519;
    --code: #262c36;
  }
  .rd-top img { background: #ffffff; border-radius: 4px; padding: 2px 6px; }
}
* { box-sizing: border-box; }
html {
  font: 15px/1.5 system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif;
  color: var(--fg); background: var(--bg);
}
body { margin: 0; }
a { color: var(--link); }
[hidden] { display: none !important; }
h2 { font-size: 1.2rem; margin: 0 0 .5rem; }
h3 { font-size: 1rem; margin: 1rem 0 .4rem; }
h4, h5 { font-size: 1.05rem; margin: 0; }
h6, .h6 { font-size: .95rem; font-weight: 600; margin: .75rem 0 .25rem; }
p { margin: .25rem 0 .75rem; }
ul { padding-left: 1.25rem; }
hr { border: 0; border-top: 1px solid var(--line); }
code, pre, .badge { font-family: ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; }
code { background: var(--code); border-radius: 4px; padding: .1em .35em; font-size: .88em; }
pre { background: var(--code); border-radius: 6px; padding: .6rem; overflow: auto; }
.badge {
  display: inline-block; padding: 0 .4em; border: 1px solid var(--line); border-radius: 4px;
  background: var(--code); font-size: .85em; overflow-wrap: anywhere;
}

/* page skeleton */
.rd-top {
  display: flex; align-items: center; gap: 1.25rem; padding: .5rem 1.5rem;
  border-bottom: 1px solid var(--line); background: var(--panel);
}
.rd-top img { display: block; height: 34px; width: auto; }
.rd-crumbs { color: var(--muted); overflow-wrap: anywhere; }
.rd-layout { display: flex; align-items: flex-start; gap: 2rem; padding: 1.5rem; }
.rd-side {
  flex: 0 0 15rem; position: sticky; top: 1rem; max-height: calc(100vh - 2rem); overflow: auto;
  font-size: .9rem;
}
.rd-side ul { list-style: none; padding: 0; margin: 0; }
.rd-side li a {
  display: block; padding: .15rem .4rem; border-radius: 4px; text-decoration: none;
  overflow-wrap: anywhere;
}
.rd-side li a:hover { background: var(--panel); }
.rd-main { flex: 1 1 auto; min-width: 0; }
.rd-foot {
  padding: .75rem 1.5rem; border-top: 1px solid var(--line); color: var(--muted); font-size: .85rem;
}
.rd-muted, .lead, .text-muted { color: var(--muted); }
.rd-note { font-style: italic; }
.rd-filter { display: flex; align-items: center; gap: .4rem; margin: .75rem 0; cursor: pointer; }
@media (max-width: 800px) {
  .rd-layout { flex-direction: column; }
  .rd-side { position: static; flex: none; width: 100%; max-height: none; }
}

/* GX sections: bootstrap's grid as plain flex */
.ge-section { margin-bottom: 1.75rem; }
.row { display: flex; flex-wrap: wrap; gap: 0 1rem; }
.row > [class*="col-"] { flex: 1 1 100%; min-width: 0; }
.row > .col-6 { flex: 0 1 calc(50% - .5rem); min-width: 18rem; }
.table-responsive { overflow-x: auto; }
.alert-secondary {
  background: var(--panel); border: 1px solid var(--line); border-left: 4px solid var(--muted);
  border-radius: 6px; padding: .6rem 1rem; margin: 0 0 .75rem;
}
.m-0 { margin: 0; }

/* tables */
table { border-collapse: collapse; width: 100%; margin: .5rem 0 1rem; font-size: .92rem; }
th, td { border: 1px solid var(--line); padding: .35rem .6rem; text-align: left; vertical-align: top; }
thead th { background: var(--panel); font-weight: 600; }
tbody > tr:nth-child(even) > td { background: rgba(127, 127, 127, .06); }
td .show-scrollbars { max-height: 60vh; overflow: auto; }
tr.rd-failed > td, tr:has(> td > div > span > .fa-times) > td { background: var(--bad-bg); }
.rd-status { font-weight: 600; }
tr.rd-failed .rd-status { color: var(--bad); }
tr:not(.rd-failed) .rd-status { color: var(--ok); }

/* status colours and font-awesome's icons as characters */
.text-success { color: var(--ok); }
.text-danger { color: var(--bad); }
.text-info { color: var(--link); }
.fas, .far, .fa { font-style: normal; font-weight: 700; }
.fa-check-circle::before { content: "\\2714"; }
.fa-times::before { content: "\\2718"; }
.fa-exclamation-triangle::before { content: "\\26A0"; }
.fa-question-circle::before { content: "?"; }
.fa-comment::before { content: "\\275D"; }

/* tooltips (the index's batch spec), collapsed blocks, index sections */
.cooltip { position: relative; cursor: help; }
.cooltip .top {
  display: none; position: absolute; left: 0; bottom: 100%; z-index: 10; min-width: 16rem;
  padding: .5rem .75rem; border-radius: 6px; background: #24292f; color: #ffffff;
  font-size: .8rem; font-weight: 400;
}
.cooltip:hover .top, .cooltip:focus-within .top { display: block; }
details.rd-collapse > summary { cursor: pointer; color: var(--link); }
details.rd-collapse[open] > summary { margin-bottom: .5rem; }
.rd-tab-links { display: flex; gap: 1rem; margin: 0 0 1rem; }
.rd-tab { margin-bottom: 2rem; }
.rd-tab > h2 { border-bottom: 1px solid var(--line); padding-bottom: .25rem; }

/* "Failed expectations only" on a validation page, without JavaScript */
body:has(#rd-failed-only:checked) tr:has(> td.hide-succeeded-validation-target-child),
body:has(#rd-failed-only:checked) .hide-succeeded-validation-target,
body:has(#rd-failed-only:checked) .ge-section:has(.hide-succeeded-validations-column-section-target-child) {
  display: none;
}
"""
