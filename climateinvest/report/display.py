"""Displayable pieces of a report: trusted HTML, notes, figures, and how Jupyter shows them.

Figures are plotly JSON under a fixed ``Plotly.newPlot`` call; nothing from the data runs.
"""
from __future__ import annotations

import html
import json
import re

from climateinvest.report.formatting import stable_id
from climateinvest.report.html_export import css


class Html(str):
    """Trusted HTML (built here from escaped parts) that Jupyter displays as HTML."""

    def _repr_html_(self) -> str:
        return str(self)


# No control that talks to a network: no plotly logo link, no "Share chart" (uploads the data to
# Plotly Cloud), no "Edit in Chart Studio". Saving a PNG stays (it happens in the browser).
PLOTLY_CONFIG = {"displaylogo": False, "responsive": True, "showSendToCloud": False,
                 "modeBarButtonsToRemove": ["select2d", "lasso2d", "sendChartToCloud", "editInChartStudio"],
                 "toImageButtonOptions": {"format": "png", "scale": 2}}


class FigureOut:
    """A plotly figure for both worlds: the plotly MIME type (JupyterLab draws it natively) and
    an HTML ``div`` without plotly.js (the exported report embeds plotly.js once in its head).
    """

    def __init__(self, fig, caption: str | None = None):
        self.fig = fig
        self.caption = caption

    def html(self) -> str:
        """The figure as an HTML fragment without plotly.js (the page embeds it once)."""
        height = self.fig.layout.height or 460
        div = self.fig.to_html(full_html=False, include_plotlyjs=False, config=PLOTLY_CONFIG,
                               default_width="100%", default_height=f"{int(height)}px", validate=False,
                               div_id=stable_id("ci-figure-"))  # not random
        cap = f'<p class="ci-figure-caption">{html.escape(self.caption)}</p>' if self.caption else ""
        return div + cap

    def _repr_mimebundle_(self, include=None, exclude=None):
        import plotly.io as pio

        spec = json.loads(pio.to_json(self.fig, validate=False))
        spec["config"] = PLOTLY_CONFIG
        return {"application/vnd.plotly.v1+json": spec, "text/html": self.html(),
                "text/plain": f"<figure: {self.caption or 'chart'}>"}


def display(*items) -> None:
    """Show each item in Jupyter (a ``str`` as trusted HTML); ``None`` items are skipped."""
    from IPython.display import display as ipython_display

    for item in items:
        if item is None:
            continue
        ipython_display(Html(item) if isinstance(item, str) else item)


def note(text: str, kind: str = "note") -> Html:
    """A boxed note; ``text`` is plain text (escaped here)."""
    return Html(f'<div class="ci-{kind}">{html.escape(str(text))}</div>')


def paragraph(text: str) -> str:
    """``text`` (trusted HTML) as a paragraph."""
    return f"<p>{text}</p>"


def jupyter_css() -> str:
    """The ``.ci-*`` rules of the report stylesheet, so that key figures, notes and the title page
    look the same in JupyterLab (where the exported page's head is absent). Only selectors that
    start with ``.ci-`` are kept: nothing of JupyterLab's own look is touched.
    """
    text = re.sub(r"/\*.*?\*/", "", css(), flags=re.DOTALL)
    media = re.compile(r"@media[^{]*\{(?:[^{}]*\{[^{}]*\})*[^{}]*\}")
    # the narrow-screen rules come again after the copies, or the copies would override them
    narrow = [m.group(0) for m in media.finditer(text) if "max-width" in m.group(0).split("{", 1)[0]]
    text = media.sub("", text)
    rules = re.findall(r"([^{}]+)\{([^{}]*)\}", text)
    keep = [f"{sel.strip()} {{{body.strip()}}}" for sel, body in rules
            if all(part.strip().startswith(".ci-") for part in sel.split(","))]
    return (
        "<style>"
        + "\n".join(keep)
        .replace("var(--muted)", "#5b6675")
        .replace("var(--rule)", "#d8dde4")
        .replace("var(--band)", "#f4f6f8")
        .replace("var(--accent)", "#0b6e4f")
        .replace("var(--warn)", "#a4262c")
        + "\n".join(narrow)
        + "</style>"
    )
