"""JupyterLab's save hook for notebooks with widgets (``make lab`` installs it).

A widget view saved into a notebook without the widget's state can never be drawn again: a
reopened explorer would say "Error displaying widget: model not found" until it is run. The
hook drops, before every save, the outputs that hold widget views and the notebook's widget
state, so a reopened explorer shows its cells and, after "Run all", its controls. The other
outputs are kept (``tests/test_notebooks.py`` checks that the committed notebooks carry none).
"""
from __future__ import annotations

WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"


def strip_widget_views(model: dict, **_) -> None:
    """Remove widget-view outputs and widget state from a notebook ``model`` in place.

    Parameters
    ----------
    model : a Jupyter contents model; only ``type == "notebook"`` models are changed
    """
    if model.get("type") != "notebook" or not isinstance(model.get("content"), dict):
        return
    nb = model["content"]
    nb.get("metadata", {}).pop("widgets", None)
    for cell in nb.get("cells", []):
        if cell.get("cell_type") != "code":
            continue
        kept = [o for o in cell.get("outputs", []) if WIDGET_VIEW not in (o.get("data") or {})]
        if len(kept) != len(cell.get("outputs", [])):
            cell["outputs"] = kept
