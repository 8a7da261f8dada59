"""Drive the explorer in a real JupyterLab (``.venv-lab``, ``make lab-env``) through playwright.

Used by ``tests/test_explorer_lab.py`` (what each control moves) and by
``benchmarks/bench_explorer_browser.py`` (redraw times measured in the browser). The server runs on
127.0.0.1 only, on a free port with a random token, in a copy of the repository's notebooks,
parameters and data (nothing the session saves reaches the repository); it is stopped on exit.
"""
from __future__ import annotations

import contextlib
import os
import secrets
import shutil
import signal
import socket
import subprocess
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
LAB = ROOT / ".venv-lab" / "bin" / "jupyter"
# Debian's chromium (never a browser download), headless, with nothing of its own on the network
CHROMIUM = os.environ.get("CLIMATEINVEST_CHROMIUM") or shutil.which("chromium") or "/usr/bin/chromium"
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--disable-default-apps", "--disable-extensions"]

# In the page: the time of the last input event (Enter in a text box, a click, a selection), and
# the time each view's output last gained a drawn chart or the key figures last changed.
PROBE = """() => {
  if (window.__ci) return;
  window.__ci = {t0: 0, drawn: {}};
  const stamp = () => { window.__ci.t0 = performance.now(); window.__ci.drawn = {}; };
  document.addEventListener('keydown', e => { if (e.key === 'Enter') stamp(); }, true);
  document.addEventListener('change', e => {
    if (e.target.tagName === 'SELECT' || e.target.type === 'checkbox') stamp();
  }, true);
  document.addEventListener('click', e => { if (e.target.closest('.widget-toggle-button')) stamp(); }, true);
  new MutationObserver(() => {
    const now = performance.now();
    for (const out of document.querySelectorAll('[class*="ci-view-"]')) {
      const view = [...out.classList].find(c => c.startsWith('ci-view-')).slice(8);
      const div = out.querySelector('.js-plotly-plot');
      if (div && div.querySelector('svg.main-svg') && div !== window.__ci['div_' + view]) {
        window.__ci['div_' + view] = div;
        if (!(view in window.__ci.drawn)) window.__ci.drawn[view] = now - window.__ci.t0;
      }
    }
    const f = document.querySelector('.ci-figures');
    if (f && f.innerHTML !== window.__ci.figs) {
      window.__ci.figs = f.innerHTML;
      if (!('figures' in window.__ci.drawn)) window.__ci.drawn.figures = now - window.__ci.t0;
    }
  }).observe(document.body, {subtree: true, childList: true, characterData: true});
}"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def workspace(folder: Path) -> Path:
    """A copy of notebooks/, parameters/ and data/ under ``folder`` (the server's root)."""
    for name in ("notebooks", "parameters", "data"):
        shutil.copytree(ROOT / name, folder / name, ignore=shutil.ignore_patterns(".ipynb_checkpoints"))
    return folder


@contextlib.contextmanager
def lab_server(root: Path):
    """JupyterLab on 127.0.0.1 serving ``root``; yields its base URL with the token."""
    port, token = free_port(), secrets.token_hex(16)
    env = os.environ | {"JUPYTER_CONFIG_DIR": str(root / ".jupyter"), "JUPYTER_RUNTIME_DIR": str(root / ".run"),
                        "JUPYTERLAB_SETTINGS_DIR": str(root / ".lab-settings"),
                        "JUPYTERLAB_WORKSPACES_DIR": str(root / ".lab-workspaces")}
    cmd = [str(LAB), "lab", "--no-browser", "--ServerApp.ip=127.0.0.1", f"--ServerApp.port={port}",
           f"--IdentityProvider.token={token}", f"--ServerApp.root_dir={root}", "--LabApp.news_url=",
           "--ServerApp.port_retries=0"] + (["--allow-root"] if os.geteuid() == 0 else [])
    log = open(root / "lab.log", "wb")  # noqa: SIM115 - closed below
    proc = subprocess.Popen(cmd, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120
        while True:
            try:
                urllib.request.urlopen(f"{url}/api/status?token={token}", timeout=2)  # noqa: S310 - loopback
                break
            except OSError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError("JupyterLab did not start:\n"
                                       + (root / "lab.log").read_text(errors="replace")[-3000:]) from None
                time.sleep(0.5)
        yield url, token
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(20)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
        log.close()


def block_outside(context, allowed: tuple[str, ...]) -> list[str]:
    """Abort every request of ``context`` whose URL does not start with one of ``allowed``;
    returns the list the aborted URLs are appended to (a test asserts it stays empty)."""
    outside: list[str] = []

    def route(r):
        if r.request.url.startswith(allowed):
            r.continue_()
        else:
            outside.append(r.request.url)
            r.abort()

    context.route("**/*", route)
    return outside


def open_explorer(browser, url: str, token: str, notebook: str = "notebooks/explorer.ipynb"):
    """A page with the explorer notebook open in JupyterLab, its kernel ready; loopback only."""
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    outside = block_outside(context, ("http://127.0.0.1", "ws://127.0.0.1"))
    page = context.new_page()
    page.ci_outside = outside  # type: ignore[attr-defined]
    page.goto(f"{url}/lab/tree/{notebook}?token={token}", wait_until="domcontentloaded")
    page.wait_for_selector(".jp-Notebook .jp-Cell", timeout=120_000)
    page.wait_for_function("() => /\\(ipykernel\\) \\| Idle/.test(document.body.innerText)", timeout=120_000)
    page.evaluate(PROBE)
    return page


def run_all(page, timeout_ms: int = 180_000) -> None:
    """Run ▸ Run All Cells from the menu, then wait for the explorer's first full drawing."""
    page.locator(".lm-MenuBar-itemLabel", has_text="Run").first.click()
    page.locator(".lm-Menu-itemLabel", has_text="Run All Cells").first.click()
    page.wait_for_selector(".ci-controls.ci-ready", timeout=timeout_ms)


def problems_shown(page) -> list[str]:
    """Widget errors and tracebacks visible in the notebook."""
    return page.evaluate("""() => {
      const out = [];
      for (const el of document.querySelectorAll('.jp-OutputArea-output')) {
        const t = el.innerText || '';
        if (t.includes('Error displaying widget') || t.includes('Traceback')
            || el.getAttribute('data-mime-type') === 'application/vnd.jupyter.stderr' && t.includes('Error'))
          out.push(t.slice(0, 500));
      }
      return out;
    }""")


def text_box(page, label: str):
    """The input of the ipywidgets Text whose description is ``label``."""
    return page.locator(".widget-text", has=page.locator(".widget-label", has_text=label)).locator("input").first


def view_data(page, view: str) -> str:
    """The drawn chart of ``view`` as JSON (its traces), "" when none is drawn."""
    return page.evaluate("""v => { const d = document.querySelector('.ci-view-' + v + ' .js-plotly-plot');
                                   return d && d.data ? JSON.stringify(d.data) : ''; }""", view)


def plain(text: str) -> str:
    """``text`` with no-break and narrow no-break spaces as plain spaces."""
    return text.replace("\u202f", " ").replace("\xa0", " ")


def read_back(page) -> str:
    """How the explorer read the typed values (plain spaces)."""
    return plain(page.locator(".ci-read").inner_text())


def key_figures(page) -> str:
    return page.evaluate("() => (document.querySelector('.ci-figures') || {}).innerText || ''")


def change(page, act, timeout_ms: int = 60_000) -> dict:
    """Do ``act(page)``, wait for the explorer to finish, and return the browser's times [ms]
    from the input event to each view's new chart and to the new key figures.
    """
    page.evaluate("() => { document.querySelector('.ci-controls').classList.remove('ci-ready'); }")
    act(page)
    page.wait_for_selector(".ci-controls.ci-ready", timeout=timeout_ms)
    page.wait_for_timeout(150)  # the last chart's drawing after the class is set
    return dict(page.evaluate("() => window.__ci.drawn"))
