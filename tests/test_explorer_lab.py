"""The explorer in a real JupyterLab, in Debian's chromium through playwright (``tests/labdriver.py``).

Open the explorer, Run all, no widget error and no traceback; each control moves what it should
(the MAC curve, the key figures, the portfolio); ``2,5 %`` typed into the rate reads as 2.5 %;
a scenario saved from the browser validates with ``climateinvest validate``; the saved notebook,
reopened, shows no widget error and draws again after Run all. Runs in CI (``CI`` set: a missing
chromium or JupyterLab environment is a failure); locally it is skipped without them. Redraw
times are measured by ``benchmarks/bench_explorer_browser.py``, never asserted here.
"""
from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from labdriver import (
    ARGS,
    CHROMIUM,
    LAB,
    change,
    key_figures,
    lab_server,
    open_explorer,
    problems_shown,
    read_back,
    run_all,
    text_box,
    view_data,
    workspace,
)

from climateinvest.report.i18n import Context, t, use

pytestmark = pytest.mark.slow


def _need(path: Path, how: str) -> None:
    if not path.exists():
        if os.environ.get("CI"):
            pytest.fail(f"{path} not found: {how}")
        pytest.skip(f"{path} not found ({how}); CI runs this test")


@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    _need(Path(CHROMIUM), "CI must install Debian's chromium (apt-get install chromium)")
    _need(LAB, "make lab-env (make test installs it)")
    from playwright.sync_api import sync_playwright

    root = workspace(tmp_path_factory.mktemp("lab"))
    with lab_server(root) as (url, token), sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        yield {"browser": browser, "url": url, "token": token, "root": root}
        browser.close()


def _sv(key: str, **kw) -> str:
    use(Context(lang="sv"))
    return t(key, **kw)


def _toggle(label: str):
    return lambda page: page.locator(".widget-toggle-button", has_text=label).first.click()


def _select(label: str, value: str):
    return lambda page: page.locator(".widget-dropdown", has=page.locator(".widget-label", has_text=label)) \
        .locator("select").first.select_option(value)


def _type(label: str, text: str):
    def act(page):
        box = text_box(page, label)
        box.fill(text)
        box.press("Enter")
    return act


def test_explorer_in_jupyterlab_moves_what_each_control_should(lab):
    page = open_explorer(lab["browser"], lab["url"], lab["token"])
    run_all(page)
    assert problems_shown(page) == []
    macc0, figs0 = view_data(page, "macc"), key_figures(page)
    assert macc0 and "mnkr" in figs0 and "Investering i planens åtgärder" in figs0

    # the rate, typed as people type it, is read as written and moves the curve and the NPV
    change(page, _type(_sv("ex.rate"), "2,5 %"))
    assert "2,5 %" in read_back(page)
    macc1, figs1 = view_data(page, "macc"), key_figures(page)
    assert macc1 != macc0 and figs1 != figs0
    assert "Investering i planens åtgärder" in figs1 and _sv("ex.fixed") in read_back(page)  # Swedish still

    # two changes in quick succession: the first one's portfolio is dropped, the second is shown
    def twice(page):
        box = text_box(page, _sv("ex.rate"))
        box.fill("3 %")
        box.press("Enter")
        box.fill("4 %")
        box.press("Enter")
    change(page, twice)
    page.wait_for_function("() => document.querySelector('.ci-read').innerText.includes('4')", timeout=30_000)
    assert "4 %" in read_back(page) and problems_shown(page) == []
    change(page, _type(_sv("ex.rate"), "2,5 %"))
    assert key_figures(page) == figs1  # the same settings give the same figures

    # the carbon value is disabled with its reason in the municipal perspective
    cv = text_box(page, _sv("ex.carbon_value", currency="SEK").split(" [")[0])
    assert cv.is_disabled()
    assert _sv("ex.cv_disabled") in read_back(page)
    change(page, _toggle(_sv("ex.opt.societal")))
    macc2 = view_data(page, "macc")
    assert not cv.is_disabled() and macc2 != macc1
    change(page, _type(_sv("ex.carbon_value", currency="SEK").split(" [")[0], "10 000"))
    assert "10 000" in read_back(page)
    assert view_data(page, "macc") != macc2

    # the electricity factor set moves the curve; the target moves the key figures (the gap)
    before = view_data(page, "macc")
    options = page.locator(".widget-dropdown", has=page.locator(".widget-label", has_text=_sv("ex.factor_set"))) \
        .locator("option").all_inner_texts()
    other = next(o for o in options if o != page.locator(
        ".widget-dropdown", has=page.locator(".widget-label", has_text=_sv("ex.factor_set"))).locator("select")
        .input_value())
    change(page, _select(_sv("ex.factor_set"), other))
    assert view_data(page, "macc") != before
    figs = key_figures(page)
    change(page, _type(_sv("ex.target", year=2030, base=1990).split(" till")[0], "30 %"))
    assert key_figures(page) != figs

    # a smaller first-year budget moves the portfolio and the key figures
    figs, port = key_figures(page), view_data(page, "portfolio")
    change(page, _type(_sv("ex.budget", year=2027), "1 000 000"))
    assert key_figures(page) != figs and view_data(page, "portfolio") != port

    # grants off moves the financing
    fin = view_data(page, "financing")
    change(page, lambda p: p.locator(".widget-checkbox", has_text=_sv("ex.grants")).locator("input").first.click())
    assert view_data(page, "financing") != fin

    # a refused input is said in words and moves nothing
    figs = key_figures(page)
    box = text_box(page, _sv("ex.rate"))
    box.fill("80 %")
    box.press("Enter")
    page.wait_for_function("() => document.querySelector('.ci-read .ci-failed')", timeout=30_000)
    assert key_figures(page) == figs and problems_shown(page) == []

    # save the settings as a scenario: it validates on the command line
    page.locator(".widget-text", has=page.locator(".widget-label", has_text=_sv("ex.save_name"))) \
        .locator("input").first.fill("lab_saved")
    page.locator("button", has_text=_sv("ex.save")).first.click()
    page.wait_for_function("() => (document.querySelector('.ci-kept') || {}).innerText?.includes('.yaml')",
                           timeout=60_000)
    saved = Path(re.search(r"(\S+lab_saved\.yaml)", page.locator(".ci-kept").inner_text()).group(1))
    if not saved.is_absolute():
        saved = lab["root"] / "notebooks" / saved
    assert saved.resolve().is_relative_to(lab["root"].resolve())
    done = subprocess.run([sys.executable, "-m", "climateinvest.cli", "validate", str(saved)],
                          capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert "# Changed from that scenario:" in saved.read_text(encoding="utf-8")
    assert page.ci_outside == []  # type: ignore[attr-defined]

    # save the notebook, reopen it: no widget error, and Run all draws it again
    page.keyboard.press("Control+s")
    page.wait_for_timeout(1500)
    page.context.close()
    page = open_explorer(lab["browser"], lab["url"], lab["token"])
    assert problems_shown(page) == []
    run_all(page)
    assert problems_shown(page) == [] and view_data(page, "macc")
    page.context.close()
