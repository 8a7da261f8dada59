"""Open the index and every report in Debian's chromium with the network cut.

Every chart must draw (an SVG in each ``.plotly-graph-div``), with no page error, no console error
and no request leaving ``file://``. Runs in CI (``CI`` set): a missing chromium there is a failure,
not a skip. Locally without chromium the test is skipped.
"""
from __future__ import annotations

import os
from pathlib import Path

import pytest
from conftest import ROOT

pytestmark = pytest.mark.slow

# Set CLIMATEINVEST_SCREENSHOT=docs/report-screenshot.png to refresh the README's picture.
SCREENSHOT = os.environ.get("CLIMATEINVEST_SCREENSHOT")


def _open(browser, page_path: Path, *, screenshot: Path | None = None) -> dict:
    context = browser.new_context(viewport={"width": 1280, "height": 900}, service_workers="block")
    outside, errors = [], []

    def route(r):
        if r.request.url.startswith("file://"):
            r.continue_()
        else:
            outside.append(r.request.url)
            r.abort()

    context.route("**/*", route)
    context.set_offline(True)
    page = context.new_page()
    page.on("pageerror", lambda e: errors.append(f"pageerror: {e}"))
    page.on("console", lambda m: errors.append(f"console {m.type}: {m.text}") if m.type == "error" else None)
    page.on("requestfailed", lambda r: None if r.url.startswith("file://") else outside.append(r.url))
    page.goto(page_path.as_uri(), wait_until="load")
    n_charts = page.locator(".plotly-graph-div").count()
    if n_charts:
        page.wait_for_function(
            "() => Array.from(document.querySelectorAll('.plotly-graph-div'))"
            ".every(d => d.querySelector('svg.main-svg') && d._fullLayout)", timeout=60_000)
    drawn = page.evaluate(
        "() => Array.from(document.querySelectorAll('.plotly-graph-div'))"
        ".filter(d => d.querySelector('svg.main-svg') && d.getBoundingClientRect().height > 50).length")
    marks = page.evaluate(
        "() => Array.from(document.querySelectorAll('.plotly-graph-div'))"
        ".map(d => d.querySelectorAll('.main-svg g.trace path, .main-svg g.trace rect').length)")
    pwned = page.evaluate("() => window.__pwned === 1")
    title = page.title()
    if screenshot is not None:
        screenshot.parent.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(screenshot), full_page=False)
    context.close()
    return {"charts": n_charts, "drawn": drawn, "marks": marks, "outside": outside, "errors": errors,
            "pwned": pwned, "title": title}


def _pages(batch_runs):
    pages = []
    for key in ("default", "mixed"):
        folder = batch_runs[key]["folder"]
        pages += [folder / "index.html"] + sorted(p for p in folder.glob("*.html") if p.name != "index.html")
    return pages


def test_every_page_loads_offline_and_every_chart_draws(browser, batch_runs):
    pages = _pages(batch_runs)
    assert len(pages) >= 8
    for path in pages:
        shot = (ROOT / SCREENSHOT if SCREENSHOT and path.name == "base.html"
                and path.parent == batch_runs["default"]["folder"] else None)
        r = _open(browser, path, screenshot=shot)
        where = f"{path.parent.name}/{path.name}"
        assert r["outside"] == [], f"{where}: outside requests {r['outside']}"
        assert r["errors"] == [], f"{where}: {r['errors']}"
        assert r["pwned"] is False, f"{where}: a title's script ran"
        assert r["drawn"] == r["charts"], f"{where}: {r['drawn']} of {r['charts']} charts drawn"
        assert all(m > 0 for m in r["marks"]), f"{where}: a chart has no marks {r['marks']}"
        if path.name == "comparison.html":
            assert r["charts"] >= 2, f"{where}: {r['charts']} charts"
        elif path.name != "index.html":
            assert r["charts"] >= 8, f"{where}: {r['charts']} charts"
        assert r["title"]


def test_index_links_resolve(batch_runs):
    import re

    for key in ("default", "mixed"):
        folder = batch_runs[key]["folder"]
        text = (folder / "index.html").read_text(encoding="utf-8")
        links = re.findall(r'href="([^"#]+)"', text)
        assert links
        for link in links:
            assert not link.startswith(("http:", "https:", "//")), link
            assert (folder / link).exists(), link
