"""The house rules: families as folders, no import cycle, presentation above the core.

Every import in the package (module level and inside functions alike) is read from the source
with :mod:`ast`, so a lazy import cannot hide an upward dependency or a cycle.
"""
import ast
import subprocess
import sys
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "climateinvest"

# Lowest first. A module may import its own layer's modules and any layer below it, never above.
LAYERS = [
    {"io"},
    {"finance"},
    {"cashflows"},
    {"appraisal", "budget_impact"},
    {"macc", "financing"},
    {"territory"},
    {"portfolio"},
    {"uncertainty"},
    {"followup"},
    {"run"},
    {"report"},
    {"batch"},
    {"cli"},
]
RANK = {name: i for i, layer in enumerate(LAYERS) for name in layer}
JUPYTER = {"plotly", "papermill", "nbconvert", "nbformat", "ipykernel", "ipywidgets", "IPython",
           "jinja2", "mistune"}


def module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imports(path: Path) -> set[str]:
    """Every module ``path`` imports, as dotted names (relative imports resolved)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    here = module_name(path).split(".")
    if path.name != "__init__.py":
        here = here[:-1]
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = here[: len(here) - node.level + 1] if node.level else []
            mod = ".".join(base + ([node.module] if node.module else []))
            found.add(mod)
            found.update(f"{mod}.{alias.name}" for alias in node.names)
    return found


MODULES = {module_name(p): p for p in PACKAGE.rglob("*.py")}
GRAPH = {m: {i for i in imports(p) if i in MODULES and i != m} for m, p in MODULES.items()}


def family(module: str) -> str:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else ""


def test_top_level_holds_at_most_16_modules_and_folders():
    entries = [p for p in PACKAGE.iterdir()
               if (p.suffix == ".py" or (p.is_dir() and (p / "__init__.py").exists()))]
    assert len(entries) <= 16, sorted(p.name for p in entries)


@pytest.mark.parametrize("folder", ["io", "portfolio", "uncertainty", "followup", "report", "batch"])
def test_families_are_folders_with_a_public_api(folder):
    init = PACKAGE / folder / "__init__.py"
    assert init.is_file()
    assert "__all__" in init.read_text(encoding="utf-8") or folder == "report"


def test_every_module_sits_in_a_layer():
    unplaced = sorted(m for m in MODULES if family(m) and family(m) not in RANK)
    assert not unplaced, f"add these to LAYERS in {__file__}: {unplaced}"


def test_no_upward_import():
    upward = sorted((m, i) for m, deps in GRAPH.items() for i in deps
                    if family(m) and family(i) and RANK[family(i)] > RANK[family(m)])
    assert not upward, upward


def test_no_import_cycle():
    # Tarjan's strongly connected components over the module graph (packages import their
    # submodules through __init__, which is not a cycle: a package's own submodules are skipped).
    def deps(m):
        return {d for d in GRAPH[m] if not d.startswith(m + ".")}
    index, low, stack, on, cycles, counter = {}, {}, [], set(), [], [0]

    def visit(v):
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on.add(v)
        for w in deps(v):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                cycles.append(sorted(comp))

    sys.setrecursionlimit(10_000)
    for m in sorted(GRAPH):
        if m not in index:
            visit(m)
    assert not cycles, cycles


def test_the_core_needs_no_jupyter():
    """``pip install climateinvest`` without the report extra must import the whole core."""
    core = [m for m in MODULES if family(m) not in {"report", "batch"}]
    leaks = sorted((m, i) for m in core for i in imports(MODULES[m])
                   if i.split(".")[0] in JUPYTER)
    assert not leaks, leaks
    code = ("import sys\n"
            "class Block:\n"
            "    def find_spec(self, name, path=None, target=None):\n"
            f"        if name.split('.')[0] in {sorted(JUPYTER)!r}:\n"
            "            raise ImportError('blocked: ' + name)\n"
            "sys.meta_path.insert(0, Block())\n"
            "import climateinvest as ci\n"
            "from climateinvest import run, cli\n"
            "r = ci.run_scenario(ci.load_scenario('parameters/2027/base.yaml'))\n"
            "print(len(r.measures))\n")
    done = subprocess.run([sys.executable, "-c", code], cwd=PACKAGE.parent, capture_output=True,
                          text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    assert int(done.stdout.split()[-1]) > 0


# References to a design or data kept outside the repository (spelled in parts, so that this file
# does not itself point outside): the design is docs/architecture.md, the data's origin SOURCES.md.
OUTSIDE = ("DESIGN" + ".md", ".." + "/shared", "/" + "work/")


def test_nothing_points_outside_the_repository():
    """The design lives in docs/architecture.md; no file refers to a design kept elsewhere."""
    root = PACKAGE.parent
    files = subprocess.run(["git", "ls-files"], cwd=root, capture_output=True, text=True, check=True).stdout.split()
    offenders = []
    for name in files:
        path = root / name
        if path.suffix not in {".py", ".md", ".toml", ".yaml", ".ipynb", ".cfg", ".txt", ""} or not path.is_file():
            continue
        text = path.read_text(encoding="utf-8", errors="replace")
        for needle in OUTSIDE:
            if needle in text:
                offenders.append(f"{name}: {needle}")
    assert offenders == []
    assert (root / "docs" / "architecture.md").is_file()


def test_report_without_the_extra_says_how_to_install_it(tmp_path):
    """Without the report extra, ``climateinvest report`` names the extra and exits 2."""
    code = ("import sys, importlib.util\n"
            "real = importlib.util.find_spec\n"
            "importlib.util.find_spec = lambda name, *a: None if name == 'papermill' else real(name, *a)\n"
            "from climateinvest.cli import main\n"
            f"sys.exit(main(['report', 'parameters/2027/base.yaml', '--out', {str(tmp_path)!r}]))\n")
    done = subprocess.run([sys.executable, "-c", code], cwd=PACKAGE.parent, capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 2
    assert "pip install 'climateinvest[report]'" in done.stderr and "papermill" in done.stderr
    assert list(tmp_path.iterdir()) == []
