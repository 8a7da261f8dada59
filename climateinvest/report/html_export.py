"""Self-contained HTML pages: executed notebooks to reports that open with no network at all.

Rules every page follows (docs/architecture.md section 7, checked by ``check_offline`` and the browser test):

- no code cells and no prompts: only the cells' outputs and the markdown are rendered
  (``notebook_body``); the page around them (head, styles, title) is ours
  (``templates/page.html.j2``);
- plotly.js is inlined **once** in the head, and only on pages that hold a chart; the charts
  themselves come from ``report_display.FigureOut`` as ``<div class="plotly-graph-div">`` plus a small
  ``Plotly.newPlot`` call (no require.js, no CDN, no MathJax);
- a Content-Security-Policy meta tag forbids every network load, so even a stray address in some
  output cannot be fetched; ``check_offline`` refuses to write a page that names one in a
  ``<script>``, ``<link>``, ``<img>``, ``<iframe>`` or CSS ``url()``/``@import``;
- output on stderr (warnings) is left out of the page and handed back so the batch can record it.
"""
from __future__ import annotations

import html
import re
from functools import lru_cache
from html.parser import HTMLParser
from pathlib import Path

from climateinvest.report.formatting import markdown_safe

TEMPLATES = Path(__file__).parent / "templates"
PLOTLY_DIV = "plotly-graph-div"


class OfflineError(ValueError):
    """A page refers to something outside itself (a network address) that a browser would load."""


@lru_cache(maxsize=1)
def _env():
    import jinja2

    return jinja2.Environment(loader=jinja2.FileSystemLoader(str(TEMPLATES)),
                              autoescape=True, keep_trailing_newline=True)


@lru_cache(maxsize=1)
def css() -> str:
    """The report stylesheet."""
    return (TEMPLATES / "report.css").read_text(encoding="utf-8")


PLOTLY_TRACES = ("bar", "pie", "scatter")  # the trace types the vendored bundle holds


@lru_cache(maxsize=1)
def plotlyjs() -> str:
    """The plotly.js "basic" bundle (bar, pie and scatter traces; 1.2 MB instead of the full 4.8
    MB), vendored in ``templates/`` with its MIT license (see ``templates/VENDORED.md``).
    """
    return (TEMPLATES / "plotly-basic.min.js").read_text(encoding="utf-8")


def page(body: str, title: str, *, footer: str = "", lang: str = "en", plotly: bool | None = None) -> str:
    """A full HTML document around ``body`` (trusted HTML: escape data before it gets here).

    ``title`` and ``footer`` are plain text and escaped here. ``plotly=None`` embeds plotly.js only
    if ``body`` holds a chart.
    """
    from climateinvest import __version__

    if plotly is None:
        plotly = PLOTLY_DIV in body
    text = _env().get_template("page.html.j2").render(
        body=body, title=title, footer=footer, lang=lang, css=css(), version=__version__,
        plotlyjs=plotlyjs() if plotly else "")
    check_offline(text)
    return text


def _drop_stderr(nb) -> list[str]:
    """Remove cells tagged ``remove-cell``, stderr streams and ``application/javascript`` outputs
    from ``nb`` (in place); return the stderr text (warnings) so the caller can record it.
    """
    warnings = []
    nb.cells = [c for c in nb.cells if "remove-cell" not in c.get("metadata", {}).get("tags", [])]
    for cell in nb.cells:
        if cell.get("cell_type") != "code":
            continue
        kept = []
        for out in cell.get("outputs", []):
            if out.get("output_type") == "stream" and out.get("name") == "stderr":
                text = out.get("text", "")
                warnings.append(text if isinstance(text, str) else "".join(text))
                continue
            data = out.get("data")
            if data is not None:
                data.pop("application/javascript", None)
                if not data:
                    continue
            kept.append(out)
        cell["outputs"] = kept
    return [w.strip() for w in warnings if w.strip()]


_PRIORITY = ("text/html", "image/svg+xml", "image/png", "image/jpeg", "text/markdown", "text/plain")


def _text(value) -> str:
    return value if isinstance(value, str) else "".join(value or [])


def _render_output(out) -> str:
    kind = out.get("output_type")
    if kind == "stream":
        return f'<pre class="ci-stream">{escape(_text(out.get("text")))}</pre>'
    if kind == "error":
        tb = re.sub(r"\x1b\[[0-9;]*[A-Za-z]", "", "\n".join(out.get("traceback") or []))
        return f'<pre class="ci-error">{escape(tb)}</pre>'
    data = out.get("data") or {}
    for mime in _PRIORITY:
        if mime not in data:
            continue
        value = _text(data[mime])
        if mime == "text/html":
            return f'<div class="ci-output">{value}</div>'
        if mime == "image/svg+xml":
            return f'<div class="ci-output">{value}</div>'
        if mime in ("image/png", "image/jpeg"):
            return f'<div class="ci-output"><img alt="" src="data:{mime};base64,{escape(value.strip())}"></div>'
        if mime == "text/markdown":
            return f'<div class="ci-output">{markdown_safe(value)}</div>'
        return f'<pre class="ci-output">{escape(value)}</pre>'
    return ""


def notebook_body(nb) -> tuple[str, list[str]]:
    """The outputs and markdown of an executed notebook as HTML, without code or prompts.

    Returns ``(html_fragment, stderr_texts)``. ``nb`` is a ``nbformat.NotebookNode`` (modified).
    Outputs are taken as the notebook's own functions made them (``text/html`` first, already
    escaped where they hold data); markdown cells go through ``report_format.markdown_safe``.

    This is deliberately not nbconvert's ``HTMLExporter``: for these notebooks (outputs made by
    ``climateinvest.report``) it gives the same page without require.js, MathJax or CDN tags to
    strip afterwards, and in milliseconds instead of seconds per report.
    """
    warnings = _drop_stderr(nb)
    parts = []
    for cell in nb.cells:
        if cell.get("cell_type") == "markdown":
            parts.append(f'<div class="ci-markdown">{markdown_safe(_text(cell.get("source")))}</div>')
        elif cell.get("cell_type") == "code":
            parts += [_render_output(o) for o in cell.get("outputs", [])]
    return "\n".join(p for p in parts if p), warnings


def notebook_to_html(nb, title: str, *, footer: str = "", lang: str = "en") -> tuple[str, list[str]]:
    """A self-contained report page from an executed notebook: ``(html, stderr_texts)``;
    ``lang`` is the page's ``<html lang>``.
    """
    body, warnings = notebook_body(nb)
    return page(body, title, footer=footer, lang=lang), warnings


# ---------------------------------------------------------------------------------------------
# PDF


def chromium() -> str | None:
    """The Chromium to print with: ``$CLIMATEINVEST_CHROMIUM``, else ``chromium`` on the PATH."""
    import os
    import shutil

    found = os.environ.get("CLIMATEINVEST_CHROMIUM") or shutil.which("chromium") or shutil.which("chromium-browser")
    return found if found and Path(found).exists() else None


def write_pdf(html_path: Path, browser: str, timeout_s: float = 120.0) -> Path:
    """Print ``html_path`` to ``<same name>.pdf`` beside it with headless Chromium (A4, the
    report's print stylesheet, no header or footer lines); returns the PDF's path.
    """
    import subprocess
    import tempfile

    pdf = html_path.with_suffix(".pdf")
    with tempfile.TemporaryDirectory() as profile:
        tmp = pdf.with_name(f".{pdf.name}.partial")
        subprocess.run([browser, "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
                        "--disable-background-networking", "--disable-extensions", f"--user-data-dir={profile}",
                        "--no-pdf-header-footer", "--run-all-compositor-stages-before-draw",
                        "--virtual-time-budget=15000", f"--print-to-pdf={tmp}", html_path.resolve().as_uri()],
                       check=True, capture_output=True, timeout=timeout_s)
        tmp.replace(pdf)
    return pdf


def write_pdfs(pages: list[Path]) -> list[str]:
    """A PDF beside each page where Chromium is available; returns one line per page to show."""
    browser = chromium()
    if browser is None:
        return ["pdf: chromium not found (apt-get install chromium); no PDF written"]
    lines = []
    for p in pages:
        try:
            lines.append(f"pdf {write_pdf(p, browser)}")
        except Exception as e:  # noqa: BLE001 - one failing PDF is reported, the others written
            lines.append(f"pdf {p.name} failed: {type(e).__name__}: {e}")
    return lines


# ---------------------------------------------------------------------------------------------
# Offline check

_URL_ATTRS = {"script": ("src",), "link": ("href",), "img": ("src", "srcset"), "iframe": ("src",),
              "frame": ("src",), "embed": ("src",), "object": ("data",), "source": ("src", "srcset"),
              "video": ("src", "poster"), "audio": ("src",), "track": ("src",), "input": ("src",),
              "image": ("href", "xlink:href"), "use": ("href", "xlink:href"), "base": ("href",)}
_CSS_URL = re.compile(r"""(?:url\(\s*['"]?|@import\s+['"])\s*((?:https?:)?//[^'")\s]+)""", re.IGNORECASE)
_REMOTE = re.compile(r"^\s*(?:https?:|ftp:)?//", re.IGNORECASE)


class _Finder(HTMLParser):
    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.found: list[str] = []
        self._in_style = False

    def handle_starttag(self, tag, attrs):
        self._in_style = tag == "style"
        names = _URL_ATTRS.get(tag, ())
        for name, value in attrs:
            if value is None:
                continue
            if name in names and any(_REMOTE.match(v.strip().split(" ")[0])
                                     for v in value.split(",") if v.strip()):
                self.found.append(f"<{tag} {name}={value!r}>")
            if name == "style":
                self.found += [f"<{tag} style> {u}" for u in _CSS_URL.findall(value)]

    def handle_endtag(self, tag):
        if tag == "style":
            self._in_style = False

    def handle_data(self, data):
        if self._in_style:
            self.found += [f"<style> {u}" for u in _CSS_URL.findall(data)]


def outside_references(text: str) -> list[str]:
    """Every network address a browser would load from ``text`` (scripts, styles, images, frames,
    CSS ``url()`` and ``@import``). Plain links (``<a href>``) are not loads and are allowed.
    """
    finder = _Finder()
    finder.feed(text)
    finder.close()
    return finder.found


def check_offline(text: str) -> None:
    """Raise ``OfflineError`` if the page would load anything from a network address."""
    found = outside_references(text)
    if found:
        raise OfflineError("the page would load from the network: " + "; ".join(found[:5]))


def escape(text) -> str:
    """``html.escape`` of ``str(text)`` (quotes too): for every user or data text reaching HTML."""
    return html.escape("" if text is None else str(text), quote=True)
