"""Markup injection: text from data files and scenario files is text in every page, never code.

A copy of the fictional city whose measure names, sector labels, source notes, SOURCES.md, city
name and notes, and scenario titles and notes carry script tags, event-handler attributes, quotes
and ampersands goes through ``climateinvest report`` (two scenarios, so there is a comparison).
Every HTML page (each report, the comparison, the index) must hold the payloads only escaped,
and chromium, with the network cut, must run none of them: ``window.__pwned`` stays undefined,
no dialog opens, no element carries an event-handler attribute or a ``javascript:`` link. The
workbooks must hold the texts as text, not as formulas.

Runs in CI (``CI`` set): a missing chromium there is a failure, not a skip.
"""
from __future__ import annotations

import contextlib
import csv
import io
import json
import re
import shutil
from pathlib import Path

import openpyxl
import pytest
import yaml

from climateinvest.cli import main

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[1]
EXEMPELSTAD = ROOT / "data" / "exempelstad"
SCENARIO = ROOT / "parameters" / "exempelstad" / "base.yaml"

SCRIPT = "<script>window.__pwned=1</script>"
IMG = '<img src=x onerror="window.__pwned=1">'
QUOTES = "\"quotes' & ampersands"
ATTR = 'x" onmouseover="window.__pwned=1" data-x="'
SVG = "<svg onload=window.__pwned=1>"
FORMULA = '=HYPERLINK("https://example.org/?leak","click")'
PAYLOADS = [SCRIPT, IMG, QUOTES, ATTR, SVG]
# What must never appear verbatim in a page: each would be live markup there. (Fragments such as
# ``onload=window.__pwned=1`` are harmless inside escaped text; tags are looked for below.)
RAW = [SCRIPT, IMG, SVG, "<iframe srcdoc", "javascript:window.__pwned"]


def _edit_csv(path: Path, edit) -> None:
    rows = list(csv.DictReader(io.StringIO(path.read_text(encoding="utf-8"))))
    fields = list(rows[0])
    for i, row in enumerate(rows):
        edit(i, row)
    out = io.StringIO()
    w = csv.DictWriter(out, fields, lineterminator="\n")
    w.writeheader()
    w.writerows(rows)
    path.write_text(out.getvalue(), encoding="utf-8")


def hostile_city(folder: Path) -> Path:
    city = Path(shutil.copytree(EXEMPELSTAD, folder))
    sectors = {}

    def sector(s: str) -> str:
        return sectors.setdefault(s, f"{s} {PAYLOADS[len(sectors) % len(PAYLOADS)]}")

    def measure(i: int, row: dict) -> None:
        row["name"] = FORMULA if i == 0 else f"{row['name']} {PAYLOADS[i % len(PAYLOADS)]}"
        row["sector"] = sector(row["sector"])
        row["source"] = f"{row['source']} {SCRIPT} {QUOTES}"

    _edit_csv(city / "measures.csv", measure)
    _edit_csv(city / "baseline_emissions.csv", lambda i, r: r.update(sector=sector(r["sector"])))
    if (city / "baseline_projection.csv").exists():  # the projection names the same sectors
        _edit_csv(city / "baseline_projection.csv", lambda i, r: r.update(sector=sector(r["sector"])))

    def funding(i: int, row: dict) -> None:
        row["name"] = f"{row['name']} {IMG}"
        if row["eligible_sectors"] != "*":
            row["eligible_sectors"] = ";".join(sector(s) for s in row["eligible_sectors"].split(";"))

    _edit_csv(city / "funding_sources.csv", funding)
    meta = yaml.safe_load((city / "city.yaml").read_text(encoding="utf-8"))
    meta["name"] = f"Exempelstad {SCRIPT}"
    meta["notes"] = f"{meta['notes']} {IMG} {QUOTES}"
    (city / "city.yaml").write_text(yaml.safe_dump(meta, allow_unicode=True), encoding="utf-8")
    with (city / "SOURCES.md").open("a", encoding="utf-8") as f:
        f.write(f"\n\n## Hostile notes {SCRIPT}\n\n{IMG} and {QUOTES} and {SVG}\n\n"
                "[click me](javascript:window.__pwned=1) "
                "[ok link](https://example.org/?a=1&b=\"2\")\n\n"
                '<iframe srcdoc="<script>parent.__pwned=1</script>"></iframe>\n\n'
                f"| column {SCRIPT} | {ATTR} |\n|---|---|\n| {IMG} | {QUOTES} |\n")
    return city


def hostile_scenarios(folder: Path, city: Path) -> list[Path]:
    base = yaml.safe_load(SCENARIO.read_text(encoding="utf-8"))
    base["city"] = str(city)
    base["monte_carlo"] = {"draws": 200, "seed": 7, "reselect_draws": 5}
    out = []
    for file, title, notes, budget in (
            ("base.yaml", f"Base {SCRIPT} {IMG} {QUOTES}", f"Notes {ATTR} {SVG}", 1_000_000),
            ("low <b>&\"'.yaml", f"Low {SVG} {ATTR}", f"{SCRIPT} {QUOTES}", 500_000)):
        s = dict(base, title=title, notes=notes,
                 investment_budget={y: budget for y in (2027, 2028, 2029)})
        path = folder / file
        path.write_text(yaml.safe_dump(s, allow_unicode=True, sort_keys=False), encoding="utf-8")
        out.append(path)
    return out


@pytest.fixture(scope="module")
def hostile_run(tmp_path_factory) -> dict:
    base = tmp_path_factory.mktemp("injection")
    city = hostile_city(base / "city")
    scenarios = hostile_scenarios(base, city)
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(["report", *map(str, scenarios), "--out", str(base / "reports"), "--jobs", "2",
                     "--run-id", "hostile"])
    folder = base / "reports" / "2027" / "hostile"
    return {"code": code, "stdout": out.getvalue(), "stderr": err.getvalue(), "folder": folder,
            "city": city, "scenarios": scenarios}


def pages(run: dict) -> list[Path]:
    return sorted(run["folder"].glob("*.html"))


def test_the_hostile_batch_completes(hostile_run):
    run = hostile_run
    assert run["code"] == 0, run["stderr"]
    m = json.loads((run["folder"] / "manifest.json").read_text(encoding="utf-8"))
    assert m["status"] == "complete", m
    names = {p.name for p in pages(run)}
    assert {"index.html", "comparison.html"} <= names and len(names) == 4, names


def _outside_scripts(text: str) -> str:
    return re.sub(r"<(script|style)\b.*?</\1\s*>", " ", text, flags=re.DOTALL | re.IGNORECASE)


ESCAPED = {  # a payload -> patterns of its escaped forms (html.escape with or without quote=True)
    SCRIPT: [r"&lt;script&gt;window\.__pwned=1&lt;/script&gt;"],
    IMG: [r"&lt;img src=x onerror=(&quot;|&#34;|&#x22;|\")window\.__pwned=1(&quot;|&#34;|&#x22;|\")&gt;"],
    SVG: [r"&lt;svg onload=window\.__pwned=1&gt;"],
    QUOTES: [r"(&quot;|&#34;|&#x22;|\")quotes(&#x27;|&#39;|&apos;|')\s*&amp; ampersands"],
}


def test_no_page_holds_a_payload_as_markup(hostile_run):
    for path in pages(hostile_run):
        text = path.read_text(encoding="utf-8")
        for raw in RAW:
            assert raw not in text, f"{path.name}: {raw!r} verbatim"
        markup = _outside_scripts(text)
        assert "quotes' & ampersands" not in markup, f"{path.name}: unescaped ampersand"
        assert not re.search(r"<[a-z]+[^>]*\son[a-z]+\s*=\s*[\"']?window\.__pwned", markup, re.IGNORECASE), path.name
        # a closing script tag inside data would end the script early
        opened = len(re.findall(r"<script\b", text, re.IGNORECASE))
        assert opened == len(re.findall(r"</script\s*>", text, re.IGNORECASE)), path.name


def test_every_page_shows_the_payloads_as_text(hostile_run):
    """The escaped forms are there: the texts were kept (as text), not dropped or mangled."""
    for path in pages(hostile_run):
        markup = _outside_scripts(path.read_text(encoding="utf-8"))
        # every page names the scenarios (titles carry SCRIPT, IMG, QUOTES, SVG)
        for payload in (SCRIPT, SVG):
            assert any(re.search(p, markup) for p in ESCAPED[payload]), f"{path.name}: {payload!r} not shown"
        if path.name in ("index.html", "comparison.html"):
            continue
        for payload, patterns in ESCAPED.items():  # a report shows names, sectors, sources, notes
            assert any(re.search(p, markup) for p in patterns), f"{path.name}: {payload!r} not shown"


def test_reports_link_nowhere_but_http_and_mailto(hostile_run):
    for path in pages(hostile_run):
        for href in re.findall(r'href\s*=\s*"([^"]*)"', path.read_text(encoding="utf-8"), re.IGNORECASE):
            assert not href.strip().lower().startswith(("javascript:", "data:text/html", "vbscript:")), (
                f"{path.name}: {href}"
            )


def test_workbooks_hold_text_not_formulas(hostile_run):
    books = sorted(hostile_run["folder"].glob("*.xlsx"))
    assert len(books) == 2
    for book in books:
        wb = openpyxl.load_workbook(book)
        formulas = [
            f"{ws.title}!{c.coordinate}: {c.value}"
            for ws in wb.worksheets
            for row in ws.iter_rows()
            for c in row
            if c.data_type == "f"
        ]
        assert not formulas, f"text from the data became a live formula: {formulas[0]}"
        assert FORMULA in [c.value for ws in wb.worksheets for row in ws.iter_rows() for c in row]


# --- in the browser ------------------------------------------------------------------------------------

PROBE = """() => {
  const handlers = [];
  for (const el of document.querySelectorAll('*')) {
    for (const a of el.attributes) {
      if (/^on/i.test(a.name)) handlers.push(el.tagName + ' ' + a.name + '=' + a.value);
      if (/^\\s*(javascript|vbscript|data):/i.test(a.value) && /^(href|src|action|formaction|srcdoc)$/i.test(a.name))
        handlers.push(el.tagName + ' ' + a.name + '=' + a.value);
    }
  }
  return {
    pwned: typeof window.__pwned,
    handlers,
    frames: document.querySelectorAll('iframe, object, embed').length,
    text: document.body ? document.body.innerText : '',
  };
}"""


def _open(browser, path: Path) -> dict:
    """Open ``path`` from file:// with every other request aborted, let images fail and charts
    draw, move the mouse and scroll (a handler would fire now), then probe the page."""
    from labdriver import block_outside
    context = browser.new_context(service_workers="block")
    outside = block_outside(context, ("file://", "data:", "blob:"))
    dialogs, errors = [], []
    page = context.new_page()
    page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    page.on("pageerror", lambda e: errors.append(str(e)))
    try:
        page.goto(path.as_uri(), wait_until="load")
        page.wait_for_timeout(500)
        page.mouse.move(300, 300)
        page.mouse.wheel(0, 2000)
        page.wait_for_timeout(200)
        probe = page.evaluate(PROBE)
    finally:
        context.close()
    return probe | {"dialogs": dialogs, "outside": outside, "errors": errors}


def test_the_probe_sees_a_live_payload(browser, tmp_path):
    """The control: the same harness on a page that does hold the payloads as markup."""
    page = tmp_path / "live.html"
    page.write_text(
        f"<!DOCTYPE html><html><body><p>{IMG}</p><p>{SVG}</p>"
        "<a href='javascript:alert(1)'>x</a><script>alert('dialog')</script>"
        "</body></html>",
        encoding="utf-8",
    )
    probe = _open(browser, page)
    assert probe["pwned"] == "number"
    assert probe["dialogs"] == ["dialog"]
    assert len(probe["handlers"]) == 3, probe["handlers"]


def test_no_script_from_data_runs_in_chromium(browser, hostile_run):
    """Every page of the hostile run: no payload ran, no dialog, no event-handler attribute, no
    frame, no request off file://, no page error, and the title shown as text."""
    checked = 0
    for path in pages(hostile_run):
        probe = _open(browser, path)
        where = path.name
        assert probe["pwned"] == "undefined", f"{where}: a script from the data ran"
        assert probe["dialogs"] == [], f"{where}: dialogs {probe['dialogs']}"
        assert probe["handlers"] == [], f"{where}: {probe['handlers'][:5]}"
        assert probe["frames"] == 0, f"{where}: an iframe, object or embed from the data"
        assert probe["outside"] == [], f"{where}: requests leaving file:// {probe['outside']}"
        assert probe["errors"] == [], f"{where}: page errors {probe['errors']}"
        assert SCRIPT in probe["text"], f"{where}: the title is not shown as text"
        checked += 1
    assert checked == 4
