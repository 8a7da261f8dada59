"""The interactive explorer (JupyterLab, ipywidgets): choose a scenario, move its levers, see the
report's key figures and charts follow, and keep what was found.

- ``session``: the state without widgets (:class:`Explorer`): recompute, save, export, render;
- ``inputs``: percentages and money amounts as people type them;
- ``widget``: the controls (:func:`explorer_widget`).
"""
from climateinvest.report.explorer.inputs import InputError, money, percent
from climateinvest.report.explorer.session import VIEWS, Explorer, scenario_files
from climateinvest.report.explorer.widget import explorer_widget

__all__ = ["VIEWS", "Explorer", "InputError", "explorer_widget", "money", "percent", "scenario_files"]
